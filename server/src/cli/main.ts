/**
 * The `nnsam` command line. Each subcommand lives in commands/<name>.ts and registers itself here;
 * `run` returns the exit code instead of exiting so tests can call it in-process.
 */
import { Command, CommanderError } from 'commander';

import { errorMessage, isNnsamError } from '../util/errors.js';
import { version } from '../version.js';
import { registerDataset } from './commands/dataset.js';
import { registerDemo } from './commands/demo.js';
import { registerEncoder } from './commands/encoder.js';
import { registerOrthanc } from './commands/orthanc.js';
import { registerPlan } from './commands/plan.js';
import { registerSeg } from './commands/seg.js';
import { registerServe, registerToken, registerWorker } from './commands/serve.js';
import { registerVolume } from './commands/volume.js';
import { registerPredict } from './commands/predict.js';
import { registerTrain } from './commands/train.js';

export function buildProgram(): Command {
  const program = new Command('nnsam')
    .description('Few-shot medical image segmentation (nnSAM) for DICOMweb servers and the OHIF viewer.')
    .version(version, '-V, --version')
    .showHelpAfterError('(run `nnsam --help` for the list of commands)')
    .showSuggestionAfterError(true);
  registerOrthanc(program);
  registerDemo(program);
  registerEncoder(program);
  registerVolume(program);
  registerSeg(program);
  registerServe(program);
  registerWorker(program);
  registerToken(program);
  registerPlan(program);
  registerTrain(program);
  registerPredict(program);
  registerDataset(program);
  return program;
}

/** Runs the command line; resolves to the process exit code. */
export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  program.configureOutput({
    writeErr: (s) => process.stderr.write(s),
    writeOut: (s) => process.stdout.write(s),
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version are not errors; every other commander error is bad input
      if (
        e.code === 'commander.helpDisplayed' ||
        e.code === 'commander.version' ||
        e.code === 'commander.help'
      )
        return 0;
      return e.exitCode === 0 ? 2 : Math.max(2, e.exitCode);
    }
    if (isNnsamError(e)) {
      process.stderr.write(`nnsam: ${e.message}\n`);
      if (e.hint) process.stderr.write(`  hint: ${e.hint}\n`);
      return 1;
    }
    process.stderr.write(`nnsam: ${errorMessage(e)}\n`);
    if (process.env.NNSAM_DEBUG) console.error(e);
    return 1;
  }
}
