/**
 * The SAM encoder input for one preprocessed slice (the definition the online PyTorch embedder shares):
 *   1. map the slice's 0.5th..99.5th percentile linearly to 0..255, clipped;
 *   2. resize bilinearly to 1024x1024 (half-pixel centres like torch align_corners=False, no antialias),
 *      anisotropically, so the 64x64 embedding covers exactly the slice's field of view;
 *   3. replicate to 3 channels and normalize with SAM's pixel mean and std.
 * Output: float32 [1, 3, 1024, 1024] in NCHW order.
 */
import { percentiles } from '../numeric.js';

export const SAM_INPUT_SIZE = 1024;
export const SAM_PIXEL_MEAN = [123.675, 116.28, 103.53] as const;
export const SAM_PIXEL_STD = [58.395, 57.12, 57.375] as const;

/** Bilinear resize of one plane with half-pixel centres and edge clamping (torch align_corners=False). */
export function resizeBilinear(src: Float32Array, h: number, w: number, H: number, W: number): Float32Array {
  const out = new Float32Array(H * W);
  const x0 = new Int32Array(W);
  const x1 = new Int32Array(W);
  const fx = new Float32Array(W);
  for (let x = 0; x < W; x++) {
    const pos = Math.max(0, ((x + 0.5) * w) / W - 0.5);
    const i = Math.floor(pos);
    x0[x] = Math.min(i, w - 1);
    x1[x] = Math.min(i + 1, w - 1);
    fx[x] = pos - i;
  }
  for (let y = 0; y < H; y++) {
    const pos = Math.max(0, ((y + 0.5) * h) / H - 0.5);
    const j = Math.floor(pos);
    const r0 = Math.min(j, h - 1) * w;
    const r1 = Math.min(j + 1, h - 1) * w;
    const fy = pos - j;
    for (let x = 0; x < W; x++) {
      const a = src[r0 + x0[x]!]! + (src[r0 + x1[x]!]! - src[r0 + x0[x]!]!) * fx[x]!;
      const b = src[r1 + x0[x]!]! + (src[r1 + x1[x]!]! - src[r1 + x0[x]!]!) * fx[x]!;
      out[y * W + x] = a + (b - a) * fy;
    }
  }
  return out;
}

export function samInput(slice: Float32Array, rows: number, cols: number): Float32Array {
  const [lo, hi] = percentiles(slice, [0.5, 99.5]) as [number, number];
  const range = hi - lo;
  const scaled = new Float32Array(slice.length);
  for (let n = 0; n < slice.length; n++) {
    const v = range > 0 ? ((slice[n]! - lo) / range) * 255 : 0;
    scaled[n] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  const big = resizeBilinear(scaled, rows, cols, SAM_INPUT_SIZE, SAM_INPUT_SIZE);
  const plane = SAM_INPUT_SIZE * SAM_INPUT_SIZE;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const m = SAM_PIXEL_MEAN[c]!;
    const s = SAM_PIXEL_STD[c]!;
    const off = c * plane;
    for (let n = 0; n < plane; n++) out[off + n] = (big[n]! - m) / s;
  }
  return out;
}
