/**
 * End to end: a synthetic CT series (ct-series.ts; 300 x 512 x 512 by default) stored in a private Orthanc,
 * then the server's segment path (services/segment-job.ts) split by stage: fetch (WADO-RS), decode and
 * volume build, preprocess, embed, infer, postprocess, SEG write, STOW-RS; peak RSS of the process.
 *
 *   node bench/dist/e2e.js run --work DIR [--size 512] [--slices 300] [--runs 1] [--threads 2]
 *     [--tta auto|on|off] [--whole-slice on|off] [--crop on|off] [--precision fp32|int8]
 *     [--encoder none|ENC.onnx] [--embedding-stride auto|N] [--overlap-sessions auto|on|off]
 *     [--compare every-slice|sessions|fp32|none] [--iterations 20]
 *   node bench/dist/e2e.js model --work DIR [--size 512] [--slices 300] [--encoder ...] [--iterations 20]
 *     (only the model: prints its folder; the roofline benchmark times its network)
 *
 * Inference options default to the server's (tta auto: per device). The model is trained by the engine
 * (trainModel) on 3 labelled slices of the same series, as a user who painted them would, with its int8
 * network (so both precisions run the same weights); it is kept in DIR and reused while the options are the
 * same. Each timed run is a
 * fresh Node process (`segment` subcommand) so its peak RSS is the segment path's alone. The functions are
 * the ones the segment job calls: loadSeriesFromDicomweb (fetch = the time inside the client's
 * retrieveSeries, decode = the rest), predictVolume with its `timings` hook, writeSeg, storeInstances.
 * With an encoder, one more run compares (--compare): `every-slice` (the default; when the encoder runs on every
 * n-th slice, n > 1) runs it on every slice, `sessions` runs the encoder's and the network's onnxruntime
 * sessions the other way (at once instead of in turns, or the reverse); each gives its same-day cost and the
 * share of voxels whose label changed. `fp32` (any model) runs the float32 network, against the default's int8
 * one on a CPU: the precision rule's voxel count on the whole series.
 * Prints one JSON object.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';

import {
  DicomwebClient,
  EmbeddingCache,
  emptyPredictTimings,
  loadModel,
  loadSeriesFromDicomweb,
  predictVolume,
  type InferenceRun,
  type PredictOptions,
  startOrthanc,
  trainModel,
  writeSeg,
  type Volume,
} from '@nnsam/server';

import { CT_CLASSES, makeCtSeries, type CtSeries } from './ct-series.js';
import { peakRssMiB } from './ort-node-speed.js';

export const E2E_STAGES = [
  'fetch',
  'decode',
  'preprocess',
  'embed',
  'infer',
  'postprocess',
  'seg_write',
  'stow',
] as const;
export type E2eStage = (typeof E2E_STAGES)[number];

export interface SegmentRun {
  seconds: number;
  stages: Record<E2eStage, number>;
  /** opening the onnxruntime sessions (the server keeps them open between jobs) */
  modelLoadSeconds: number;
  segBytes: number;
  segFrames: number;
  instancesFetched: number;
  bytesFetched: number;
  peakRssMiB: number;
  /** user + system CPU seconds of the whole process over the run (all threads; less disturbed by other jobs) */
  cpuSeconds: number;
  /** how the network ran: layout, resolved test-time augmentation, precision, slices skipped */
  inference: InferenceRun | null;
}

/** A run with other options than the first, on the same model and day. */
interface ComparedRun {
  run: SegmentRun;
  dice: Record<string, number | null>;
  /** share of voxels whose label differs from the first run's */
  labelsChanged: number;
}

/** The inference options the benchmark varies (the rest are the segment job's). */
export type E2eInference = Pick<
  PredictOptions,
  'tta' | 'wholeSlice' | 'crop' | 'precision' | 'embeddingStride' | 'overlapSessions'
>;

/** A DicomwebClient that adds the seconds spent in WADO-RS series retrieval to `fetchSeconds`. */
class TimedClient extends DicomwebClient {
  fetchSeconds = 0;
  instances = 0;
  bytes = 0;
  override async retrieveSeries(
    ...args: Parameters<DicomwebClient['retrieveSeries']>
  ): Promise<Uint8Array[]> {
    const started = performance.now();
    const parts = await super.retrieveSeries(...args);
    this.fetchSeconds += (performance.now() - started) / 1000;
    this.instances += parts.length;
    for (const p of parts) this.bytes += p.byteLength;
    return parts;
  }
}

/** The segment job's path (services/segment-job.ts), stage by stage. */
export async function segmentOnce(options: {
  dicomweb: string;
  study: string;
  series: string;
  model: string;
  inference: E2eInference;
  threads?: number;
}): Promise<{ run: SegmentRun; labels: Volume<Uint8Array> }> {
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const client = new TimedClient({ url: options.dicomweb });
  let t = performance.now();
  const series = await loadSeriesFromDicomweb(client, options.study, options.series);
  const fetchAndDecode = (performance.now() - t) / 1000;
  t = performance.now();
  const model = await loadModel(options.model, { threads: options.threads });
  const cacheDir = await mkdtemp(join(tmpdir(), 'nnsam-bench-e2e-cache-'));
  const timings = emptyPredictTimings();
  let labels: Volume<Uint8Array>;
  const told: InferenceRun[] = [];
  try {
    labels = await predictVolume(model, series.volume, {
      ...options.inference,
      cache: new EmbeddingCache(cacheDir),
      timings,
      onRun: (r) => told.push(r),
      // the segment job counts each slice's uncertainty for "Label next" during the argmax: so does this
      uncertainty: [],
    });
  } finally {
    await model.close();
    await rm(cacheDir, { recursive: true, force: true });
  }
  const inference = told[0] ?? null;
  t = performance.now();
  const seg = writeSeg(
    labels,
    series,
    CT_CLASSES,
    {
      name: 'nnSAM',
      version: 'benchmark',
      parameters: `test-time augmentation ${inference?.tta ? 'on' : 'off'}`,
    },
    { seriesDescription: 'nnSAM benchmark' },
  );
  const segWrite = (performance.now() - t) / 1000;
  t = performance.now();
  await client.storeInstances([seg.bytes], { studyInstanceUID: seg.studyInstanceUID });
  const stow = (performance.now() - t) / 1000;
  const run: SegmentRun = {
    seconds: (performance.now() - started) / 1000,
    stages: {
      fetch: client.fetchSeconds,
      decode: fetchAndDecode - client.fetchSeconds,
      preprocess: timings.preprocess,
      embed: timings.embed,
      infer: timings.infer,
      postprocess: timings.postprocess,
      seg_write: segWrite,
      stow,
    },
    modelLoadSeconds: timings.load,
    segBytes: seg.bytes.byteLength,
    segFrames: seg.frameCount,
    instancesFetched: client.instances,
    bytesFetched: client.bytes,
    peakRssMiB: peakRssMiB(),
    cpuSeconds: ((c) => (c.user + c.system) / 1e6)(process.cpuUsage(cpuStarted)),
    inference,
  };
  return { run, labels };
}

/** Dice per class of `labels` against the generator's truth (is the model's output a real segmentation?). */
function dicePerClass(truth: Volume<Uint8Array>, labels: Uint8Array): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const c of Object.keys(CT_CLASSES).map(Number)) {
    let inter = 0;
    let a = 0;
    let b = 0;
    for (let i = 0; i < labels.length; i++) {
      const p = labels[i] === c;
      const g = truth.data[i] === c;
      if (p) a++;
      if (g) b++;
      if (p && g) inter++;
    }
    out[CT_CLASSES[c]!] = a + b ? (2 * inter) / (a + b) : null;
  }
  return out;
}

/** Slices at 1/3, 1/2 and 2/3 of the liver's extent: what a user would paint. */
function paintedSlices(ct: CtSeries): number[] {
  const [nx, ny, nz] = ct.labels.geometry.dims;
  const withLiver: number[] = [];
  for (let k = 0; k < nz; k++) {
    const plane = ct.labels.data.subarray(k * nx * ny, (k + 1) * nx * ny);
    if (plane.includes(1)) withLiver.push(k);
  }
  const pick = (f: number) => withLiver[Math.floor(f * (withLiver.length - 1))]!;
  return [...new Set([pick(1 / 3), pick(1 / 2), pick(2 / 3)])];
}

const exec = promisify(execFile);

interface ModelOptions {
  work: string;
  size: number;
  slices: number;
  encoder: string;
  iterations: number;
  threads?: number;
}

/** The benchmark's model for a series (trained once per options, with its int8 network). */
async function e2eModel(
  ct: CtSeries,
  o: ModelOptions,
): Promise<{ dir: string; labelled: number[]; trainSeconds: number | null }> {
  const labelled = paintedSlices(ct);
  const dir = join(
    o.work,
    `model-${o.size}x${o.slices}-${o.encoder === 'none' ? 'none' : 'sam'}-it${o.iterations}-int8`,
  );
  if (existsSync(join(dir, 'model.json'))) return { dir, labelled, trainSeconds: null };
  const t = performance.now();
  await trainModel({
    cases: [{ image: ct.image, labels: ct.labels, labelledSlices: labelled, name: 'synthetic-ct' }],
    classes: CT_CLASSES,
    outDir: dir,
    encoder: o.encoder,
    maxIterations: o.iterations,
    seed: 0,
    modality: 'CT',
    device: 'cpu',
    threads: o.threads,
    validationSlices: 0,
    planOverrides: [{ path: 'inference.int8', value: true }],
    overwrite: true,
  });
  return { dir, labelled, trainSeconds: (performance.now() - t) / 1000 };
}

function modelOptions(values: Record<string, string | undefined>): ModelOptions {
  return {
    work: values.work!,
    size: Number(values.size ?? 512),
    slices: Number(values.slices ?? 300),
    encoder: values.encoder ?? 'none',
    iterations: Number(values.iterations ?? 20),
    threads: values.threads ? Number(values.threads) : undefined,
  };
}

/** --tta auto|on|off, --whole-slice on|off, --crop on|off, --precision fp32|int8 (defaults: the server's). */
function inferenceOptions(values: Record<string, string | undefined>): E2eInference {
  const onOff = (name: string, allowAuto = false): boolean | undefined => {
    const v = values[name];
    if (v === undefined || (allowAuto && v === 'auto')) return undefined;
    if (v !== 'on' && v !== 'off')
      throw new Error(`--${name} must be ${allowAuto ? 'auto, ' : ''}on or off, got ${v}`);
    return v === 'on';
  };
  const precision = values.precision;
  if (precision !== undefined && precision !== 'fp32' && precision !== 'int8')
    throw new Error(`--precision must be fp32 or int8, got ${precision}`);
  const stride = values['embedding-stride'];
  if (stride !== undefined && stride !== 'auto' && !/^[1-9]\d*$/.test(stride))
    throw new Error(`--embedding-stride must be auto or a positive integer, got ${stride}`);
  return {
    tta: onOff('tta', true),
    wholeSlice: onOff('whole-slice'),
    crop: onOff('crop'),
    precision,
    embeddingStride: stride === undefined || stride === 'auto' ? undefined : Number(stride),
    overlapSessions: onOff('overlap-sessions', true),
  };
}

/** The same options as command-line arguments for the timed child. */
function inferenceArgs(o: E2eInference): string[] {
  const onOff = (v: boolean | undefined) => (v === undefined ? 'auto' : v ? 'on' : 'off');
  const args = ['--tta', onOff(o.tta)];
  if (o.precision !== undefined) args.push('--precision', o.precision);
  if (o.wholeSlice !== undefined) args.push('--whole-slice', onOff(o.wholeSlice));
  if (o.crop !== undefined) args.push('--crop', onOff(o.crop));
  if (o.embeddingStride !== undefined) args.push('--embedding-stride', String(o.embeddingStride));
  if (o.overlapSessions !== undefined) args.push('--overlap-sessions', onOff(o.overlapSessions));
  return args;
}

async function runAll(values: Record<string, string | undefined>): Promise<void> {
  const o = modelOptions(values);
  const { work, size, slices, encoder, iterations, threads } = o;
  const runs = Number(values.runs ?? 1);
  const inference = inferenceOptions(values);
  const compare = values.compare ?? 'every-slice';
  if (!['every-slice', 'sessions', 'fp32', 'none'].includes(compare))
    throw new Error(`--compare must be every-slice, sessions, fp32 or none, got ${compare}`);
  await mkdir(work, { recursive: true });

  const t0 = performance.now();
  const ct = makeCtSeries({ size, slices });
  const generateSeconds = (performance.now() - t0) / 1000;
  const model = await e2eModel(ct, o);
  const { labelled, trainSeconds } = model;
  const modelDir = model.dir;
  let t: number;

  const orthancDir = await mkdtemp(join(tmpdir(), 'nnsam-bench-orthanc-'));
  const orthanc = await startOrthanc({ dir: orthancDir });
  try {
    const client = new DicomwebClient({ url: orthanc.dicomWebUrl });
    t = performance.now();
    for (let i = 0; i < ct.instances.length; i += 25) {
      await client.storeInstances(ct.instances.slice(i, i + 25), { studyInstanceUID: ct.studyInstanceUID });
    }
    const storeSeconds = (performance.now() - t) / 1000;
    const seriesBytes = ct.instances.reduce((n, b) => n + b.byteLength, 0);
    const truth = ct.labels;
    ct.instances.length = 0;

    const script = fileURLToPath(import.meta.url);
    /** One timed child process of the segment path; its labels land in labelsOut. */
    const segmentChild = async (options: E2eInference, labelsOut: string): Promise<SegmentRun> => {
      const args = [
        script,
        'segment',
        '--dicomweb',
        orthanc.dicomWebUrl,
        '--study',
        ct.studyInstanceUID,
        '--series',
        ct.seriesInstanceUID,
        '--model',
        modelDir,
        ...inferenceArgs(options),
        '--labels-out',
        labelsOut,
      ];
      if (threads) args.push('--threads', String(threads));
      const { stdout } = await exec(process.execPath, args, { maxBuffer: 16 * 2 ** 20 });
      return JSON.parse(stdout.trim().split('\n').pop()!) as SegmentRun;
    };
    const results: SegmentRun[] = [];
    let dice: Record<string, number | null> | null = null;
    const labelsOut = join(work, 'labels.u8');
    let labels: Uint8Array | null = null;
    for (let i = 0; i < runs; i++) {
      results.push(await segmentChild(inference, labelsOut));
      labels ??= new Uint8Array(await readFile(labelsOut));
      dice ??= dicePerClass(truth, labels);
    }
    /** One more timed run with other options: its cost, Dice, and the share of voxels it labels otherwise. */
    const compared = async (options: E2eInference, name: string): Promise<ComparedRun> => {
      const otherOut = join(work, `labels-${name}.u8`);
      const run = await segmentChild(options, otherOut);
      const other = new Uint8Array(await readFile(otherOut));
      let changed = 0;
      for (let n = 0; n < other.length; n++) if (other[n] !== labels![n]) changed++;
      return { run, dice: dicePerClass(truth, other), labelsChanged: changed / other.length };
    };
    const first = results[0]?.inference;
    // an encoder on every n-th slice (n > 1) against the encoder on every slice, same model and day
    const everySlice =
      compare === 'every-slice' && labels && (first?.embeddingStride ?? 0) > 1
        ? await compared({ ...inference, embeddingStride: 1 }, 'every-slice')
        : null;
    // the encoder's and the network's sessions the other way: at once instead of in turns, or the reverse
    const otherSessions =
      compare === 'sessions' && labels && first && first.embeddingStride > 0
        ? await compared({ ...inference, overlapSessions: !first.overlapSessions }, 'other-sessions')
        : null;
    // the float32 network against the first run's (int8 by default on a CPU): the precision rule's voxels
    const float32 =
      compare === 'fp32' && labels && first?.precision === 'int8'
        ? await compared({ ...inference, precision: 'fp32' }, 'fp32')
        : null;
    const out = {
      runtime: 'e2e',
      series: {
        size,
        slices,
        bytes: seriesBytes,
        modality: 'CT',
        transferSyntax: 'Explicit VR Little Endian',
      },
      generateSeconds,
      storeSeconds,
      model: { dir: modelDir, encoder, iterations, labelledSlices: labelled, trainSeconds },
      // as run: the first run's resolved setting (the option, when given, is in `options`)
      tta: results[0]?.inference?.tta ?? null,
      options: { ...inference, tta: inference.tta ?? 'auto' },
      threads: threads ?? null,
      runs: results,
      dice,
      everySlice,
      otherSessions,
      float32,
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } finally {
    await orthanc.stop();
    await rm(orthancDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      work: { type: 'string' },
      size: { type: 'string' },
      slices: { type: 'string' },
      runs: { type: 'string' },
      threads: { type: 'string' },
      tta: { type: 'string' },
      'whole-slice': { type: 'string' },
      crop: { type: 'string' },
      precision: { type: 'string' },
      'embedding-stride': { type: 'string' },
      'overlap-sessions': { type: 'string' },
      compare: { type: 'string' },
      encoder: { type: 'string' },
      iterations: { type: 'string' },
      dicomweb: { type: 'string' },
      study: { type: 'string' },
      series: { type: 'string' },
      model: { type: 'string' },
      'labels-out': { type: 'string' },
    },
  });
  const command = positionals[0];
  if (command === 'run' && values.work) return runAll(values);
  if (command === 'model' && values.work) {
    const o = modelOptions(values);
    await mkdir(o.work, { recursive: true });
    const model = await e2eModel(makeCtSeries({ size: o.size, slices: o.slices }), o);
    process.stdout.write(`${JSON.stringify(model)}\n`);
    return;
  }
  if (command === 'segment' && values.dicomweb && values.study && values.series && values.model) {
    // what the timed child does: the segment path, then its labels for the Dice check (not timed)
    const { run, labels } = await segmentOnce({
      dicomweb: values.dicomweb,
      study: values.study,
      series: values.series,
      model: values.model,
      inference: inferenceOptions(values),
      threads: values.threads ? Number(values.threads) : undefined,
    });
    if (values['labels-out']) await writeFile(values['labels-out'], labels.data);
    process.stdout.write(`${JSON.stringify(run)}\n`);
    return;
  }
  throw new Error(
    'usage: e2e run --work DIR [--size 512] [--slices 300] [--runs 1] [--tta auto|on|off] [--whole-slice on|off]\n' +
      '         [--crop on|off] [--precision fp32|int8] [--encoder none|FILE.onnx] [--iterations 20]\n' +
      '         [--embedding-stride auto|N] [--overlap-sessions auto|on|off]\n' +
      '         [--compare every-slice|sessions|fp32|none]\n' +
      '       e2e model --work DIR [--size 512] [--slices 300] [--encoder none|FILE.onnx] [--iterations 20]\n' +
      '       e2e segment --dicomweb URL --study UID --series UID --model DIR [inference options of run]',
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`e2e: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  });
}
