/**
 * Where the body is, so inference can skip what holds nothing to segment. nnU-Net crops every image to its
 * non-zero region; a CT's air is -1000 HU, not 0, so for CT a voxel belongs to the body above BODY_HU (air
 * and the scanner's padding lie below it, fat and soft tissue above; lungs lie inside the body's outline).
 * Other modalities keep nnU-Net's rule: non-zero. The in-plane box covers the body of every slice, so all
 * slices of a volume share one canvas and can share onnxruntime batches.
 */
import type { Volume } from '../../volume/index.js';

export const BODY_HU = -500;

/** [rowStart, colStart, rowEnd, colEnd): rows and columns of a slice, ends exclusive. */
export type Box = [number, number, number, number];

export interface BodyExtent {
  /** The body's in-plane box over all slices (input grid); null when no voxel belongs to the body */
  box: Box | null;
  /** Per slice: whether it holds any body voxel */
  slices: boolean[];
}

/** The body's extent in a volume (original intensities: HU for CT). */
export function bodyExtent(image: Volume, modality: string): BodyExtent {
  const [cols, rows, count] = image.geometry.dims;
  const data = image.data;
  const inBody = modality.toUpperCase() === 'CT' ? (v: number) => v > BODY_HU : (v: number) => v !== 0;
  let [r0, c0, r1, c1] = [rows, cols, 0, 0];
  const slices: boolean[] = [];
  for (let k = 0; k < count; k++) {
    let any = false;
    for (let r = 0; r < rows; r++) {
      const row = (k * rows + r) * cols;
      // from both ends inwards: a row's extent is all the box needs
      let first = 0;
      while (first < cols && !inBody(data[row + first]!)) first++;
      if (first === cols) continue;
      let last = cols - 1;
      while (!inBody(data[row + last]!)) last--;
      any = true;
      r0 = Math.min(r0, r);
      r1 = Math.max(r1, r + 1);
      c0 = Math.min(c0, first);
      c1 = Math.max(c1, last + 1);
    }
    slices.push(any);
  }
  return { box: r1 > r0 ? [r0, c0, r1, c1] : null, slices };
}
