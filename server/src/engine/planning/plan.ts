/**
 * The plan: nnU-Net's 2D configuration for the labelled slices, plus where the SAM embedding enters.
 *
 * Ported from nnU-Net v2 (ExperimentPlanner.get_plans_for_configuration and get_pool_and_conv_props):
 * target spacing = median in-plane spacing; patch size starts from the median resampled shape and is padded to
 * a multiple of 2^pools; the topology pools an axis while its feature map stays >= 8 (bottleneck about 4x4),
 * with 32 features doubling to 512. The batch size comes from a compute budget:
 *   - cuda: nnU-Net's VRAM rule (reference 85e6 "feature-map units" at batch 12 for 8 GB);
 *   - cpu: about one second per iteration: capacity = cores x CPU_UNITS_PER_CORE units per iteration
 *     (measured here: nnU-Net's 256x224 ACDC network runs batch 2 in ~0.6 s on 2 cores).
 * The patch starts from the whole median slice (GPU, nnU-Net) or half its area (CPU, PatchRule) and shrinks
 * until the rule's minimum batch (2 GPU, 4 CPU) fits; nnU-Net's 5 % rule caps the batch at 5 % of the
 * labelled pixels (which, with a few labelled slices, almost always leaves the minimum).
 *
 * Embedding stage rule: the decoder stage whose grid (median shape / cumulative stride) is closest to the
 * 64x64 SAM grid, in summed |log2| ratio over both axes (ties go to the coarser stage).
 */
import { z } from 'zod';

import { NnsamError } from '../../util/errors.js';
import { median } from '../numeric.js';
import { resampledShape } from '../preprocessing/resample.js';
import type { ClassMap, TrainingCase } from '../types.js';
import { EMBEDDING_CHANNELS, EMBEDDING_GRID, IGNORE_VALUE } from '../types.js';
import { checkSomethingLabelled, computeFingerprint, validateCase, type Fingerprint } from './fingerprint.js';

export const UNET_BASE_FEATURES = 32;
export const UNET_MAX_FEATURES_2D = 512;
/** Network width on CPU: half nnU-Net's, so a wall-clock budget buys ~3x the iterations (docs/benchmarks.md). */
export const CPU_UNET_WIDTH: NetworkWidth = { base: 16, max: 256 };
export const GPU_UNET_WIDTH: NetworkWidth = { base: UNET_BASE_FEATURES, max: UNET_MAX_FEATURES_2D };

export interface NetworkWidth {
  /** features of the first stage, doubling per stage */
  base: number;
  /** cap on the features of any stage */
  max: number;
}
export const FEATUREMAP_MIN_EDGE = 4;
export const REFERENCE_2D = 85_000_000;
export const REFERENCE_GB = 8;
export const REFERENCE_BATCH_2D = 12;
export const MIN_BATCH = 2;
export const MAX_DATASET_COVERED = 0.05;
/** Feature-map units one CPU core processes per training iteration at about 1 s/iteration (measured). */
export const CPU_UNITS_PER_CORE = 30_000_000;

/**
 * How the patch and batch are chosen. nnU-Net (GPU) starts from the whole median slice at nnU-Net's minimum
 * batch of 2. On CPU the patch covers about half the median slice's area at a batch of at least 4: measured on
 * ACDC (20 slices, 5 CPU minutes), 160x160 at batch 4 scored 0.709 mean Dice against 0.582 for the whole-slice
 * 256x224 at batch 2 with the same augmentation, for about the same pixels per iteration (docs/benchmarks.md).
 */
export interface PatchRule {
  /** patch area as a fraction of the median slice's area; null = the whole median slice (nnU-Net) */
  areaFraction: number | null;
  /** the smallest batch: the patch shrinks until this many fit the budget */
  minBatch: number;
}
export const GPU_PATCH_RULE: PatchRule = { areaFraction: null, minBatch: MIN_BATCH };
export const CPU_PATCH_RULE: PatchRule = { areaFraction: 0.5, minBatch: 4 };

const Vec2 = z.tuple([z.number(), z.number()]);
const Int2 = z.tuple([z.number().int(), z.number().int()]);

export const EncoderRefSchema = z.object({
  /** `none` or `<name>:<first 16 hex of the ONNX file's sha256>` */
  id: z.string(),
  kind: z.enum(['none', 'onnx']),
  name: z.string(),
  source: z.enum(['none', 'mobilesam', 'file']),
  sha256: z.string().nullable(),
  /** Where the ONNX file was found when the model was trained (a hint for predict, not a requirement). */
  path: z.string().nullable(),
});
export type EncoderRef = z.infer<typeof EncoderRefSchema>;

export const NONE_ENCODER: EncoderRef = {
  id: 'none',
  kind: 'none',
  name: 'none',
  source: 'none',
  sha256: null,
  path: null,
};

export const NetworkPlanSchema = z.object({
  patchSize: Int2,
  batchSize: z.number().int().positive(),
  numStages: z.number().int().positive(),
  featuresPerStage: z.array(z.number().int()),
  kernelSizes: z.array(Int2),
  strides: z.array(Int2),
  nConvEncoder: z.array(z.number().int()),
  nConvDecoder: z.array(z.number().int()),
  /** input sizes must be multiples of this (2^pools per axis) */
  divisibleBy: Int2,
  /**
   * Slices the network sees at once, as input channels: 1 (2D), or 2n + 1 = the slice and n neighbours each
   * side (2.5D; at a volume's ends the end slice repeats). 1 unless set by hand (`--set network.inputSlices=3`):
   * measured, 2.5D cost 0.045 / 0.240 mean Dice on ACDC (20 / 4 slices, 10 mm apart) and changed nothing on a
   * near-isotropic CT (0.954 vs 0.955; docs/benchmarks.md, 2026-12-05).
   */
  inputSlices: z
    .number()
    .int()
    .min(1)
    .refine((v) => v % 2 === 1, 'must be odd: the slice and as many neighbours on each side')
    .default(1),
});
export type NetworkPlan = z.infer<typeof NetworkPlanSchema>;

export const NormalizationSchema = z.discriminatedUnion('scheme', [
  z.object({
    scheme: z.literal('CTNormalization'),
    lower: z.number(),
    upper: z.number(),
    mean: z.number(),
    std: z.number(),
  }),
  z.object({ scheme: z.literal('ZScoreNormalization') }),
]);
export type Normalization = z.infer<typeof NormalizationSchema>;

export const PlanSchema = z.object({
  version: z.literal(1),
  /** All 2D arrays below are [rows, cols] (numpy [H, W]); rows = j, cols = i of the volume. */
  axes: z.literal('rows,cols'),
  modality: z.string(),
  classes: z.record(z.string(), z.string()),
  numClasses: z.number().int().min(2),
  ignoreValue: z.literal(IGNORE_VALUE),
  targetSpacing: Vec2,
  medianShape: Vec2,
  normalization: NormalizationSchema,
  resampling: z.object({
    image: z.literal('cubic'),
    labels: z.literal('linear-onehot'),
    probabilities: z.literal('linear'),
  }),
  network: NetworkPlanSchema,
  encoder: EncoderRefSchema,
  embedding: z
    .object({
      encoder: z.string(),
      channels: z.number().int().positive(),
      grid: Int2,
      stage: z.number().int().min(0),
      stride: Int2,
      rule: z.string(),
    })
    .nullable(),
  budget: z.object({
    device: z.enum(['cpu', 'cuda']),
    cores: z.number().int().positive(),
    gpuMemoryGb: z.number().nullable(),
    unitsPerSample: z.number(),
    capacity: z.number(),
    rule: z.string(),
  }),
  training: z.object({
    initialLr: z.number(),
    weightDecay: z.number(),
    momentum: z.number(),
    optimizer: z.enum(['AdamW', 'SGD-nesterov']),
    schedule: z.literal('poly-0.9'),
    /** Autocast precision of the training step: auto = fp16 on CUDA, bf16 on CPUs with native bf16, else fp32 */
    precision: z.enum(['auto', 'fp32', 'bf16', 'fp16']).default('auto'),
    oversampleForeground: z.number(),
    augmentation: z.object({
      pRotation: z.number(),
      pScaling: z.number(),
      scaling: Vec2,
      pMirror: z.number(),
      /** Smooth random deformation: probability and displacement (fraction of the patch side) */
      pElastic: z.number().min(0).max(1).default(0),
      elasticMagnitude: z.number().min(0).default(0.03),
      intensity: z.literal('nnU-Net default (batchgeneratorsv2)'),
    }),
    validationSlices: z.number().int().min(0),
    /** Mean teacher on the unlabelled slices of the training series (trainer: semi_supervised.py) */
    semiSupervised: z.object({
      enabled: z.boolean(),
      threshold: z.number().min(0).max(1),
      emaDecay: z.number().min(0).max(1),
      weight: z.number().min(0),
      rampFraction: z.number().min(0).max(1),
      cutout: z.number().min(0).max(1),
      /** Per-class thresholds and a class-balanced loss (plans before it: one threshold, pixel-mean loss) */
      classBalanced: z.boolean().default(false),
      /** The lowest per-class threshold */
      minThreshold: z.number().min(0).max(1).default(0.6),
      /** Unlabelled slices sent to the trainer at most (evenly spaced over the series) */
      maxUnlabelledSlices: z.number().int().min(0),
    }),
    /** Pseudo-label rounds on the unlabelled slices (trainer: self_training.py) */
    selfTraining: z
      .object({
        enabled: z.boolean(),
        /** fractions of the budget at which the unlabelled slices are pseudo-labelled */
        at: z.array(z.number().min(0).max(1)),
        threshold: z.number().min(0).max(1),
        /** share of each batch drawn from the pseudo-labelled slices */
        share: z.number().min(0).max(1),
        tta: z.boolean(),
      })
      .default({ enabled: false, at: [0.5], threshold: 0.8, share: 0.5, tta: true }),
  }),
  inference: z.object({
    tileStep: z.number(),
    gaussianSigmaScale: z.number(),
    mirrorAxes: z.array(z.number().int()),
    /** Mirror test-time augmentation; null = the device's default (inference/tta.ts) */
    tta: z.boolean().nullable().default(null),
    /**
     * Also export an int8 network, quantized on training slices, which CPU inference runs by default (plans
     * before 2026-12-06 lack the field: no int8 network, float32)
     */
    int8: z.boolean().default(false),
    /**
     * Post-processing of every class: its 3D components smaller than this fraction of its largest one are
     * removed (0: none; plans from before it read 0, so their models segment as they did)
     */
    minComponentFraction: z.number().min(0).max(1).default(0),
  }),
  fingerprint: z.object({
    cases: z.number().int(),
    labelledSlices: z.number().int(),
    slicesPerCase: z.array(z.number().int()),
    spacings: z.array(Vec2),
    shapes: z.array(Int2),
    foreground: z
      .object({
        count: z.number(),
        mean: z.number(),
        std: z.number(),
        percentile00_5: z.number(),
        percentile99_5: z.number(),
        min: z.number(),
        max: z.number(),
      })
      .nullable(),
  }),
  warnings: z.array(z.string()),
  /** Values set by hand (`nnsam train --set path=value`, planning/overrides.ts), as path=JSON */
  overrides: z.array(z.string()).default([]),
});
export type Plan = z.infer<typeof PlanSchema>;

export interface PlanOptions {
  classes: ClassMap;
  /** DICOM modality (or the manifest's). CT gets CT normalization; anything else per-image z-score. */
  modality?: string;
  encoder?: EncoderRef;
  device?: 'cpu' | 'cuda';
  /** CPU cores the trainer will use (default: all) */
  cores?: number;
  /** GPU memory target in GB (nnU-Net's default 8) */
  gpuMemoryGb?: number;
  /** Held-out labelled slices for early stopping and post-processing; 'auto' = autoValidationSlices (none below 40) */
  validationSlices?: number | 'auto';
  /** Learn from the unlabelled slices too (default SEMI_SUPERVISED_BY_DEFAULT) */
  semiSupervised?: boolean;
  warnings?: string[];
}

// ---------------------------------------------------------------------------------------------------------
// nnU-Net topology (get_pool_and_conv_props), for two axes

export interface Topology {
  numPoolPerAxis: [number, number];
  strides: [number, number][];
  kernelSizes: [number, number][];
  patchSize: [number, number];
  divisibleBy: [number, number];
}

export function padShape(shape: number[], divisible: number[]): [number, number] {
  return shape.map((s, i) => {
    const d = divisible[i]!;
    return Math.trunc(s % d === 0 ? s : s + d - (s % d));
  }) as [number, number];
}

export function poolAndConvProps(
  spacing: number[],
  patch: number[],
  minEdge = FEATUREMAP_MIN_EDGE,
): Topology {
  const dim = spacing.length;
  const currentSpacing = [...spacing];
  const currentSize = [...patch];
  const strides: [number, number][] = [[1, 1]];
  const kernelSizes: [number, number][] = [];
  const numPool = [0, 0];
  const kernel = [1, 1];
  for (;;) {
    let valid = [...Array(dim).keys()].filter((i) => currentSize[i]! >= 2 * minEdge);
    if (valid.length < 1) break;
    const minSpacing = Math.min(...valid.map((i) => currentSpacing[i]!));
    valid = valid.filter((i) => currentSpacing[i]! / minSpacing < 2);
    if (valid.length === 1 && currentSize[valid[0]!]! < 3 * minEdge) break;
    if (valid.length < 1) break;
    for (let d = 0; d < dim; d++) {
      if (kernel[d] !== 3 && currentSpacing[d]! / Math.min(...currentSpacing) < 2) kernel[d] = 3;
    }
    const stride = [1, 1];
    for (const v of valid) {
      stride[v] = 2;
      numPool[v]!++;
      currentSpacing[v]! *= 2;
      currentSize[v] = Math.ceil(currentSize[v]! / 2);
    }
    strides.push(stride as [number, number]);
    kernelSizes.push([...kernel] as [number, number]);
  }
  const divisibleBy = numPool.map((n) => 2 ** n) as [number, number];
  kernelSizes.push([3, 3]);
  return {
    numPoolPerAxis: numPool as [number, number],
    strides,
    kernelSizes,
    patchSize: padShape(patch, divisibleBy),
    divisibleBy,
  };
}

/** nnU-Net's compute_conv_feature_map_size for PlainConvUNet (the planner's memory/compute proxy). */
export function featureMapUnits(
  patch: number[],
  strides: number[][],
  features: number[],
  nConvEncoder: number[],
  nConvDecoder: number[],
  numClasses: number,
): number {
  const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);
  let size = [...patch];
  let out = 0;
  const skipSizes: number[][] = [];
  for (let s = 0; s < strides.length; s++) {
    size = size.map((v, a) => Math.floor(v / strides[s]![a]!));
    out += nConvEncoder[s]! * features[s]! * prod(size);
    if (s < strides.length - 1) skipSizes.push(size);
  }
  const n = strides.length;
  for (let s = 0; s < n - 1; s++) {
    const sz = prod(skipSizes[n - 2 - s]!);
    const f = features[n - 2 - s]!;
    out += nConvDecoder[s]! * f * sz + f * sz + numClasses * sz;
  }
  return out;
}

function networkFor(topology: Topology, batchSize: number, width: NetworkWidth): NetworkPlan {
  const n = topology.strides.length;
  return {
    patchSize: topology.patchSize,
    batchSize,
    numStages: n,
    featuresPerStage: [...Array(n).keys()].map((i) => Math.min(width.max, width.base * 2 ** i)),
    kernelSizes: topology.kernelSizes,
    strides: topology.strides,
    nConvEncoder: Array(n).fill(2),
    nConvDecoder: Array(n - 1).fill(2),
    divisibleBy: topology.divisibleBy,
    inputSlices: 1,
  };
}

function unitsOf(net: NetworkPlan, numClasses: number): number {
  return featureMapUnits(
    net.patchSize,
    net.strides,
    net.featuresPerStage,
    net.nConvEncoder,
    net.nConvDecoder,
    numClasses,
  );
}

/**
 * nnU-Net's 2D network configuration under a compute budget: `capacity` is what one iteration may cost in
 * feature-map units (nnU-Net: 85e6 x batch 12 per 8 GB); `round` rounds the batch to nearest (nnU-Net's GPU
 * rule) rather than down (CPU).
 */
export function planNetwork(
  spacing: [number, number],
  medianShape: [number, number],
  numClasses: number,
  budget: { capacity: number; round: boolean },
  labelledPixels: number,
  width: NetworkWidth = GPU_UNET_WIDTH,
  rule: PatchRule = GPU_PATCH_RULE,
): { network: NetworkPlan; units: number } {
  const tmp = spacing.map((s) => 1 / s);
  // nnU-Net's initial patch: shaped by the spacing, as large as the median slice (2048^2 caps nothing here)
  const area = rule.areaFraction === null ? 2048 ** 2 : rule.areaFraction * medianShape[0] * medianShape[1];
  const scale = Math.sqrt(area / (tmp[0]! * tmp[1]!));
  let patch = tmp.map((t, a) => Math.min(Math.round(t * scale), medianShape[a]!));
  let topo = poolAndConvProps(spacing, patch);
  if (rule.areaFraction !== null) topo = nearestDivisiblePatch(spacing, patch, topo);
  let net = networkFor(topo, rule.minBatch, width);
  let units = unitsOf(net, numClasses);
  while (rule.minBatch * units > budget.capacity) {
    // reduce the axis that is largest relative to the median shape (nnU-Net's rule)
    const ratios = topo.patchSize.map((p, a) => p / medianShape[a]!);
    const axis = ratios[1]! >= ratios[0]! ? 1 : 0;
    patch = [...topo.patchSize];
    const trial = [...patch];
    trial[axis]! -= topo.divisibleBy[axis]!;
    const div = poolAndConvProps(spacing, trial).divisibleBy;
    patch[axis]! -= div[axis]!;
    if (patch[axis]! < 2 * FEATUREMAP_MIN_EDGE) break;
    topo = poolAndConvProps(spacing, patch);
    net = networkFor(topo, rule.minBatch, width);
    units = unitsOf(net, numClasses);
  }
  let batch = budget.round ? Math.round(budget.capacity / units) : Math.floor(budget.capacity / units);
  const patchPixels = net.patchSize[0] * net.patchSize[1];
  const cap = Math.round((labelledPixels * MAX_DATASET_COVERED) / patchPixels);
  batch = Math.max(Math.min(batch, cap), rule.minBatch);
  return { network: { ...net, batchSize: batch }, units };
}

/**
 * A fractional patch rounded to the nearest multiple of the divisibility per axis instead of up (nnU-Net pads
 * up, which would turn half the slice's area into most of it: 165 -> 192 where 160 is nearer).
 */
function nearestDivisiblePatch(spacing: [number, number], patch: number[], padded: Topology): Topology {
  const nearest = patch.map((p, a) => {
    const d = padded.divisibleBy[a]!;
    const down = Math.floor(p / d) * d;
    return down >= 2 * FEATUREMAP_MIN_EDGE && p - down < padded.patchSize[a]! - p
      ? down
      : padded.patchSize[a]!;
  });
  return poolAndConvProps(spacing, nearest);
}

/** Cumulative stride [rows, cols] of every encoder stage. */
export function stageStrides(network: NetworkPlan): [number, number][] {
  const out: [number, number][] = [];
  let sy = 1;
  let sx = 1;
  for (const [a, b] of network.strides) {
    sy *= a;
    sx *= b;
    out.push([sy, sx]);
  }
  return out;
}

export function chooseEmbeddingStage(network: NetworkPlan, medianShape: [number, number]): number {
  const strides = stageStrides(network);
  let best = 0;
  let bestCost = Infinity;
  // decoder stages only: every stage but the bottleneck has a skip connection
  for (let e = 0; e < network.numStages - 1; e++) {
    const [sy, sx] = strides[e]!;
    const cost =
      Math.abs(Math.log2(medianShape[0] / sy / EMBEDDING_GRID)) +
      Math.abs(Math.log2(medianShape[1] / sx / EMBEDDING_GRID));
    if (cost <= bestCost + 1e-9) {
      best = e;
      bestCost = cost;
    }
  }
  return best;
}

/**
 * Off by default: measured on ACDC (20 slices, draw 0, 5 CPU minutes; docs/benchmarks.md) the mean teacher
 * halves the iterations the budget buys (338 vs 739) and scored 0.347 mean Dice against 0.508 without it.
 * `nnsam train --unlabelled` switches it on; the parameters below are the ones measured.
 */
export const SEMI_SUPERVISED_BY_DEFAULT = false;
export const SPATIAL_AUGMENTATION_P = 0.5;
export const SEMI_SUPERVISED_DEFAULTS = {
  threshold: 0.9,
  emaDecay: 0.99,
  weight: 1,
  rampFraction: 0.3,
  cutout: 0.4,
  classBalanced: true,
  minThreshold: 0.6,
  maxUnlabelledSlices: 400,
};

/**
 * Labelled slices from which an eighth is held out for validation (best checkpoint, early stopping and the
 * post-processing decision). Below it every labelled slice trains and no component is removed (train.ts):
 * on ACDC with 20 slices in 10 CPU minutes, holding 2 out cost 0.05 mean Dice (0.788 vs 0.738,
 * docs/benchmarks.md), because 2 slices pick a noisy checkpoint and stop early. 40 is a judgement,
 * not a measurement: there an eighth is 5 slices and the 35 left are past the few-shot regime.
 */
export const MIN_LABELLED_FOR_VALIDATION = 40;

/**
 * Components of a class smaller than this fraction of its largest one are removed after inference, with or
 * without held-out slices. Measured on 19 ACDC models (4 and 20 labelled slices, docs/benchmarks.md), from
 * 0.05 to 1 (largest only): 0.2 raised mean Dice in every one (+0.009 to +0.062, mean +0.026), where keeping
 * only the largest lowered two (-0.022, -0.013) and would delete one of two kidneys or lungs. Held-out slices,
 * where there are enough, may still choose the largest component alone (train.ts).
 */
export const MIN_COMPONENT_FRACTION = 0.2;

export function autoValidationSlices(labelled: number): number {
  return labelled >= MIN_LABELLED_FOR_VALIDATION ? Math.floor(labelled / 8) : 0;
}

/**
 * nnU-Net's planning for the labelled slices, step by step: check the input, fingerprint it, pick the target
 * spacing and median shape, the normalization, the network within the compute budget, where the SAM embedding
 * enters, and how many slices validate; training and inference settings are the defaults below.
 */
export function planFromCases(cases: TrainingCase[], options: PlanOptions): Plan {
  const numClasses = checkPlanInput(cases, options);
  const fingerprint: Fingerprint = computeFingerprint(cases);
  const warnings = [...(options.warnings ?? [])];
  const { targetSpacing, medianShape } = spacingAndShape(fingerprint);
  const modality = (options.modality ?? 'other').toUpperCase();
  const normalization = chooseNormalization(modality, fingerprint);
  const device = options.device ?? 'cpu';
  const cores = Math.max(1, options.cores ?? 1);
  const gpuMemoryGb = device === 'cuda' ? (options.gpuMemoryGb ?? REFERENCE_GB) : null;
  const budget =
    device === 'cuda'
      ? { capacity: REFERENCE_2D * REFERENCE_BATCH_2D * (gpuMemoryGb! / REFERENCE_GB), round: true }
      : { capacity: cores * CPU_UNITS_PER_CORE, round: false };
  const labelledPixels = fingerprint.labelledSlices * medianShape[0] * medianShape[1];
  const { network, units } = planNetwork(
    targetSpacing,
    medianShape,
    numClasses,
    budget,
    labelledPixels,
    device === 'cuda' ? GPU_UNET_WIDTH : CPU_UNET_WIDTH,
    device === 'cuda' ? GPU_PATCH_RULE : CPU_PATCH_RULE,
  );
  if (network.patchSize[0] < medianShape[0] || network.patchSize[1] < medianShape[1]) {
    warnings.push(
      `The patch (${network.patchSize.join('x')}) is smaller than the median slice (${medianShape.join('x')}): ` +
        'the compute budget limits it; inference uses a sliding window.',
    );
  }
  const encoder = options.encoder ?? NONE_ENCODER;
  return {
    version: 1,
    axes: 'rows,cols',
    modality,
    classes: options.classes,
    numClasses,
    ignoreValue: IGNORE_VALUE,
    targetSpacing,
    medianShape,
    normalization,
    resampling: { image: 'cubic', labels: 'linear-onehot', probabilities: 'linear' },
    network,
    encoder,
    embedding: embeddingPlan(encoder, network, medianShape),
    budget: {
      device,
      cores,
      gpuMemoryGb,
      unitsPerSample: units,
      capacity: budget.capacity,
      rule:
        device === 'cuda'
          ? `nnU-Net VRAM rule: ${REFERENCE_2D.toExponential(2)} units at batch ${REFERENCE_BATCH_2D} per ${REFERENCE_GB} GB`
          : `CPU: ${CPU_UNITS_PER_CORE.toExponential(1)} units per core per iteration (~1 s/iteration)`,
    },
    training: trainingPlan(validationSlicesFor(fingerprint.labelledSlices, options, warnings), options),
    inference: inferencePlan(),
    fingerprint,
    warnings,
    overrides: [],
  };
}

/** Cases and classes a plan can be made of, else a clear error; the number of label channels. */
function checkPlanInput(cases: TrainingCase[], options: PlanOptions): number {
  if (cases.length === 0) {
    throw new NnsamError('no_training_cases', 'No training cases were given', {
      hint: 'Give at least one volume with a few labelled slices.',
    });
  }
  const classValues = Object.keys(options.classes);
  if (classValues.length === 0 || classValues.some((k) => !/^\d+$/.test(k) || +k < 1 || +k > 254)) {
    throw new NnsamError(
      'bad_classes',
      `Classes must be keyed by label values 1..254, got [${classValues}]`,
      {
        hint: 'Example: {"1": "liver", "2": "tumour"}',
      },
    );
  }
  cases.forEach((c, n) => validateCase(c, n, options.classes));
  checkSomethingLabelled(cases);
  return Math.max(...classValues.map(Number)) + 1;
}

/** nnU-Net's target spacing (median per axis) and the median slice shape after resampling to it. */
function spacingAndShape(fingerprint: Fingerprint): {
  targetSpacing: [number, number];
  medianShape: [number, number];
} {
  const targetSpacing: [number, number] = [
    median(fingerprint.spacings.map((s) => s[0])),
    median(fingerprint.spacings.map((s) => s[1])),
  ];
  const newShapes = fingerprint.shapes.map((s, n) =>
    resampledShape(s, fingerprint.spacings[n]!, targetSpacing),
  );
  const medianShape: [number, number] = [
    median(newShapes.map((s) => s[0])),
    median(newShapes.map((s) => s[1])),
  ];
  return { targetSpacing, medianShape };
}

/** CT: clip to the labelled foreground's 0.5..99.5 percentiles and z-score with its statistics; else z-score. */
function chooseNormalization(modality: string, fingerprint: Fingerprint): Normalization {
  if (modality !== 'CT') return { scheme: 'ZScoreNormalization' };
  const fg = fingerprint.foreground;
  if (!fg) {
    throw new NnsamError(
      'no_foreground',
      'CT normalization needs labelled foreground pixels; none were found',
      {
        hint: 'Label at least one structure on the listed slices.',
      },
    );
  }
  return {
    scheme: 'CTNormalization',
    lower: fg.percentile00_5,
    upper: fg.percentile99_5,
    mean: fg.mean,
    std: fg.std,
  };
}

/** Where the SAM embedding enters the decoder (null without an encoder). */
function embeddingPlan(
  encoder: EncoderRef,
  network: Plan['network'],
  medianShape: [number, number],
): Plan['embedding'] {
  if (encoder.kind === 'none') return null;
  const stage = chooseEmbeddingStage(network, medianShape);
  return {
    encoder: encoder.id,
    channels: EMBEDDING_CHANNELS,
    grid: [EMBEDDING_GRID, EMBEDDING_GRID],
    stage,
    stride: stageStrides(network)[stage]!,
    rule: 'decoder stage whose grid (median shape / stride) is closest to 64x64 in summed |log2| ratio',
  };
}

/** Labelled slices held out for validation: asked for or automatic, never all of them (then none, warned). */
function validationSlicesFor(labelled: number, options: PlanOptions, warnings: string[]): number {
  const asked =
    options.validationSlices === undefined || options.validationSlices === 'auto'
      ? autoValidationSlices(labelled)
      : options.validationSlices;
  if (asked < labelled) return asked;
  warnings.push(`Only ${labelled} labelled slices: none is held out for validation.`);
  return 0;
}

/** The training defaults (one source: plan.json carries them to the trainer). */
function trainingPlan(validationSlices: number, options: PlanOptions): Plan['training'] {
  return {
    // AdamW 1e-3 instead of nnU-Net's SGD (lr 0.01, Nesterov momentum 0.99): measured on 8 ACDC slices,
    // SGD still predicted background only after 200 iterations (Dice 0.00) where AdamW reached 0.34
    // (docs/engine.md). Budgets on CPU are a few hundred iterations, not nnU-Net's 250 000.
    initialLr: 1e-3,
    weightDecay: 3e-5,
    momentum: 0.99,
    optimizer: 'AdamW',
    schedule: 'poly-0.9',
    precision: 'auto',
    oversampleForeground: 0.33,
    augmentation: {
      // nnU-Net's 0.2 is tuned for hundreds of thousands of iterations over full data sets; with a few
      // labelled slices, p 0.5 scored 0.582/0.672 against 0.508/0.510 (ACDC, 20 slices, draws 0/1); always
      // on with wider scaling scored 0.496 (docs/benchmarks.md)
      pRotation: SPATIAL_AUGMENTATION_P,
      pScaling: SPATIAL_AUGMENTATION_P,
      scaling: [0.7, 1.4],
      pMirror: 0.5,
      pElastic: 0,
      elasticMagnitude: 0.03,
      intensity: 'nnU-Net default (batchgeneratorsv2)',
    },
    validationSlices,
    semiSupervised: {
      enabled: options.semiSupervised ?? SEMI_SUPERVISED_BY_DEFAULT,
      ...SEMI_SUPERVISED_DEFAULTS,
    },
    selfTraining: { enabled: false, at: [0.5], threshold: 0.8, share: 0.5, tta: true },
  };
}

/**
 * The inference defaults: nnU-Net's half-overlapping Gaussian window; mirror TTA per device (null); an int8
 * network for CPUs (within the precision rule on ACDC, docs/benchmarks.md 2026-12-06 evening).
 */
function inferencePlan(): Plan['inference'] {
  return {
    tileStep: 0.5,
    gaussianSigmaScale: 1 / 8,
    mirrorAxes: [0, 1],
    tta: null,
    int8: true,
    minComponentFraction: MIN_COMPONENT_FRACTION,
  };
}
