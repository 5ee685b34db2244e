/** `nnsam train`: train an nnSAM model from a manifest of NIfTI volumes with a few labelled slices. */
import { join } from 'node:path';

import { InvalidArgumentError, type Command } from 'commander';

import { loadManifestCases, parsePlanOverride, trainModel, type PlanOverride } from '../../engine/index.js';
import { intOption, positiveNumber } from '../options.js';
import { createProgressPrinter } from '../progress.js';
import { planSummary } from './plan.js';

interface TrainOpts {
  manifest: string;
  out: string;
  encoder: string;
  minutes?: number;
  iterations?: number;
  seed: number;
  device: 'auto' | 'cpu' | 'cuda';
  threads?: number;
  validationSlices?: number;
  json?: boolean;
  overwrite?: boolean;
  keepCheckpoints?: boolean;
  cacheDir?: string;
  /** --unlabelled / --no-unlabelled; undefined: the plan's default */
  unlabelled?: boolean;
  set: PlanOverride[];
  /** --warm-start: an earlier model folder to start from */
  warmStart?: string;
}

function deviceOption(value: string): 'auto' | 'cpu' | 'cuda' {
  if (value !== 'auto' && value !== 'cpu' && value !== 'cuda') {
    throw new InvalidArgumentError(`"${value}" is not one of auto, cpu, cuda.`);
  }
  return value;
}

function overrideOption(text: string): PlanOverride {
  try {
    return parsePlanOverride(text);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train an nnSAM model from a few labelled slices')
    .requiredOption('--manifest <file>', 'training manifest (JSON): classes and cases with labelled slices')
    .requiredOption('--out <dir>', 'model folder to create')
    .option('--encoder <name>', 'auto | none | mobilesam | FILE.onnx (auto: mobilesam if configured)', 'auto')
    .option(
      '--minutes <n>',
      'wall-clock budget of the training loop (default 10; with --warm-start 5)',
      positiveNumber,
    )
    .option('--iterations <n>', 'iteration budget (deterministic on CPU when given alone)', intOption)
    .option('--seed <n>', 'random seed', intOption, 0)
    .option('--device <device>', 'auto | cpu | cuda', deviceOption, 'auto')
    .option('--threads <n>', 'CPU threads (default: all cores)', intOption)
    .option(
      '--validation-slices <n>',
      'held-out labelled slices (default: none below 40 labelled, then 1 per 8)',
      intOption,
    )
    .option('--unlabelled', 'also learn from the unlabelled slices (semi-supervised; see docs/engine.md)')
    .option('--no-unlabelled', 'learn from the labelled slices only')
    .option(
      '--set <path=value>',
      'set a plan value before training, e.g. training.augmentation.pRotation=0.2 (repeatable; see plan.json)',
      (text: string, all: PlanOverride[]) => [...all, overrideOption(text)],
      [] as PlanOverride[],
    )
    .option(
      '--warm-start <model>',
      "start from this earlier model's weights (same classes, encoder and modality; see docs/engine.md)",
    )
    .option('--cache-dir <dir>', 'SAM embedding cache folder')
    .option('--overwrite', 'replace an existing model folder')
    .option('--keep-checkpoints', 'keep the PyTorch checkpoints in the model folder')
    .option('--json', 'print progress as JSON lines on stdout')
    .action(async (opts: TrainOpts) => {
      const print = createProgressPrinter({ json: Boolean(opts.json) });
      const { classes, modality, cases } = await loadManifestCases(opts.manifest);
      const controller = new AbortController();
      const onSignal = () => controller.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const model = await trainModel({
          cases,
          classes,
          modality,
          outDir: opts.out,
          encoder: opts.encoder,
          minutes: opts.minutes,
          maxIterations: opts.iterations,
          seed: opts.seed,
          device: opts.device,
          threads: opts.threads,
          validationSlices: opts.validationSlices,
          semiSupervised: opts.unlabelled,
          planOverrides: opts.set,
          cacheDir: opts.cacheDir,
          overwrite: opts.overwrite,
          keepCheckpoints: opts.keepCheckpoints,
          warmStartFrom: opts.warmStart,
          signal: controller.signal,
          onProgress: print,
          onPlan: (plan) => {
            if (opts.json) print.json({ type: 'plan', plan });
            else process.stderr.write(planSummary(plan) + '\n');
          },
        });
        print.end();
        const t = model.training;
        if (opts.json) {
          print.json({ type: 'model', dir: model.dir, training: t, postprocessing: model.postprocessing });
        } else {
          const dice = t.bestValDice === null ? '' : `, validation Dice ${t.bestValDice.toFixed(3)}`;
          console.log(
            `model written to ${model.dir}: ${t.iterations} iterations in ${Math.round(t.seconds)} s ` +
              `(${t.itPerSec?.toFixed(2)} it/s, ${t.stopReason})${dice}; plan in ${join(model.dir, 'plan.json')}`,
          );
        }
      } finally {
        print.end();
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
