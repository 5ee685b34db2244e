/**
 * The one preprocessing path shared by training and inference: normalize (per the plan), then resample each
 * slice in-plane to the plan's target spacing. Slices are produced on demand so a long CT series never sits
 * in memory twice.
 */
import type { Volume } from '../../volume/index.js';
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
  /**
   * The network's input for slice k with `inputSlices` channels (plan.network.inputSlices): slices
   * k - n .. k + n, each rows x cols, the end slice repeated past either end of the volume. One channel is
   * slice(k) itself. Recently made slices are reused, so walking k in order preprocesses each slice once.
   */
  input(k: number, inputSlices: number): Float32Array;
  /** Labels of slice k resampled to the preprocessed grid. */
  labels(labels: Volume, k: number): Uint8Array;
}

export function createPreprocessor(volume: Volume, plan: Plan): Preprocessor {
  const originalShape = inPlaneShape(volume);
  const spacing = inPlaneSpacing(volume);
  const shape = resampledShape(originalShape, spacing, plan.targetSpacing as [number, number]);
  const transform = intensityTransform(volume, plan.normalization);
  const plane = originalShape[0] * originalShape[1];
  const sliceCount = volume.geometry.dims[2];
  const slice = (k: number): Float32Array => {
    const normalized = normalizeInto(volume.data, k * plane, plane, transform, new Float32Array(plane));
    return resampleImage(normalized, originalShape, shape);
  };
  const recent = new Map<number, Float32Array>(); // slice index -> preprocessed, the last few asked for
  return {
    shape,
    originalShape,
    sliceCount,
    transform,
    slice,
    input(k: number, inputSlices: number): Float32Array {
      if (inputSlices === 1) return slice(k);
      const n = (inputSlices - 1) / 2;
      if (!Number.isInteger(n) || n < 0) throw new Error(`inputSlices must be odd, got ${inputSlices}`);
      const pixels = shape[0] * shape[1];
      const out = new Float32Array(inputSlices * pixels);
      for (let c = 0; c < inputSlices; c++) {
        const j = Math.min(sliceCount - 1, Math.max(0, k - n + c));
        let s = recent.get(j);
        if (!s) {
          s = slice(j);
          recent.set(j, s);
          if (recent.size > 2 * inputSlices) recent.delete(recent.keys().next().value!);
        }
        out.set(s, c * pixels);
      }
      return out;
    },
    labels(labels: Volume, k: number): Uint8Array {
      const src = new Uint8Array(plane);
      for (let n = 0; n < plane; n++) src[n] = labels.data[k * plane + n]!;
      return resampleLabels(src, originalShape, shape);
    },
  };
}

/** Slice k itself out of input(k, inputSlices) (the SAM encoder sees only it). */
export function middleSlice(input: Float32Array, inputSlices: number): Float32Array {
  const pixels = input.length / inputSlices;
  const middle = (inputSlices - 1) / 2;
  return input.subarray(middle * pixels, (middle + 1) * pixels);
}
