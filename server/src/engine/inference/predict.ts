/**
 * Inference of a trained model on a volume: the plan's preprocessing, the SAM embedding of each slice (cached),
 * the ONNX network on patch-sized tiles (one tile when the slice fits, else a Gaussian-weighted sliding window),
 * mirror test-time augmentation, softmax, resampling of the probabilities back to the input grid, argmax,
 * and the model's post-processing. Tiles of several slices share one onnxruntime batch.
 */
import { Embedder } from '../encoders/embedder.js';
import { EmbeddingCache } from '../encoders/cache.js';
import { cancelledError } from '../cancel.js';
import type { LoadedModel } from '../model.js';
import { ort } from '../onnx.js';
import { stageStrides } from '../planning/plan.js';
import { createPreprocessor } from '../preprocessing/preprocess.js';
import { resampleProbabilities } from '../preprocessing/resample.js';
import { stage, type ProgressListener } from '../progress.js';
import type { Volume } from '../../volume/types.js';
import { embeddingOnStageGrid } from './embedding-map.js';
import { argmaxChannels, keepLargestComponent, softmaxChannels } from './postprocess.js';
import {
  accumulateTile,
  canvasShape,
  extractTile,
  gaussianMap,
  tileStarts,
  type Shape2,
} from './sliding-window.js';

export interface PredictOptions {
  /** Mirror test-time augmentation (default true) */
  tta?: boolean;
  /** Network inputs per onnxruntime run (default 8) */
  batchSize?: number;
  /** Apply the model's post-processing (default true) */
  postprocess?: boolean;
  /** Only these slices (others stay 0); default all */
  slices?: number[];
  cache?: EmbeddingCache;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  /** Seconds per stage are added here (benchmarks: bench/src/e2e.ts); each interval is counted once. */
  timings?: PredictTimings;
}

/** Where predictVolume spends its time: session opening, preprocessing, SAM embedding (cache included),
 * network runs (tile extraction and blending included), softmax/resampling/argmax and post-processing. */
export interface PredictTimings {
  load: number;
  preprocess: number;
  embed: number;
  infer: number;
  postprocess: number;
}

export function emptyPredictTimings(): PredictTimings {
  return { load: 0, preprocess: 0, embed: 0, infer: 0, postprocess: 0 };
}

interface SliceJob {
  k: number;
  canvas: Float32Array;
  embedding: Float32Array | null;
  acc: Float32Array;
  weights: Float32Array | null;
  pending: number;
}

interface Item {
  job: SliceJob;
  start: Shape2;
  flip: [boolean, boolean];
}

const FLIPS: [boolean, boolean][] = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

/** Labels (uint8) on the input volume's grid. */
export async function predictVolume(
  model: LoadedModel,
  image: Volume,
  options: PredictOptions = {},
): Promise<Volume<Uint8Array>> {
  const labels = await segmentVolume(model, image, options);
  if (options.postprocess !== false) {
    const started = performance.now();
    for (const c of model.info.postprocessing.largestComponent) {
      keepLargestComponent(labels.data, labels.geometry.dims, c);
    }
    addTime(options.timings, 'postprocess', started);
  }
  return labels;
}

/** Labels without post-processing (used to decide post-processing on validation slices). */
export async function segmentVolume(
  model: LoadedModel,
  image: Volume,
  options: PredictOptions = {},
): Promise<Volume<Uint8Array>> {
  const { plan } = model;
  const { timings } = options;
  let started = performance.now();
  const session = await model.session();
  addTime(timings, 'load', started);
  started = performance.now();
  const pre = createPreprocessor(image, plan);
  addTime(timings, 'preprocess', started);
  const [rows, cols] = pre.shape;
  const [origRows, origCols] = pre.originalShape;
  const numClasses = plan.numClasses;
  const patch = plan.network.patchSize as Shape2;
  const emb = plan.embedding;
  const embStride: Shape2 = emb ? (stageStrides(plan.network)[emb.stage] as Shape2) : [1, 1];
  const canvas = canvasShape([rows, cols], patch, embStride);
  const embGrid: Shape2 = [canvas[0] / embStride[0], canvas[1] / embStride[1]];
  const embTile: Shape2 = [patch[0] / embStride[0], patch[1] / embStride[1]];
  const ys = tileStarts(canvas[0], patch[0], plan.inference.tileStep, embStride[0]);
  const xs = tileStarts(canvas[1], patch[1], plan.inference.tileStep, embStride[1]);
  const multiTile = ys.length * xs.length > 1;
  const gaussian = multiTile ? gaussianMap(patch, plan.inference.gaussianSigmaScale) : null;
  const flips = options.tta === false ? FLIPS.slice(0, 1) : FLIPS;
  const batchSize = Math.max(1, options.batchSize ?? 8);
  const slices = options.slices ?? [...Array(pre.sliceCount).keys()];
  const out = new Uint8Array(image.data.length);
  const plane = origRows * origCols;
  const canvasPixels = canvas[0] * canvas[1];
  const embChannels = emb?.channels ?? 0;

  let embedder: Embedder | null = null;
  if (emb) {
    started = performance.now();
    const encoder = await model.encoderSession();
    if (!encoder) throw new Error('model needs an encoder but none was located');
    embedder = Embedder.over(model.info.encoder, encoder, options.cache);
    addTime(timings, 'load', started);
  }

  let done = 0;
  const finish = (job: SliceJob) => {
    const finishStarted = performance.now();
    // crop to the slice, normalise by the summed weights, softmax, back to the input grid, argmax
    const logits = new Float32Array(numClasses * rows * cols);
    for (let c = 0; c < numClasses; c++) {
      for (let y = 0; y < rows; y++) {
        for (let x = 0; x < cols; x++) {
          const p = y * canvas[1] + x;
          const w = job.weights ? job.weights[p]! : flips.length;
          logits[c * rows * cols + y * cols + x] = job.acc[c * canvasPixels + p]! / w;
        }
      }
    }
    if (rows === origRows && cols === origCols) {
      argmaxChannels(logits, numClasses, plane, out, job.k * plane);
    } else {
      softmaxChannels(logits, numClasses, rows * cols);
      const probs = resampleProbabilities(logits, numClasses, [rows, cols], [origRows, origCols]);
      argmaxChannels(probs, numClasses, plane, out, job.k * plane);
    }
    addTime(timings, 'postprocess', finishStarted);
    done++;
    stage(options.onProgress, 'inference', done, slices.length);
  };

  const pending: Item[] = [];
  const imageBuf = new Float32Array(batchSize * patch[0] * patch[1]);
  const embBuf = emb ? new Float32Array(batchSize * embChannels * embTile[0] * embTile[1]) : null;
  const runBatch = async () => {
    let inferStarted = performance.now();
    const items = pending.splice(0, batchSize);
    const n = items.length;
    items.forEach((it, b) => {
      extractTile(it.job.canvas, 1, canvas, it.start, patch, it.flip, imageBuf, b * patch[0] * patch[1]);
      if (embBuf && it.job.embedding) {
        const eStart: Shape2 = [it.start[0] / embStride[0], it.start[1] / embStride[1]];
        extractTile(
          it.job.embedding,
          embChannels,
          embGrid,
          eStart,
          embTile,
          it.flip,
          embBuf,
          b * embChannels * embTile[0] * embTile[1],
        );
      }
    });
    const feeds: Record<string, ort.Tensor> = {
      image: new ort.Tensor('float32', imageBuf.subarray(0, n * patch[0] * patch[1]), [
        n,
        1,
        patch[0],
        patch[1],
      ]),
    };
    if (embBuf) {
      const len = embChannels * embTile[0] * embTile[1];
      feeds.embedding = new ort.Tensor('float32', embBuf.subarray(0, n * len), [n, embChannels, ...embTile]);
    }
    const result = await session.run(feeds);
    const logits = result.logits!.data as Float32Array;
    const per = numClasses * patch[0] * patch[1];
    items.forEach((it, b) => {
      accumulateTile(
        it.job.acc,
        it.job.weights,
        numClasses,
        canvas,
        it.start,
        patch,
        it.flip,
        logits,
        b * per,
        gaussian,
      );
      if (--it.job.pending === 0) {
        addTime(timings, 'infer', inferStarted);
        finish(it.job);
        inferStarted = performance.now();
      }
    });
    addTime(timings, 'infer', inferStarted);
  };

  {
    stage(options.onProgress, 'inference', 0, slices.length);
    for (let n = 0; n < slices.length; n++) {
      if (options.signal?.aborted) throw cancelledError('Inference');
      const k = slices[n]!;
      started = performance.now();
      const slice = pre.slice(k);
      const padded = new Float32Array(canvasPixels);
      for (let y = 0; y < rows; y++) padded.set(slice.subarray(y * cols, (y + 1) * cols), y * canvas[1]);
      addTime(timings, 'preprocess', started);
      let map: Float32Array | null = null;
      if (embedder && emb) {
        started = performance.now();
        const e = await embedder.embed(slice, rows, cols);
        map = embeddingOnStageGrid(e, embChannels, emb.grid as Shape2, [rows, cols], embStride, embGrid);
        addTime(timings, 'embed', started);
        stage(options.onProgress, 'embedding', n + 1, slices.length);
      }
      const job: SliceJob = {
        k,
        canvas: padded,
        embedding: map,
        acc: new Float32Array(numClasses * canvasPixels),
        weights: multiTile ? new Float32Array(canvasPixels) : null,
        pending: ys.length * xs.length * flips.length,
      };
      for (const y of ys)
        for (const x of xs) for (const flip of flips) pending.push({ job, start: [y, x], flip });
      while (pending.length >= batchSize) await runBatch();
    }
    while (pending.length > 0) await runBatch();
  }
  return { geometry: image.geometry, data: out };
}

function addTime(timings: PredictTimings | undefined, key: keyof PredictTimings, since: number): void {
  if (timings) timings[key] += (performance.now() - since) / 1000;
}
