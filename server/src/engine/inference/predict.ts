/**
 * Inference of a trained model on a volume: the plan's preprocessing, the SAM embedding of each slice (cached),
 * the ONNX network on each slice's region (layout.ts: the whole slice in one input when it fits, else nnU-Net's
 * Gaussian sliding window; cropped to the body when that is clearly smaller), mirror test-time augmentation
 * (tta.ts), softmax, resampling of the probabilities back to the input grid, argmax, and the model's
 * post-processing. Inputs of several slices share one onnxruntime batch.
 *
 * The network runs in a worker thread (session-thread.ts), so the main thread prepares the next batch
 * (preprocessing, embedding, input copy) and finishes the previous one (blending, softmax, resampling,
 * argmax) while a batch runs: at most two batches are in flight. With a SAM encoder on a CPU, the encoder's
 * session and the network's take turns (turns.ts) instead of running at once on the same cores.
 */
import { Embedder } from '../encoders/embedder.js';
import { EmbeddingCache } from '../encoders/cache.js';
import { cancelledError } from '../cancel.js';
import type { LoadedModel, Precision } from '../model.js';
import { ort } from '../onnx.js';
import { stageStrides, type Plan } from '../planning/plan.js';
import { createPreprocessor, middleSlice, type Preprocessor } from '../preprocessing/preprocess.js';
import { resampleProbabilities } from '../preprocessing/resample.js';
import { stage, type ProgressListener } from '../progress.js';
import type { Device, RunSession } from '../session-thread.js';
import type { Volume } from '../../volume/index.js';
import { bodyExtent } from './body.js';
import { embeddingOnStageGrid } from './embedding-map.js';
import { InterpolatedEmbeddings, embeddingSliceStride } from './embedding-slices.js';
import { DEFAULT_MAX_PIXELS, inferenceLayout, type Layout } from './layout.js';
import {
  argmaxChannels,
  keepLargestComponent,
  removeSmallComponents,
  softmaxChannels,
} from './postprocess.js';
import { accumulateTile, extractTile, gaussianMap, type Shape2 } from './sliding-window.js';
import { mirrorPasses, resolveTta } from './tta.js';
import { inTurn, Turns } from './turns.js';
import { SliceUncertaintyCounter, type SliceUncertainty } from './uncertainty.js';

export interface PredictOptions {
  /** Mirror test-time augmentation; default: the plan's, else the device's (tta.ts) */
  tta?: boolean;
  /** Network inputs per onnxruntime run at most (default 8) */
  batchSize?: number;
  /**
   * Run a slice as one input when it fits `maxPixels` (default false: nnU-Net's sliding window of the training
   * patch). Opt-in: instance norm sees the whole slice's statistics, not a patch's; on ACDC that cost 0.016
   * mean Dice and on the demo phantom (192 x 192 slices, 128 x 128 patches, 80 iterations) RV Dice fell from
   * 0.80 to 0.20 (docs/engine.md).
   */
  wholeSlice?: boolean;
  /** Pixels of one onnxruntime run at most, all inputs together (default DEFAULT_MAX_PIXELS) */
  maxPixels?: number;
  /** Skip what lies outside the body: slices without it, and the region around it (default true) */
  crop?: boolean;
  /**
   * Run the SAM encoder on every n-th slice and interpolate the embeddings between (embedding-slices.ts);
   * default: twice per embedding cell along the slice axis (1 unless the slices are thin); 1 = every slice
   */
  embeddingStride?: number;
  /** Which network: the model's int8 quantization or 'fp32' (default: LoadedModel.defaultPrecision) */
  precision?: Precision;
  /**
   * Let the SAM encoder's session run while the network's does (default: on a GPU only). On a CPU both use
   * every core, and taking turns was faster (docs/benchmarks.md, 2026-12-06 evening).
   */
  overlapSessions?: boolean;
  /** Apply the model's post-processing (default true) */
  postprocess?: boolean;
  /** Only these slices (others stay 0); default all */
  slices?: number[];
  cache?: EmbeddingCache;
  onProgress?: ProgressListener;
  /** Told once, before the network runs, how it will run */
  onRun?: (run: InferenceRun) => void;
  signal?: AbortSignal;
  /** Seconds per stage are added here (benchmarks: bench/src/e2e.ts); each interval is counted once. */
  timings?: PredictTimings;
  /**
   * When given, each slice the network runs on gets its uncertainty here (uncertainty.ts; in the order slices
   * finish). Slices skipped for having no body are background beyond doubt and are not listed.
   */
  uncertainty?: SliceUncertainty[];
}

/** How a volume is run: the layout, the settings resolved for it, and the slices the network sees. */
export interface InferenceRun extends Layout {
  device: Device;
  precision: Precision;
  tta: boolean;
  /** Network inputs per slice: tiles x mirror passes */
  inputsPerSlice: number;
  /** The SAM encoder runs on every n-th slice (0 without an encoder) */
  embeddingStride: number;
  /** The encoder's session may run while the network's does (false: they take turns, or no encoder) */
  overlapSessions: boolean;
  /** Slices the network runs on; the others hold no body (cropping on) and stay background */
  slicesRun: number;
  slicesSkipped: number;
}

/**
 * Where predictVolume spends its time, as intervals of the main thread: session opening, preprocessing, SAM
 * embedding (cache included), infer (input copies, waiting for the network, tile blending), and
 * softmax/resampling/argmax plus post-processing. The network's own time overlaps the other stages: `infer`
 * is what it adds to the wall time.
 */
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

/** Labels (uint8) on the input volume's grid. */
export async function predictVolume(
  model: LoadedModel,
  image: Volume,
  options: PredictOptions = {},
): Promise<Volume<Uint8Array>> {
  const labels = await segmentVolume(model, image, options);
  if (options.postprocess !== false) {
    const started = performance.now();
    const { dims } = labels.geometry;
    const fraction = model.plan.inference.minComponentFraction;
    const largestOnly = model.info.postprocessing.largestComponent;
    // a class kept to its largest component skips the small-component pass: a whole-volume scan that could
    // not change what the largest-only pass keeps
    for (const c of Object.keys(model.plan.classes).map(Number)) {
      if (!largestOnly.includes(c)) removeSmallComponents(labels.data, dims, c, fraction);
    }
    for (const c of largestOnly) keepLargestComponent(labels.data, dims, c);
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
  const run = await VolumeRun.open(model, image, options);
  return run.labels();
}

/**
 * One volume through the network, in stages a reader finds by name: open (settings, layout, sessions), then
 * for each batch prepare (a slice's input and embedding), submit (the network's run), consume (blend its
 * logits) and finish (a slice's labels on the input grid).
 */
class VolumeRun {
  private readonly out: Uint8Array;
  private readonly plane: number;
  private readonly canvasPixels: number;
  private readonly regionShape: Shape2;
  private readonly tilePixels: number;
  private readonly gaussian: Float32Array | null;
  private readonly embGrid: Shape2;
  private readonly embTile: Shape2;
  private readonly embOrigin: Shape2;
  /** Slices of `requested` done (skipped ones count at once) and the next of `todo` to prepare */
  private done: number;
  private next = 0;

  private constructor(
    private readonly plan: Plan,
    private readonly image: Volume,
    private readonly options: PredictOptions,
    private readonly session: RunSession,
    private readonly pre: Preprocessor,
    private readonly layout: Layout,
    private readonly flips: [boolean, boolean][],
    private readonly embStride: Shape2,
    private readonly requested: number[],
    private readonly todo: number[],
    private readonly embeddings: InterpolatedEmbeddings | null,
    private readonly turns: Turns | null,
  ) {
    const [origRows, origCols] = pre.originalShape;
    const { region, canvas, tile, starts } = layout;
    this.out = new Uint8Array(image.data.length);
    this.plane = origRows * origCols;
    this.canvasPixels = canvas[0] * canvas[1];
    this.regionShape = [region[2] - region[0], region[3] - region[1]];
    this.tilePixels = tile[0] * tile[1];
    this.gaussian = starts.length > 1 ? gaussianMap(tile, plan.inference.gaussianSigmaScale) : null;
    this.embGrid = [canvas[0] / embStride[0], canvas[1] / embStride[1]];
    this.embTile = [tile[0] / embStride[0], tile[1] / embStride[1]];
    this.embOrigin = [region[0] / embStride[0], region[1] / embStride[1]];
    this.done = requested.length - todo.length;
  }

  /** Sessions, preprocessing, the layout and the settings resolved for this volume; tells `onRun`. */
  static async open(model: LoadedModel, image: Volume, options: PredictOptions): Promise<VolumeRun> {
    const { plan } = model;
    const { timings } = options;
    const precision = options.precision ?? model.defaultPrecision();
    let started = performance.now();
    const session = await model.session(precision);
    addTime(timings, 'load', started);
    started = performance.now();
    const pre = createPreprocessor(image, plan);
    const body = options.crop === false ? null : bodyExtent(image, plan.modality);
    addTime(timings, 'preprocess', started);
    const emb = plan.embedding;
    const embStride: Shape2 = emb ? (stageStrides(plan.network)[emb.stage] as Shape2) : [1, 1];
    const device = session.device ?? 'cpu';
    const tta = resolveTta(device, options.tta, plan.inference.tta);
    const flips = mirrorPasses(plan.inference.mirrorAxes, tta);
    const layout = inferenceLayout({
      slice: pre.shape,
      original: pre.originalShape,
      body: body?.box ?? null,
      patch: plan.network.patchSize as Shape2,
      divisibleBy: plan.network.divisibleBy as Shape2,
      align: embStride,
      tileStep: plan.inference.tileStep,
      wholeSlice: options.wholeSlice === true,
      maxPixels: options.maxPixels ?? DEFAULT_MAX_PIXELS,
      batchSize: options.batchSize ?? 8,
    });
    const requested = options.slices ?? [...Array(pre.sliceCount).keys()];
    const todo = body ? requested.filter((k) => body.slices[k] && body.box) : requested;
    const embeddingStride = emb ? (options.embeddingStride ?? embeddingSliceStride(image.geometry)) : 0;
    const overlapSessions = !!emb && (options.overlapSessions ?? device !== 'cpu');
    const turns = emb && !overlapSessions ? new Turns() : null;
    options.onRun?.({
      ...layout,
      device,
      precision,
      tta,
      inputsPerSlice: layout.starts.length * flips.length,
      embeddingStride,
      overlapSessions,
      slicesRun: todo.length,
      slicesSkipped: requested.length - todo.length,
    });
    const embeddings =
      emb && todo.length ? await openEmbeddings(model, pre, embeddingStride, todo, turns, options) : null;
    return new VolumeRun(
      plan,
      image,
      options,
      session,
      pre,
      layout,
      flips,
      embStride,
      requested,
      todo,
      embeddings,
      turns,
    );
  }

  /** Every slice's labels: the next batch is prepared and sent while the previous one runs. */
  async labels(): Promise<Volume<Uint8Array>> {
    const { batch, starts } = this.layout;
    const { signal, onProgress } = this.options;
    stage(onProgress, 'inference', this.done, this.requested.length);
    const queue: Item[] = [];
    let inflight: { items: Item[]; logits: Promise<Float32Array> } | null = null;
    for (;;) {
      // prepare the next batch while the previous one runs
      while (queue.length < batch && this.next < this.todo.length) {
        if (signal?.aborted) throw cancelledError('Inference');
        const job = await this.prepare(this.todo[this.next++]!);
        for (const start of starts) for (const flip of this.flips) queue.push({ job, start, flip });
      }
      const items = queue.splice(0, batch);
      const running = items.length ? { items, logits: this.submit(items) } : null;
      if (inflight) {
        const t = performance.now();
        const logits = await inflight.logits;
        addTime(this.options.timings, 'infer', t);
        this.consume(inflight.items, logits);
      }
      if (!running) break;
      inflight = running;
    }
    return { geometry: this.image.geometry, data: this.out };
  }

  /**
   * Preprocessed region of slice k (and of its neighbours, one channel each, when the network is 2.5D) on the
   * canvas (zero padded at the end), and its embedding map.
   */
  private async prepare(k: number): Promise<SliceJob> {
    const { pre, plan, layout, options } = this;
    const { region, canvas } = layout;
    const [rows, cols] = pre.shape;
    const inputSlices = plan.network.inputSlices;
    let t = performance.now();
    const input = pre.input(k, inputSlices);
    const padded = new Float32Array(inputSlices * this.canvasPixels);
    for (let c = 0; c < inputSlices; c++) {
      for (let y = 0; y < this.regionShape[0]; y++) {
        const from = c * rows * cols + (region[0] + y) * cols + region[1];
        padded.set(input.subarray(from, from + this.regionShape[1]), c * this.canvasPixels + y * canvas[1]);
      }
    }
    addTime(options.timings, 'preprocess', t);
    let map: Float32Array | null = null;
    const emb = plan.embedding;
    if (this.embeddings && emb) {
      t = performance.now();
      const e = await this.embeddings.get(k);
      map = embeddingOnStageGrid(
        e,
        emb.channels,
        emb.grid as Shape2,
        [rows, cols],
        this.embStride,
        this.embGrid,
        this.embOrigin,
      );
      addTime(options.timings, 'embed', t);
      const skipped = this.requested.length - this.todo.length;
      stage(options.onProgress, 'embedding', skipped + this.next, this.requested.length);
    }
    return {
      k,
      canvas: padded,
      embedding: map,
      acc: new Float32Array(plan.numClasses * this.canvasPixels),
      weights: this.gaussian ? new Float32Array(this.canvasPixels) : null,
      pending: layout.starts.length * this.flips.length,
    };
  }

  /** Copies the items' inputs and starts the network on them (it runs in the session's worker thread). */
  private submit(items: Item[]): Promise<Float32Array> {
    const t = performance.now();
    const { plan, layout, embStride, embTile } = this;
    const { canvas, tile } = layout;
    const n = items.length;
    const inputSlices = plan.network.inputSlices;
    const embChannels = plan.embedding?.channels ?? 0;
    const inputPixels = inputSlices * this.tilePixels;
    const imageBuf = new Float32Array(n * inputPixels);
    const embLength = embChannels * embTile[0] * embTile[1];
    const embBuf = plan.embedding ? new Float32Array(n * embLength) : null;
    items.forEach((it, b) => {
      extractTile(it.job.canvas, inputSlices, canvas, it.start, tile, it.flip, imageBuf, b * inputPixels);
      if (embBuf && it.job.embedding) {
        const eStart: Shape2 = [it.start[0] / embStride[0], it.start[1] / embStride[1]];
        extractTile(
          it.job.embedding,
          embChannels,
          this.embGrid,
          eStart,
          embTile,
          it.flip,
          embBuf,
          b * embLength,
        );
      }
    });
    const feeds: Record<string, ort.Tensor> = {
      image: new ort.Tensor('float32', imageBuf, [n, inputSlices, tile[0], tile[1]]),
    };
    if (embBuf) feeds.embedding = new ort.Tensor('float32', embBuf, [n, embChannels, ...embTile]);
    const result = inTurn(this.turns, () => this.session.run(feeds)).then(
      (r) => r.logits!.data as Float32Array,
    );
    result.catch(() => undefined); // awaited later; a failure must not count as unhandled meanwhile
    addTime(this.options.timings, 'infer', t);
    return result;
  }

  /** Adds a run's logits to their slices; a slice whose every input is in is finished. */
  private consume(items: Item[], logits: Float32Array): void {
    const { numClasses } = this.plan;
    const { canvas, tile } = this.layout;
    const per = numClasses * this.tilePixels;
    items.forEach((it, b) => {
      const t = performance.now();
      accumulateTile(
        it.job.acc,
        it.job.weights,
        numClasses,
        canvas,
        it.start,
        tile,
        it.flip,
        logits,
        b * per,
        this.gaussian,
      );
      addTime(this.options.timings, 'infer', t);
      if (--it.job.pending === 0) this.finish(it.job);
    });
  }

  /** Blended logits of the kept part -> labels on the input grid; background elsewhere. */
  private finish(job: SliceJob): void {
    const t = performance.now();
    const { options, plan, pre } = this;
    const labels = this.out.subarray(job.k * this.plane, (job.k + 1) * this.plane);
    const counter = options.uncertainty ? new SliceUncertaintyCounter(plan.numClasses) : null;
    const [rows, cols] = pre.shape;
    const [origRows, origCols] = pre.originalShape;
    if (rows === origRows && cols === origCols) this.labelsOnGrid(job, labels, counter);
    else this.labelsResampled(job, labels, counter);
    if (counter) options.uncertainty!.push(counter.finish(job.k));
    addTime(options.timings, 'postprocess', t);
    this.done++;
    stage(options.onProgress, 'inference', this.done, this.requested.length);
  }

  /** The weight a canvas pixel's summed logits carry: its Gaussian weights, or one per mirror pass. */
  private weight(job: SliceJob, p: number): number {
    return job.weights ? job.weights[p]! : this.flips.length;
  }

  /** The preprocessed grid is the input's: argmax of the summed logits, pixel by pixel. */
  private labelsOnGrid(job: SliceJob, labels: Uint8Array, counter: SliceUncertaintyCounter | null): void {
    const { keep, region, canvas } = this.layout;
    const { numClasses } = this.plan;
    const cols = this.pre.shape[1];
    const canvasPixels = this.canvasPixels;
    // the weights are positive: argmax of the sums is argmax of the means
    for (let y = keep[0]; y < keep[2]; y++) {
      for (let x = keep[1]; x < keep[3]; x++) {
        const p = (y - region[0]) * canvas[1] + (x - region[1]);
        if (counter) {
          labels[y * cols + x] = counter.addScores(job.acc, canvasPixels, p, this.weight(job, p));
          continue;
        }
        let best = 0;
        let bestV = job.acc[p]!;
        for (let c = 1; c < numClasses; c++) {
          const v = job.acc[c * canvasPixels + p]!;
          if (v > bestV) [best, bestV] = [c, v];
        }
        labels[y * cols + x] = best;
      }
    }
  }

  /**
   * Another grid than the input's: probabilities on the whole preprocessed slice (background outside the kept
   * part), resampled to the input grid, then argmax.
   */
  private labelsResampled(job: SliceJob, labels: Uint8Array, counter: SliceUncertaintyCounter | null): void {
    const { keep, region, canvas } = this.layout;
    const { numClasses } = this.plan;
    const [rows, cols] = this.pre.shape;
    const [origRows, origCols] = this.pre.originalShape;
    const canvasPixels = this.canvasPixels;
    const keepPixels = (keep[2] - keep[0]) * (keep[3] - keep[1]);
    const logits = new Float32Array(numClasses * keepPixels);
    let n = 0;
    for (let y = keep[0]; y < keep[2]; y++) {
      for (let x = keep[1]; x < keep[3]; x++, n++) {
        const p = (y - region[0]) * canvas[1] + (x - region[1]);
        const w = this.weight(job, p);
        for (let c = 0; c < numClasses; c++) logits[c * keepPixels + n] = job.acc[c * canvasPixels + p]! / w;
      }
    }
    softmaxChannels(logits, numClasses, keepPixels);
    const probs = new Float32Array(numClasses * rows * cols);
    probs.fill(1, 0, rows * cols);
    n = 0;
    for (let y = keep[0]; y < keep[2]; y++) {
      for (let x = keep[1]; x < keep[3]; x++, n++) {
        for (let c = 0; c < numClasses; c++)
          probs[c * rows * cols + y * cols + x] = logits[c * keepPixels + n]!;
      }
    }
    const back = resampleProbabilities(probs, numClasses, [rows, cols], [origRows, origCols]);
    if (counter)
      for (let p = 0; p < this.plane; p++) labels[p] = counter.addScores(back, this.plane, p, null);
    else argmaxChannels(back, numClasses, this.plane, labels);
  }
}

/** The SAM embeddings of the slices to run: the encoder on every n-th slice, interpolated between. */
async function openEmbeddings(
  model: LoadedModel,
  pre: Preprocessor,
  stride: number,
  todo: number[],
  turns: Turns | null,
  options: PredictOptions,
): Promise<InterpolatedEmbeddings> {
  const started = performance.now();
  const encoder = await model.encoderSession();
  if (!encoder) throw new Error('model needs an encoder but none was located');
  const embedder = Embedder.over(model.info.encoder, encoder, options.cache);
  const inputSlices = model.plan.network.inputSlices;
  const [rows, cols] = pre.shape;
  const embedSlice = (k: number) =>
    inTurn(turns, () => embedder.embed(middleSlice(pre.input(k, inputSlices), inputSlices), rows, cols));
  const embeddings = new InterpolatedEmbeddings(embedSlice, stride, todo[0]!, todo[todo.length - 1]!);
  addTime(options.timings, 'load', started);
  return embeddings;
}

function addTime(timings: PredictTimings | undefined, key: keyof PredictTimings, since: number): void {
  if (timings) timings[key] += (performance.now() - since) / 1000;
}
