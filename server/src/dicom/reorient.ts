/**
 * Lossless reorientation of a volume onto a target grid that holds the same voxel centres with its axes
 * flipped or permuted (e.g. labels written by dicom2nifti / TotalSegmentator, whose j axis runs the other
 * way). Nothing is interpolated: either every voxel centre coincides with a target voxel centre, or the
 * volume is left alone (null) and the caller reports the mismatch.
 */
import { voxelToPatient, type Geometry, type ScalarArray, type Volume } from '../volume/index.js';

export interface Reoriented<T extends ScalarArray> {
  volume: Volume<T>;
  /** What was done, in words, e.g. "j reversed" or "axes (i, j, k) <- (j, i, k)". */
  change: string;
}

/**
 * Returns `volume` resampled losslessly onto `target` when its grid is a flip/permutation of the target's
 * (voxel positions agree within `tolMm`), or null when it is not.
 */
export function reorientToGrid<T extends ScalarArray>(
  volume: Volume<T>,
  target: Geometry,
  tolMm: number,
): Reoriented<T> | null {
  const src = volume.geometry;
  const step = (g: Geometry, a: number) => g.direction[a]!.map((v) => v * g.spacing[a]!);
  // For each source axis: the target axis it runs along, and whether it runs backwards.
  const axis: number[] = [];
  const flip: boolean[] = [];
  for (let a = 0; a < 3; a++) {
    const s = step(src, a);
    let found = -1;
    let backwards = false;
    for (let b = 0; b < 3; b++) {
      if (axis.includes(b)) continue;
      const t = step(target, b);
      const close = (sign: number) =>
        s.every((v, n) => Math.abs(v - sign * t[n]!) <= tolMm / Math.max(1, target.dims[b]!));
      if (close(1)) found = b;
      else if (close(-1)) {
        found = b;
        backwards = true;
      }
      if (found >= 0) break;
    }
    if (found < 0 || src.dims[a] !== target.dims[found]) return null;
    axis.push(found);
    flip.push(backwards);
  }
  // The source origin must be the matching corner of the target.
  const corner = [0, 0, 0];
  for (let a = 0; a < 3; a++) corner[axis[a]!] = flip[a] ? target.dims[axis[a]!]! - 1 : 0;
  const p = voxelToPatient(target, corner[0]!, corner[1]!, corner[2]!);
  if (p.some((v, n) => Math.abs(v - src.origin[n]!) > tolMm)) return null;
  const identity = axis.every((b, a) => b === a) && !flip.some(Boolean);
  if (identity) return null;

  const [tx, ty] = target.dims;
  const [sx, sy] = src.dims;
  const out = new (volume.data.constructor as new (n: number) => T)(volume.data.length);
  const t = [0, 0, 0];
  for (let k = 0; k < src.dims[2]; k++) {
    for (let j = 0; j < sy; j++) {
      for (let i = 0; i < sx; i++) {
        const s = [i, j, k];
        for (let a = 0; a < 3; a++) t[axis[a]!] = flip[a] ? target.dims[axis[a]!]! - 1 - s[a]! : s[a]!;
        out[t[0]! + tx * (t[1]! + ty * t[2]!)] = volume.data[i + sx * (j + sy * k)]!;
      }
    }
  }
  const names = ['i', 'j', 'k'];
  const parts: string[] = [];
  if (axis.some((b, a) => b !== a)) parts.push(`axes permuted (${axis.map((b) => names[b]).join(', ')})`);
  flip.forEach((f, a) => f && parts.push(`${names[axis[a]!]} reversed`));
  return { volume: { geometry: structuredClone(target), data: out }, change: parts.join(', ') };
}
