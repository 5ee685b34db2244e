import type { Geometry, Vec3 } from './types.js';

export function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

export function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

export function norm(a: Vec3): number {
  return Math.sqrt(dot(a, a));
}

export function normalize(a: Vec3): Vec3 {
  const n = norm(a);
  return [a[0] / n, a[1] / n, a[2] / n];
}

/** LPS position (mm) of the centre of voxel (i, j, k); fractional indices allowed. */
export function voxelToPatient(g: Geometry, i: number, j: number, k: number): Vec3 {
  const [d0, d1, d2] = g.direction;
  const [s0, s1, s2] = g.spacing;
  return [
    g.origin[0] + i * s0 * d0[0] + j * s1 * d1[0] + k * s2 * d2[0],
    g.origin[1] + i * s0 * d0[1] + j * s1 * d1[1] + k * s2 * d2[1],
    g.origin[2] + i * s0 * d0[2] + j * s1 * d1[2] + k * s2 * d2[2],
  ];
}

/**
 * 4x4 row-major affine mapping (i, j, k, 1) to LPS millimetres. Column c holds direction[c] * spacing[c].
 */
export function affineLps(g: Geometry): number[][] {
  const rows: number[][] = [];
  for (let r = 0; r < 3; r++) {
    rows.push([
      g.direction[0][r] * g.spacing[0],
      g.direction[1][r] * g.spacing[1],
      g.direction[2][r] * g.spacing[2],
      g.origin[r],
    ]);
  }
  rows.push([0, 0, 0, 1]);
  return rows;
}

/** Inverse of affineLps: Geometry from a 4x4 (or 3x4) row-major LPS affine and the voxel counts. */
export function geometryFromAffineLps(affine: number[][], dims: Vec3): Geometry {
  const col = (c: number): Vec3 => [affine[0]![c]!, affine[1]![c]!, affine[2]![c]!];
  const cols = [col(0), col(1), col(2)];
  const spacing = cols.map(norm) as Vec3;
  const direction = cols.map((v, c) => (spacing[c]! > 0 ? normalize(v) : ([0, 0, 0] as Vec3))) as [
    Vec3,
    Vec3,
    Vec3,
  ];
  return { dims, spacing, origin: col(3), direction };
}

/** Largest angle (degrees) by which the k axis deviates from the normal of the i-j plane (gantry tilt). */
export function sliceTiltDegrees(g: Geometry): number {
  const normal = normalize(cross(g.direction[0], g.direction[1]));
  const c = Math.min(1, Math.abs(dot(normal, g.direction[2])));
  return (Math.acos(c) * 180) / Math.PI;
}

/** True when two geometries describe the same voxel grid within `tolMm` at every corner. */
export function sameGrid(a: Geometry, b: Geometry, tolMm = 1e-3): boolean {
  if (a.dims.some((d, n) => d !== b.dims[n])) return false;
  const [nx, ny, nz] = a.dims;
  for (const [i, j, k] of [
    [0, 0, 0],
    [nx - 1, 0, 0],
    [0, ny - 1, 0],
    [0, 0, nz - 1],
    [nx - 1, ny - 1, nz - 1],
  ] as Vec3[]) {
    const p = voxelToPatient(a, i, j, k);
    const q = voxelToPatient(b, i, j, k);
    if (Math.abs(p[0] - q[0]) > tolMm || Math.abs(p[1] - q[1]) > tolMm || Math.abs(p[2] - q[2]) > tolMm) {
      return false;
    }
  }
  return true;
}
