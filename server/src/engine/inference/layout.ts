/**
 * How the network covers a volume's slices (all slices of a volume share it, so they share batches):
 *
 * - the region: the part of the preprocessed slice the network sees. The whole slice, or, when cropping is on
 *   and the body's box (plus a margin, rounded out to the network's divisibility with real pixels) is clearly
 *   smaller than the slice, that box. Labels outside the body's box are background either way with cropping
 *   on: only air is there.
 * - whole-slice: the network is fully convolutional (dynamic H and W), so the region padded at the end to the
 *   network's divisibility (and at least to the patch) runs as one input, exactly as the trainer validates
 *   (whole_slice_inputs), when it fits the pixel limit of one onnxruntime run. Else nnU-Net's sliding window of
 *   patch-sized tiles (sliding-window.ts). A slice that fits the patch is one patch-sized input either way.
 * - the batch: inputs per onnxruntime run, at most `batchSize` and at most `maxPixels` pixels in all.
 */
import type { Box } from './body.js';
import { canvasShape, tileStarts, type Shape2 } from './sliding-window.js';

/** Pixels of one onnxruntime run by default: four 512 x 512 slices (a 650 MiB process at the CPU plan's width). */
export const DEFAULT_MAX_PIXELS = 1 << 20;
/** Body box margin, preprocessed pixels: keeps the canvas edge's zero padding away from the body. */
export const CROP_MARGIN = 16;
/** Crop only when the region is at most this share of the slice's area: a small gain is not worth a seam. */
export const CROP_MAX_AREA = 0.8;

export interface LayoutInput {
  /** Preprocessed slice [rows, cols] */
  slice: Shape2;
  /** Slice on the input grid [rows, cols] (the body box's grid) */
  original: Shape2;
  /** The body's box on the input grid; null = no cropping */
  body: Box | null;
  patch: Shape2;
  /** The network's input sizes must be multiples of this */
  divisibleBy: Shape2;
  /** Cumulative stride of the stage the SAM embedding enters ([1, 1] without one): region starts align to it */
  align: Shape2;
  tileStep: number;
  wholeSlice: boolean;
  maxPixels: number;
  batchSize: number;
}

export interface Layout {
  /** Part of the preprocessed slice the network sees */
  region: Box;
  /** Part of the preprocessed slice whose labels come from the network; background elsewhere */
  keep: Box;
  /** The region padded at the end: what the tiles cover */
  canvas: Shape2;
  /** Network input: the canvas (whole-slice) or the patch */
  tile: Shape2;
  /** Tile starts [row, col] in the canvas */
  starts: Shape2[];
  wholeSlice: boolean;
  /** Inputs per onnxruntime run */
  batch: number;
}

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;
const area = (b: Box) => (b[2] - b[0]) * (b[3] - b[1]);

/** Input length for `size` pixels: a multiple of `divisible`, and at least the patch, as the trainer validates. */
const inputLength = (size: number, divisible: number, patch: number) =>
  Math.max(patch, roundUp(size, divisible));

/** One axis of the crop: [start, end) holding [lo, hi), start aligned, as long as its input where it can be. */
function cropAxis(lo: number, hi: number, size: number, divisible: number, patch: number, align: number) {
  let start = Math.floor(Math.max(0, lo - CROP_MARGIN) / align) * align;
  const end = Math.min(size, hi + CROP_MARGIN);
  const length = inputLength(end - start, divisible, patch);
  // real pixels rather than zero padding where the slice has them
  if (start + length > size) start = Math.floor(Math.max(0, size - length) / align) * align;
  return [start, Math.min(size, Math.max(end, start + length))] as const;
}

export function inferenceLayout(input: LayoutInput): Layout {
  const [rows, cols] = input.slice;
  const full: Box = [0, 0, rows, cols];
  let region = full;
  let keep = full;
  if (input.body) {
    const [sy, sx] = [rows / input.original[0], cols / input.original[1]];
    const b = input.body;
    // rounded out by a pixel: the probabilities are resampled back to the input grid bilinearly
    keep = [
      Math.max(0, Math.floor(b[0] * sy) - 1),
      Math.max(0, Math.floor(b[1] * sx) - 1),
      Math.min(rows, Math.ceil(b[2] * sy) + 1),
      Math.min(cols, Math.ceil(b[3] * sx) + 1),
    ];
    const [r0, r1] = cropAxis(keep[0], keep[2], rows, input.divisibleBy[0], input.patch[0], input.align[0]);
    const [c0, c1] = cropAxis(keep[1], keep[3], cols, input.divisibleBy[1], input.patch[1], input.align[1]);
    const cropped: Box = [r0, c0, r1, c1];
    if (area(cropped) <= CROP_MAX_AREA * area(full)) region = cropped;
  }
  const size: Shape2 = [region[2] - region[0], region[3] - region[1]];
  const padded: Shape2 = [
    inputLength(size[0], input.divisibleBy[0], input.patch[0]),
    inputLength(size[1], input.divisibleBy[1], input.patch[1]),
  ];
  const maxPixels = Math.max(1, input.maxPixels);
  const batchOf = (pixels: number) =>
    Math.max(1, Math.min(Math.max(1, input.batchSize), Math.floor(maxPixels / pixels)));
  if (input.wholeSlice && padded[0] * padded[1] <= maxPixels) {
    return {
      region,
      keep,
      canvas: padded,
      tile: padded,
      starts: [[0, 0]],
      wholeSlice: true,
      batch: batchOf(padded[0] * padded[1]),
    };
  }
  const canvas = canvasShape(size, input.patch, input.align);
  const ys = tileStarts(canvas[0], input.patch[0], input.tileStep, input.align[0]);
  const xs = tileStarts(canvas[1], input.patch[1], input.tileStep, input.align[1]);
  return {
    region,
    keep,
    canvas,
    tile: input.patch,
    starts: ys.flatMap((y) => xs.map((x): Shape2 => [y, x])),
    wholeSlice: false,
    batch: batchOf(input.patch[0] * input.patch[1]),
  };
}
