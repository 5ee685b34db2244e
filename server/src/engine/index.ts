/**
 * The nnSAM engine's public API (used by the CLI and the HTTP server): plan, train, load, predict.
 * Volumes are in memory (Volume from ../volume); NIfTI and DICOM readers live elsewhere.
 */
export { planFromCases, PlanSchema, type Plan, type PlanOptions, type EncoderRef } from './planning/plan.js';
export { parsePlanOverride, type PlanOverride } from './planning/overrides.js';
export { loadManifestCases, readManifest, type Manifest } from './manifest.js';
export { validateCase } from './planning/fingerprint.js';
export { networkMacs, type NetworkMacs, type StageMacs } from './planning/cost.js';
export { trainModel, type TrainModelOptions, type TrainedModel } from './training/train.js';
export {
  loadModel,
  LoadedModel,
  ModelInfoSchema,
  type ModelInfo,
  type LoadModelOptions,
  type Precision,
} from './model.js';
export {
  predictVolume,
  segmentVolume,
  emptyPredictTimings,
  type InferenceRun,
  type PredictOptions,
  type PredictTimings,
} from './inference/predict.js';
export { resolveTta, ttaFromSetting, TTA_BY_DEVICE, type TtaSetting } from './inference/tta.js';
export {
  AMBIGUOUS_RATIO,
  everySlice,
  leastCertainSlices,
  MIN_AMBIGUOUS_PIXELS,
  UNCERTAINTY_RULE,
  type SliceUncertainty,
} from './inference/uncertainty.js';
export { DEFAULT_MAX_PIXELS, inferenceLayout, type Layout } from './inference/layout.js';
export { sessionOptions } from './onnx.js';
export { Embedder } from './encoders/embedder.js';
export { ProgressEvent, StageName, type ProgressListener } from './progress.js';
export { resolveEncoder, type EncoderSpec } from './encoders/registry.js';
export { exportMobileSamOnnx, mobileSamStatus } from './encoders/mobilesam.js';
export { EmbeddingCache, defaultCacheDir } from './encoders/cache.js';
export { samInput } from './encoders/sam-input.js';
export { IGNORE_VALUE, type ClassMap, type TrainingCase } from './types.js';
export { trainerEnvironment } from './training/trainer.js';
export { gaussianFrom, seededRandom } from './numeric.js';
