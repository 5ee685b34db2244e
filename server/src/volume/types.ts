/**
 * The one in-memory image type every stage shares (DICOM reader, NIfTI, engine, SEG writer).
 *
 * Conventions (also in docs/conventions.md):
 * - Axes: i = column, j = row, k = slice (in the sorted order along the slice normal).
 * - Memory order: index = i + dims[0] * (j + dims[1] * k), i.e. one DICOM frame after another.
 * - Coordinates are DICOM patient coordinates (LPS, mm). NIfTI files store RAS; nifti.ts converts.
 */
export type Vec3 = [number, number, number];

export type ScalarArray =
  Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

export interface Geometry {
  /** Voxel counts along i (columns), j (rows), k (slices). */
  dims: Vec3;
  /** Voxel size in mm along i, j, k (k: distance between slice centres). */
  spacing: Vec3;
  /** LPS position in mm of the centre of voxel (0, 0, 0). */
  origin: Vec3;
  /**
   * Unit vectors (LPS) of the i, j and k axes. For a DICOM series direction[0] and direction[1] are the
   * row and column cosines of ImageOrientationPatient; direction[2] points from the first slice to the
   * last one (not orthogonal to the others for a gantry-tilted series).
   */
  direction: [Vec3, Vec3, Vec3];
}

export interface Volume<T extends ScalarArray = ScalarArray> {
  geometry: Geometry;
  data: T;
}

export function voxelCount(dims: Vec3): number {
  return dims[0] * dims[1] * dims[2];
}
