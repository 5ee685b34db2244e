/**
 * NIfTI-1 read and write for volumes, so that label volumes move between this tool and nnU-Net.
 *
 * NIfTI stores coordinates in RAS; our Geometry is LPS (DICOM). The conversion negates x and y:
 * affine_RAS = diag(-1, -1, 1, 1) * affine_LPS. Voxel order is identical (i fastest, then j, then k).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { gunzipSync, gzipSync } from 'node:zlib';

import * as nifti from 'nifti-reader-js';

import { NnsamError } from '../util/errors.js';
import { affineLps, geometryFromAffineLps, normalize, cross, dot } from './geometry.js';
import type { Geometry, ScalarArray, Vec3, Volume } from './types.js';

// NIfTI datatype codes (nifti1.h) and the typed arrays we read them into.
const DT = {
  UINT8: 2,
  INT16: 4,
  INT32: 8,
  FLOAT32: 16,
  FLOAT64: 64,
  INT8: 256,
  UINT16: 512,
  UINT32: 768,
} as const;

type ArrayCtor = {
  new (buffer: ArrayBuffer): ScalarArray;
  new (length: number): ScalarArray;
  BYTES_PER_ELEMENT: number;
};

const CTOR_BY_CODE: Record<number, ArrayCtor> = {
  [DT.UINT8]: Uint8Array,
  [DT.INT16]: Int16Array,
  [DT.INT32]: Int32Array,
  [DT.FLOAT32]: Float32Array,
  [DT.FLOAT64]: Float64Array,
  [DT.INT8]: Int8Array,
  [DT.UINT16]: Uint16Array,
  [DT.UINT32]: Uint32Array,
};

function codeOf(data: ScalarArray): number {
  for (const [code, ctor] of Object.entries(CTOR_BY_CODE)) {
    if (data instanceof (ctor as unknown as typeof Uint8Array)) return Number(code);
  }
  throw new Error(`unsupported array type ${data.constructor.name}`);
}

const LPS_TO_RAS = [-1, -1, 1];

/** Reads a .nii or .nii.gz file. Intensity scaling (scl_slope/scl_inter) is applied to float32 when set. */
export async function readNifti(path: string): Promise<Volume> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new NnsamError('file_not_found', `Cannot read NIfTI file ${path}: ${(e as Error).message}`);
  }
  return parseNifti(bytes, path);
}

export function parseNifti(bytes: Uint8Array, where = 'NIfTI data'): Volume {
  let buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  try {
    if (nifti.isCompressed(buf)) buf = toArrayBuffer(gunzipSync(new Uint8Array(buf)));
  } catch (e) {
    throw new NnsamError('invalid_nifti', `${where}: gzip stream is corrupt (${(e as Error).message})`);
  }
  if (!nifti.isNIFTI(buf)) throw new NnsamError('invalid_nifti', `${where} is not a NIfTI-1/2 file`);
  const header = nifti.readHeader(buf);
  const ctor = CTOR_BY_CODE[header.datatypeCode];
  if (!ctor)
    throw new NnsamError('invalid_nifti', `${where}: unsupported NIfTI datatype ${header.datatypeCode}`);
  const nd = header.dims[0]!;
  const dims: Vec3 = [header.dims[1]!, header.dims[2]! || 1, nd >= 3 ? header.dims[3]! || 1 : 1];
  if (nd > 3 && header.dims.slice(4, nd + 1).some((d) => d > 1)) {
    throw new NnsamError('invalid_nifti', `${where}: ${nd}-D images are not supported (expected 3-D)`);
  }
  const count = dims[0] * dims[1] * dims[2];
  const raw = nifti.readImage(header, buf);
  if (raw.byteLength < count * ctor.BYTES_PER_ELEMENT) {
    throw new NnsamError(
      'invalid_nifti',
      `${where}: pixel data is truncated (${raw.byteLength} bytes for ${dims.join('x')} voxels)`,
    );
  }
  let data = new ctor(raw.slice(0, count * ctor.BYTES_PER_ELEMENT) as ArrayBuffer);
  if (!header.littleEndian && ctor.BYTES_PER_ELEMENT > 1) data = byteSwapped(data, ctor);

  const slope = header.scl_slope;
  const inter = header.scl_inter;
  if (Number.isFinite(slope) && slope !== 0 && (slope !== 1 || (Number.isFinite(inter) && inter !== 0))) {
    const scaled = new Float32Array(count);
    for (let n = 0; n < count; n++) scaled[n] = data[n]! * slope + (Number.isFinite(inter) ? inter : 0);
    data = scaled;
  }

  const ras = header.affine;
  const lps = ras.slice(0, 3).map((row, r) => row.map((v) => v * LPS_TO_RAS[r]!));
  lps.push([0, 0, 0, 1]);
  const geometry = geometryFromAffineLps(lps, dims);
  if (geometry.spacing.some((s) => !(s > 0) || !Number.isFinite(s))) {
    throw new NnsamError('invalid_nifti', `${where}: the affine has a zero or invalid voxel size`);
  }
  return { geometry, data };
}

/** Writes a volume as NIfTI-1 (.nii, or gzip-compressed when the path ends in .gz). */
export async function writeNifti(
  path: string,
  volume: Volume,
  options: { description?: string } = {},
): Promise<void> {
  const bytes = encodeNifti(volume, options);
  await writeFile(path, path.endsWith('.gz') ? gzipSync(bytes, { level: 6 }) : bytes);
}

export function encodeNifti(volume: Volume, options: { description?: string } = {}): Uint8Array {
  const { geometry: g, data } = volume;
  const count = g.dims[0] * g.dims[1] * g.dims[2];
  if (data.length !== count) {
    throw new NnsamError(
      'shape_mismatch',
      `volume has ${data.length} voxels but its geometry says ${g.dims.join('x')}`,
    );
  }
  const code = codeOf(data);
  const voxOffset = 352;
  const out = new Uint8Array(voxOffset + data.byteLength);
  const view = new DataView(out.buffer);
  view.setInt32(0, 348, true); // sizeof_hdr
  view.setInt8(39, 0); // dim_info
  const dims = [3, g.dims[0], g.dims[1], g.dims[2], 1, 1, 1, 1];
  dims.forEach((d, n) => view.setInt16(40 + 2 * n, d, true));
  view.setInt16(70, code, true); // datatype
  view.setInt16(72, data.BYTES_PER_ELEMENT * 8, true); // bitpix

  const ras = affineLps(g).map((row, r) => (r < 3 ? row.map((v) => v * LPS_TO_RAS[r]!) : row));
  const quat = quaternionOf(g);
  const pixdim = [quat ? quat.qfac : 1, g.spacing[0], g.spacing[1], g.spacing[2], 0, 0, 0, 0];
  pixdim.forEach((p, n) => view.setFloat32(76 + 4 * n, p, true));
  view.setFloat32(108, voxOffset, true); // vox_offset
  view.setFloat32(112, 1, true); // scl_slope: 1 so readers keep raw values
  view.setFloat32(116, 0, true); // scl_inter
  view.setUint8(123, 2); // xyzt_units: mm
  const descrip = (options.description ?? 'nnSAM').slice(0, 79);
  for (let n = 0; n < descrip.length; n++) view.setUint8(148 + n, descrip.charCodeAt(n) & 0x7f);
  view.setInt16(252, quat ? 1 : 0, true); // qform_code: scanner
  view.setInt16(254, 1, true); // sform_code: scanner
  if (quat) {
    view.setFloat32(256, quat.b, true);
    view.setFloat32(260, quat.c, true);
    view.setFloat32(264, quat.d, true);
    view.setFloat32(268, ras[0]![3]!, true);
    view.setFloat32(272, ras[1]![3]!, true);
    view.setFloat32(276, ras[2]![3]!, true);
  }
  for (let r = 0; r < 3; r++)
    for (let c = 0; c < 4; c++) view.setFloat32(280 + 16 * r + 4 * c, ras[r]![c]!, true);
  out.set([0x6e, 0x2b, 0x31, 0x00], 344); // magic "n+1\0"
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), voxOffset);
  return out;
}

/**
 * qform quaternion (nifti1_io's mat44_to_quatern for an orthonormal rotation), or null when the axes are not
 * orthogonal (gantry tilt): then only the sform describes the grid, which NIfTI allows.
 */
function quaternionOf(g: Geometry): { b: number; c: number; d: number; qfac: number } | null {
  const ras = g.direction.map((v) => [v[0] * -1, v[1] * -1, v[2]] as Vec3);
  const [u, v] = [normalize(ras[0]!), normalize(ras[1]!)];
  let w = normalize(ras[2]!);
  if (Math.abs(dot(u, v)) > 1e-4 || Math.abs(dot(u, w)) > 1e-4 || Math.abs(dot(v, w)) > 1e-4) return null;
  let qfac = 1;
  if (dot(cross(u, v), w) < 0) {
    qfac = -1;
    w = [-w[0], -w[1], -w[2]];
  }
  // rotation matrix R with columns u, v, w
  const r11 = u[0],
    r12 = v[0],
    r13 = w[0];
  const r21 = u[1],
    r22 = v[1],
    r23 = w[1];
  const r31 = u[2],
    r32 = v[2],
    r33 = w[2];
  let a = r11 + r22 + r33 + 1;
  let b: number, c: number, d: number;
  if (a > 0.5) {
    a = 0.5 * Math.sqrt(a);
    b = (0.25 * (r32 - r23)) / a;
    c = (0.25 * (r13 - r31)) / a;
    d = (0.25 * (r21 - r12)) / a;
  } else {
    const xd = 1 + r11 - (r22 + r33);
    const yd = 1 + r22 - (r11 + r33);
    const zd = 1 + r33 - (r11 + r22);
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd);
      c = (0.25 * (r12 + r21)) / b;
      d = (0.25 * (r13 + r31)) / b;
      a = (0.25 * (r32 - r23)) / b;
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd);
      b = (0.25 * (r12 + r21)) / c;
      d = (0.25 * (r23 + r32)) / c;
      a = (0.25 * (r13 - r31)) / c;
    } else {
      d = 0.5 * Math.sqrt(zd);
      b = (0.25 * (r13 + r31)) / d;
      c = (0.25 * (r23 + r32)) / d;
      a = (0.25 * (r21 - r12)) / d;
    }
    if (a < 0) {
      b = -b;
      c = -c;
      d = -d;
    }
  }
  return { b, c, d, qfac };
}

function byteSwapped(data: ScalarArray, ctor: ArrayCtor): ScalarArray {
  const bytes = new Uint8Array(
    data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer,
  );
  const size = ctor.BYTES_PER_ELEMENT;
  for (let n = 0; n < bytes.length; n += size) bytes.subarray(n, n + size).reverse();
  return new ctor(bytes.buffer);
}

function toArrayBuffer(u8: Uint8Array): ArrayBuffer {
  return u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength) as ArrayBuffer;
}
