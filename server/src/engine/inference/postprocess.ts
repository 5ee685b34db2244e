/**
 * Post-processing: softmax/argmax helpers, Dice, and nnU-Net's "keep the largest connected component" of a
 * class (3D, 26-connected as scikit-image's default full connectivity), which a model enables per class only
 * when it improved Dice on held-out labelled slices.
 */
import type { Vec3 } from '../../volume/index.js';

/** In-place softmax over channels of [channels, pixels]. */
export function softmaxChannels(logits: Float32Array, channels: number, pixels: number): Float32Array {
  for (let p = 0; p < pixels; p++) {
    let max = -Infinity;
    for (let c = 0; c < channels; c++) max = Math.max(max, logits[c * pixels + p]!);
    let sum = 0;
    for (let c = 0; c < channels; c++) {
      const e = Math.exp(logits[c * pixels + p]! - max);
      logits[c * pixels + p] = e;
      sum += e;
    }
    for (let c = 0; c < channels; c++) logits[c * pixels + p]! /= sum;
  }
  return logits;
}

/** Argmax over channels of [channels, pixels] into out[offset..offset+pixels). */
export function argmaxChannels(
  scores: Float32Array,
  channels: number,
  pixels: number,
  out: Uint8Array,
  offset = 0,
): void {
  for (let p = 0; p < pixels; p++) {
    let best = 0;
    let bestV = scores[p]!;
    for (let c = 1; c < channels; c++) {
      const v = scores[c * pixels + p]!;
      if (v > bestV) {
        bestV = v;
        best = c;
      }
    }
    out[offset + p] = best;
  }
}

/**
 * Keeps only the largest 26-connected component of `cls`; its other voxels become background (0).
 * Returns the number of voxels removed.
 */
export function keepLargestComponent(labels: Uint8Array, dims: Vec3, cls: number): number {
  return filterComponents(labels, dims, cls, (_size, _largest, isLargest) => isLargest);
}

/**
 * Removes the 26-connected components of `cls` smaller than `fraction` of its largest one (0: none removed).
 * Returns the number of voxels removed.
 */
export function removeSmallComponents(labels: Uint8Array, dims: Vec3, cls: number, fraction: number): number {
  if (fraction <= 0) return 0;
  return filterComponents(labels, dims, cls, (size, largest) => size >= fraction * largest);
}

/**
 * Sets to background (0) every 26-connected component of `cls` that `keep(size, largestSize, isLargest)`
 * refuses; returns the voxels removed. Flood fills with a Uint8 mark array (no per-voxel label image, which
 * would cost 4 bytes a voxel on a CT): one pass sizes the components, a second marks the ones to remove.
 */
function filterComponents(
  labels: Uint8Array,
  dims: Vec3,
  cls: number,
  keep: (size: number, largest: number, isLargest: boolean) => boolean,
): number {
  const [nx, ny, nz] = dims;
  const plane = nx * ny;
  const mark = new Uint8Array(labels.length); // 1 = sized, 2 = to remove
  let queue = new Int32Array(1024);
  const fill = (seed: number, value: number, match: number): number => {
    let head = 0;
    let tail = 0;
    queue[tail++] = seed;
    mark[seed] = value;
    let size = 0;
    while (head < tail) {
      const v = queue[head++]!;
      size++;
      const z = Math.floor(v / plane);
      const rem = v - z * plane;
      const y = Math.floor(rem / nx);
      const x = rem - y * nx;
      for (let dz = -1; dz <= 1; dz++) {
        const zz = z + dz;
        if (zz < 0 || zz >= nz) continue;
        for (let dy = -1; dy <= 1; dy++) {
          const yy = y + dy;
          if (yy < 0 || yy >= ny) continue;
          for (let dx = -1; dx <= 1; dx++) {
            const xx = x + dx;
            if (xx < 0 || xx >= nx) continue;
            const n = zz * plane + yy * nx + xx;
            if (labels[n] !== cls || mark[n] !== match) continue;
            mark[n] = value;
            if (tail === queue.length) {
              const bigger = new Int32Array(queue.length * 2);
              bigger.set(queue);
              queue = bigger;
            }
            queue[tail++] = n;
          }
        }
      }
    }
    return size;
  };
  const seeds: number[] = [];
  const sizes: number[] = [];
  for (let v = 0; v < labels.length; v++) {
    if (labels[v] !== cls || mark[v] !== 0) continue;
    seeds.push(v);
    sizes.push(fill(v, 1, 0));
  }
  if (seeds.length < 2) return 0;
  let largest = 0;
  sizes.forEach((size, i) => (largest = size > sizes[largest]! ? i : largest));
  let removed = 0;
  sizes.forEach((size, i) => {
    if (keep(size, sizes[largest]!, i === largest)) return;
    fill(seeds[i]!, 2, 1);
    removed += size;
  });
  if (removed > 0) for (let v = 0; v < labels.length; v++) if (mark[v] === 2) labels[v] = 0;
  return removed;
}

/** Dice counts (2|A and B|, |A| + |B|) per class over the given voxel ranges [start, end). */
export function diceCounts(
  pred: Uint8Array,
  gt: ArrayLike<number>,
  classes: number[],
  ranges: [number, number][],
): Map<number, [number, number]> {
  const out = new Map<number, [number, number]>(classes.map((c) => [c, [0, 0]]));
  for (const [start, end] of ranges) {
    for (let v = start; v < end; v++) {
      const p = pred[v]!;
      const g = gt[v]!;
      if (g === 255) continue;
      if (p === g && out.has(p)) out.get(p)![0] += 2;
      if (out.has(p)) out.get(p)![1]++;
      if (out.has(g)) out.get(g)![1]++;
    }
  }
  return out;
}

export function diceOf(counts: [number, number]): number | null {
  return counts[1] > 0 ? counts[0] / counts[1] : null;
}
