/**
 * Tiling of a preprocessed slice for the network (nnU-Net's sliding window): a slice that fits in the patch is
 * one tile (padded at the end); a larger one is covered by patch-sized tiles with half-patch steps, blended
 * with a Gaussian importance map (sigma = patch / 8). Tile starts are multiples of the embedding stride so
 * that each tile's embedding is an exact sub-block of the slice's stage-grid embedding.
 */

export type Shape2 = [number, number];

/** nnU-Net's compute_steps_for_sliding_window for one axis, with starts rounded to multiples of `align`. */
export function tileStarts(size: number, tile: number, step: number, align = 1): number[] {
  if (size <= tile) return [0];
  const target = tile * step;
  const n = Math.ceil((size - tile) / target) + 1;
  const max = size - tile;
  const actual = max / (n - 1);
  const starts = new Set<number>();
  for (let i = 0; i < n; i++) {
    const s = Math.round((actual * i) / align) * align;
    starts.add(Math.min(max, Math.max(0, s)));
  }
  return [...starts].sort((a, b) => a - b);
}

/** Canvas the slice is padded to (at the end): at least the patch, and a multiple of `align`. */
export function canvasShape(slice: Shape2, patch: Shape2, align: Shape2): Shape2 {
  return [
    Math.max(patch[0], Math.ceil(slice[0] / align[0]) * align[0]),
    Math.max(patch[1], Math.ceil(slice[1] / align[1]) * align[1]),
  ];
}

/** Gaussian importance map centred at patch // 2 with sigma = patch * scale, max 1, no zeros. */
export function gaussianMap(patch: Shape2, sigmaScale = 1 / 8): Float32Array {
  const [h, w] = patch;
  const sy = h * sigmaScale;
  const sx = w * sigmaScale;
  const cy = Math.floor(h / 2);
  const cx = Math.floor(w / 2);
  const out = new Float32Array(h * w);
  let min = Infinity;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = Math.exp(-((y - cy) ** 2) / (2 * sy * sy) - (x - cx) ** 2 / (2 * sx * sx));
      out[y * w + x] = v;
      if (v > 0 && v < min) min = v;
    }
  }
  for (let n = 0; n < out.length; n++) if (out[n] === 0) out[n] = min;
  return out;
}

/** Copies a (possibly mirrored) tile of `channels` planes out of a canvas. */
export function extractTile(
  canvas: Float32Array,
  channels: number,
  canvasShape: Shape2,
  start: Shape2,
  tile: Shape2,
  flip: [boolean, boolean],
  out: Float32Array,
  outOffset: number,
): void {
  const [ch, cw] = canvasShape;
  const [th, tw] = tile;
  for (let c = 0; c < channels; c++) {
    const src = c * ch * cw;
    const dst = outOffset + c * th * tw;
    for (let y = 0; y < th; y++) {
      const sy = start[0] + (flip[0] ? th - 1 - y : y);
      const row = src + sy * cw + start[1];
      const drow = dst + y * tw;
      if (flip[1]) for (let x = 0; x < tw; x++) out[drow + x] = canvas[row + tw - 1 - x]!;
      else out.set(canvas.subarray(row, row + tw), drow);
    }
  }
}

/** Adds weight * (un-mirrored) tile logits into the canvas accumulator, and the weights into `weights`. */
export function accumulateTile(
  acc: Float32Array,
  weights: Float32Array | null,
  channels: number,
  canvasShape: Shape2,
  start: Shape2,
  tile: Shape2,
  flip: [boolean, boolean],
  logits: Float32Array,
  logitsOffset: number,
  gaussian: Float32Array | null,
): void {
  const [ch, cw] = canvasShape;
  const [th, tw] = tile;
  for (let c = 0; c < channels; c++) {
    const src = logitsOffset + c * th * tw;
    const dst = c * ch * cw;
    for (let y = 0; y < th; y++) {
      const ty = flip[0] ? th - 1 - y : y;
      const row = dst + (start[0] + y) * cw + start[1];
      for (let x = 0; x < tw; x++) {
        const tx = flip[1] ? tw - 1 - x : x;
        const g = gaussian ? gaussian[y * tw + x]! : 1;
        acc[row + x]! += g * logits[src + ty * tw + tx]!;
      }
    }
  }
  if (weights) {
    for (let y = 0; y < th; y++) {
      const row = (start[0] + y) * cw + start[1];
      for (let x = 0; x < tw; x++) weights[row + x]! += gaussian ? gaussian[y * tw + x]! : 1;
    }
  }
}
