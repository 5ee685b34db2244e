/** `nnsam predict`: segment NIfTI volumes with a trained model; writes one label volume per input. */
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { InvalidArgumentError, type Command } from 'commander';

import {
  AMBIGUOUS_RATIO,
  EmbeddingCache,
  everySlice,
  leastCertainSlices,
  loadModel,
  MIN_AMBIGUOUS_PIXELS,
  predictVolume,
  UNCERTAINTY_RULE,
  type InferenceRun,
  type Precision,
  type SliceUncertainty,
} from '../../engine/index.js';
import { NnsamError } from '../../util/errors.js';
import { readNifti, writeNifti } from '../../volume/index.js';
import { intOption } from '../options.js';
import { createProgressPrinter } from '../progress.js';

interface PredictOpts {
  model: string;
  out: string;
  /** Mirror passes: on unless --no-tta (engine/inference/tta.ts) */
  tta?: boolean;
  postprocess: boolean;
  wholeSlice: boolean;
  crop: boolean;
  maxPixels?: number;
  /** unset: the model's default (int8 on a CPU when it has one) */
  precision?: Precision;
  threads?: number;
  batchSize?: number;
  encoder?: string;
  cacheDir?: string;
  embeddingStride?: number;
  uncertainty?: string;
  json?: boolean;
}

/** What `--uncertainty FILE.json` holds: every slice's score by the segment job's rule (uncertainty.ts). */
export interface UncertaintyFile {
  rule: string;
  ambiguousRatio: number;
  minAmbiguousPixels: number;
  model: string;
  volumes: {
    input: string;
    output: string;
    tta: boolean;
    /** Slice indices scoring above 0, least certain first (the order "Label next" offers them in) */
    leastCertain: number[];
    /** Every slice in order; `run` false: no body, not run, background beyond doubt (score 0) */
    slices: {
      index: number;
      score: number;
      segments: Record<string, number>;
      ambiguousPixels: number;
      run: boolean;
    }[];
  }[];
}

export function outputName(input: string): string {
  const name = basename(input);
  return /\.nii(\.gz)?$/i.test(name) ? name.replace(/\.nii$/i, '.nii.gz') : `${name}.nii.gz`;
}

function jsonFileOption(value: string): string {
  if (!/\.json$/i.test(value)) throw new InvalidArgumentError(`"${value}" is not a .json file name.`);
  return value;
}

function precisionOption(value: string): Precision {
  if (value !== 'fp32' && value !== 'int8') throw new InvalidArgumentError(`"${value}" is not fp32 or int8.`);
  return value;
}

export function registerPredict(program: Command): void {
  program
    .command('predict')
    .description('segment NIfTI volumes with a trained model')
    .argument('<images...>', 'NIfTI image volumes (.nii or .nii.gz)')
    .requiredOption('--model <dir>', 'model folder written by `nnsam train`')
    .requiredOption('--out <dir>', 'folder for the label volumes (same file names as the inputs)')
    // a batch run asks for nnU-Net's mirror passes unless told not to; the server's segment job leaves it
    // to the device (inference/tta.ts)
    .option('--tta', 'mirror test-time augmentation, 4 passes (the default)', true)
    .option('--no-tta', 'one pass: about 4 x faster, measured -0.02 mean Dice on ACDC (docs/benchmarks.md)')
    .option('--no-postprocess', "skip the model's largest-component post-processing")
    .option(
      '--whole-slice',
      'each slice as one input where it fits (faster; see docs/engine.md for its cost)',
      false,
    )
    .option('--no-whole-slice', "nnU-Net's sliding window of patch-sized tiles (the default)")
    .option('--max-pixels <n>', 'pixels of one onnxruntime run at most (default 1048576)', intOption)
    .option('--no-crop', 'run the whole slice and every slice, also where there is no body')
    .option(
      '--precision <p>',
      'fp32 | int8 (default: int8 on a CPU when the model has an int8 network, else fp32)',
      precisionOption,
    )
    .option('--threads <n>', 'onnxruntime threads (default: all cores)', intOption)
    .option('--batch-size <n>', 'network inputs per onnxruntime run at most (default 8)', intOption)
    .option('--encoder <file>', "the SAM encoder's ONNX file, if not where the model was trained")
    .option('--cache-dir <dir>', 'SAM embedding cache folder')
    .option(
      '--embedding-stride <n>',
      'run the SAM encoder on every n-th slice, interpolating between (default: by slice spacing; 1 = all)',
      intOption,
    )
    .option(
      '--uncertainty <file>',
      'write every slice\'s uncertainty score (the segment job\'s "Label next" rule) of every volume to FILE.json',
      jsonFileOption,
    )
    .option('--json', 'print progress as JSON lines on stdout')
    .action(async (images: string[], opts: PredictOpts) => {
      // before any volume is predicted, not after
      if (opts.uncertainty && (await stat(opts.uncertainty).catch(() => null))?.isDirectory())
        throw new NnsamError(
          'invalid_argument',
          `--uncertainty ${opts.uncertainty} is a folder, not a .json file.`,
        );
      const print = createProgressPrinter({ json: Boolean(opts.json) });
      const model = await loadModel(opts.model, { encoder: opts.encoder, threads: opts.threads });
      const cache = new EmbeddingCache(opts.cacheDir);
      await mkdir(opts.out, { recursive: true });
      const controller = new AbortController();
      const onSignal = () => controller.abort();
      process.once('SIGINT', onSignal);
      const report: UncertaintyFile['volumes'] = [];
      try {
        for (const path of images) {
          const image = await readNifti(path);
          const t0 = performance.now();
          const uncertainty: SliceUncertainty[] | undefined = opts.uncertainty ? [] : undefined;
          let run: InferenceRun | undefined;
          const labels = await predictVolume(model, image, {
            tta: opts.tta,
            postprocess: opts.postprocess,
            wholeSlice: opts.wholeSlice,
            crop: opts.crop,
            maxPixels: opts.maxPixels,
            precision: opts.precision,
            batchSize: opts.batchSize,
            embeddingStride: opts.embeddingStride,
            cache,
            signal: controller.signal,
            onProgress: print,
            uncertainty,
            onRun: (r) => (run = r),
          });
          const target = join(opts.out, outputName(path));
          await writeNifti(target, labels, { description: 'nnSAM labels' });
          print.end();
          const seconds = (performance.now() - t0) / 1000;
          const slices = image.geometry.dims[2];
          if (opts.json) print.json({ type: 'written', input: path, output: target, slices, seconds });
          else console.log(`${path} -> ${target} (${slices} slices, ${seconds.toFixed(1)} s)`);
          if (uncertainty) {
            report.push({
              input: path,
              output: target,
              tta: Boolean(run?.tta),
              leastCertain: leastCertainSlices(uncertainty, uncertainty.length).map((u) => u.slice),
              slices: everySlice(uncertainty, slices, model.plan.numClasses).map((u) => ({
                index: u.slice,
                score: u.score,
                segments: u.classes,
                ambiguousPixels: u.ambiguousPixels,
                run: u.run,
              })),
            });
          }
        }
        if (opts.uncertainty) {
          const file: UncertaintyFile = {
            rule: UNCERTAINTY_RULE,
            ambiguousRatio: AMBIGUOUS_RATIO,
            minAmbiguousPixels: MIN_AMBIGUOUS_PIXELS,
            model: opts.model,
            volumes: report,
          };
          // written whole or not at all: a reader never sees half a file
          await mkdir(dirname(opts.uncertainty), { recursive: true });
          await writeFile(`${opts.uncertainty}.tmp`, JSON.stringify(file, null, 1) + '\n');
          await rename(`${opts.uncertainty}.tmp`, opts.uncertainty);
          if (!opts.json) console.log(`uncertainty of ${report.length} volume(s) -> ${opts.uncertainty}`);
        }
      } finally {
        print.end();
        process.off('SIGINT', onSignal);
        await model.close();
      }
    });
}
