/**
 * In-plane resampling of 2D slices (row-major [rows, cols], i.e. index = x + cols * y), all with the
 * half-pixel convention: output pixel o samples input position (o + 0.5) * in / out - 0.5 (scikit-image's
 * resize and torch's align_corners=False). One implementation for training and inference.
 *
 * - images: separable cubic convolution (Keys, a = -0.5), edge-clamped. nnU-Net uses a cubic B-spline
 *   (order 3) here; both are third-order interpolators and the choice only has to be the same for training
 *   and inference, which it is by construction.
 * - labels: linear interpolation of each class's one-hot mask, then the class with the largest weight
 *   (nnU-Net's order-1 label resampling).
 * - probabilities: bilinear per class (nnU-Net resamples softmax outputs with order 1 before argmax).
 */

export type Shape2 = [rows: number, cols: number];

/** nnU-Net's compute_new_shape for one slice: round(old_shape * old_spacing / new_spacing). */
export function resampledShape(shape: Shape2, spacing: [number, number], target: [number, number]): Shape2 {
  return [
    Math.max(1, Math.round((shape[0] * spacing[0]) / target[0])),
    Math.max(1, Math.round((shape[1] * spacing[1]) / target[1])),
  ];
}

function cubicWeight(t: number): number {
  const a = -0.5;
  const x = Math.abs(t);
  if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

/** Taps (indices and weights) of a 1D resampling from n to m samples. */
function taps(
  n: number,
  m: number,
  kind: 'cubic' | 'linear',
): { idx: Int32Array; w: Float64Array; k: number } {
  const k = kind === 'cubic' ? 4 : 2;
  const idx = new Int32Array(m * k);
  const w = new Float64Array(m * k);
  const scale = n / m;
  for (let o = 0; o < m; o++) {
    const pos = (o + 0.5) * scale - 0.5;
    const base = Math.floor(pos);
    const frac = pos - base;
    let sum = 0;
    for (let t = 0; t < k; t++) {
      const i = kind === 'cubic' ? base - 1 + t : base + t;
      const weight = kind === 'cubic' ? cubicWeight(pos - i) : t === 0 ? 1 - frac : frac;
      idx[o * k + t] = Math.min(n - 1, Math.max(0, i));
      w[o * k + t] = weight;
      sum += weight;
    }
    for (let t = 0; t < k; t++) w[o * k + t]! /= sum;
  }
  return { idx, w, k };
}

/** Separable resampling of `channels` planes of size `from` to size `to`. */
export function resamplePlanes(
  src: Float32Array,
  channels: number,
  from: Shape2,
  to: Shape2,
  kind: 'cubic' | 'linear',
): Float32Array {
  const [h, w] = from;
  const [H, W] = to;
  if (h === H && w === W) return src.slice();
  const tx = taps(w, W, kind);
  const ty = taps(h, H, kind);
  const tmp = new Float32Array(h * W);
  const out = new Float32Array(channels * H * W);
  for (let c = 0; c < channels; c++) {
    const plane = c * h * w;
    for (let y = 0; y < h; y++) {
      const row = plane + y * w;
      for (let x = 0; x < W; x++) {
        let v = 0;
        for (let t = 0; t < tx.k; t++) v += src[row + tx.idx[x * tx.k + t]!]! * tx.w[x * tx.k + t]!;
        tmp[y * W + x] = v;
      }
    }
    const outPlane = c * H * W;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        let v = 0;
        for (let t = 0; t < ty.k; t++) v += tmp[ty.idx[y * ty.k + t]! * W + x]! * ty.w[y * ty.k + t]!;
        out[outPlane + y * W + x] = v;
      }
    }
  }
  return out;
}

export function resampleImage(src: Float32Array, from: Shape2, to: Shape2): Float32Array {
  return resamplePlanes(src, 1, from, to, 'cubic');
}

/**
 * Labels by linear interpolation of one-hot masks: each output pixel takes the value whose bilinear weight
 * is largest (ties go to the larger value). Any value 0..255 is a class here, the ignore value included.
 */
export function resampleLabels(src: Uint8Array, from: Shape2, to: Shape2): Uint8Array {
  const [h, w] = from;
  const [H, W] = to;
  if (h === H && w === W) return src.slice();
  const tx = taps(w, W, 'linear');
  const ty = taps(h, H, 'linear');
  const out = new Uint8Array(H * W);
  const weights = new Float64Array(256);
  const marked = new Uint8Array(256);
  const seen: number[] = [];
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let a = 0; a < 2; a++) {
        const sy = ty.idx[y * 2 + a]!;
        const wy = ty.w[y * 2 + a]!;
        for (let b = 0; b < 2; b++) {
          const v = src[sy * w + tx.idx[x * 2 + b]!]!;
          if (!marked[v]) {
            marked[v] = 1;
            seen.push(v);
          }
          weights[v]! += wy * tx.w[x * 2 + b]!;
        }
      }
      let best = 0;
      let bestW = -1;
      for (const v of seen) {
        if (weights[v]! > bestW + 1e-12 || (Math.abs(weights[v]! - bestW) <= 1e-12 && v > best)) {
          best = v;
          bestW = weights[v]!;
        }
        weights[v] = 0;
        marked[v] = 0;
      }
      seen.length = 0;
      out[y * W + x] = best;
    }
  }
  return out;
}

/** Bilinear resampling of per-class planes (probabilities back to the original grid). */
export function resampleProbabilities(
  src: Float32Array,
  channels: number,
  from: Shape2,
  to: Shape2,
): Float32Array {
  return resamplePlanes(src, channels, from, to, 'linear');
}
