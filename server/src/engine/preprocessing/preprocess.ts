/**
 * The one preprocessing path shared by training and inference: normalize (per the plan), then resample each
 * slice in-plane to the plan's target spacing. Slices are produced on demand so a long CT series never sits
 * in memory twice.
 */
import type { Volume } from '../../volume/types.js';
import { inPlaneShape, inPlaneSpacing } from '../planning/fingerprint.js';
import type { Plan } from '../planning/plan.js';
import { intensityTransform, normalizeInto, type IntensityTransform } from './normalize.js';
import { resampleImage, resampleLabels, resampledShape, type Shape2 } from './resample.js';

export interface Preprocessor {
  /** Slice shape after resampling, [rows, cols] */
  shape: Shape2;
  /** Slice shape of the input volume, [rows, cols] */
  originalShape: Shape2;
  sliceCount: number;
  transform: IntensityTransform;
  /** Preprocessed slice k (float32, row-major rows x cols). */
  slice(k: number): Float32Array;
  /** Labels of slice k resampled to the preprocessed grid. */
  labels(labels: Volume, k: number): Uint8Array;
}

export function createPreprocessor(volume: Volume, plan: Plan): Preprocessor {
  const originalShape = inPlaneShape(volume);
  const spacing = inPlaneSpacing(volume);
  const shape = resampledShape(originalShape, spacing, plan.targetSpacing as [number, number]);
  const transform = intensityTransform(volume, plan.normalization);
  const plane = originalShape[0] * originalShape[1];
  return {
    shape,
    originalShape,
    sliceCount: volume.geometry.dims[2],
    transform,
    slice(k: number): Float32Array {
      const normalized = normalizeInto(volume.data, k * plane, plane, transform, new Float32Array(plane));
      return resampleImage(normalized, originalShape, shape);
    },
    labels(labels: Volume, k: number): Uint8Array {
      const src = new Uint8Array(plane);
      for (let n = 0; n < plane; n++) src[n] = labels.data[k * plane + n]!;
      return resampleLabels(src, originalShape, shape);
    },
  };
}
