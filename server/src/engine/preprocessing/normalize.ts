/**
 * Intensity normalization (nnU-Net's schemes), applied to the whole volume before in-plane resampling:
 * - CTNormalization: clip to the 0.5 / 99.5 percentiles of the labelled foreground of the training data,
 *   then z-score with that foreground's mean and std (all stored in the plan, so inference uses them too);
 * - ZScoreNormalization (MR and everything else): z-score with the mean and std of the image itself.
 */
import type { Volume } from '../../volume/index.js';
import { meanStd } from '../numeric.js';
import type { Normalization } from '../planning/plan.js';

export interface IntensityTransform {
  /** value -> normalized value */
  scale: number;
  offset: number;
  clip: [number, number] | null;
}

/** The per-volume affine map x -> clip(x) * scale + offset that the plan's scheme prescribes. */
export function intensityTransform(volume: Volume, normalization: Normalization): IntensityTransform {
  if (normalization.scheme === 'CTNormalization') {
    const std = Math.max(normalization.std, 1e-8);
    return {
      scale: 1 / std,
      offset: -normalization.mean / std,
      clip: [normalization.lower, normalization.upper],
    };
  }
  const { mean, std } = meanStd(volume.data);
  const s = Math.max(std, 1e-8);
  return { scale: 1 / s, offset: -mean / s, clip: null };
}

export function normalizeInto(
  src: ArrayLike<number>,
  start: number,
  count: number,
  t: IntensityTransform,
  out: Float32Array,
): Float32Array {
  const [lo, hi] = t.clip ?? [-Infinity, Infinity];
  for (let n = 0; n < count; n++) {
    let v = src[start + n]!;
    if (v < lo) v = lo;
    else if (v > hi) v = hi;
    out[n] = v * t.scale + t.offset;
  }
  return out;
}
