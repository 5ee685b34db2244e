/**
 * Minimal .npy (format 1.0) writer and reader for the arrays Node hands to the trainer: little-endian
 * float32, float16 (stored as raw halves) and uint8, C order.
 */
import { readFile, writeFile } from 'node:fs/promises';

export type NpyDtype = 'float32' | 'float16' | 'uint8';
const DESCR: Record<NpyDtype, string> = { float32: '<f4', float16: '<f2', uint8: '|u1' };

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  data: Float32Array | Uint16Array | Uint8Array;
}

export function encodeNpy(array: NpyArray): Buffer {
  const count = array.shape.reduce((a, b) => a * b, 1);
  if (count !== array.data.length) {
    throw new Error(
      `npy: shape ${array.shape.join('x')} holds ${count} values, data has ${array.data.length}`,
    );
  }
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(', ')})`;
  let header = `{'descr': '${DESCR[array.dtype]}', 'fortran_order': False, 'shape': ${shape}, }`;
  // magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64, ending in \n
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.from(array.data.buffer, array.data.byteOffset, array.data.byteLength);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), body]);
}

export async function writeNpy(path: string, array: NpyArray): Promise<void> {
  await writeFile(path, encodeNpy(array));
}

export function decodeNpy(bytes: Uint8Array, where = 'npy data'): NpyArray {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${where} is not a .npy file`);
  const major = buf[6]!;
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '';
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${where}: Fortran order is not supported`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const dtype = (Object.entries(DESCR).find(([, d]) => d === descr)?.[0] ?? null) as NpyDtype | null;
  if (!dtype) throw new Error(`${where}: unsupported dtype ${descr}`);
  const offset = start + headerLen;
  const raw = buf.subarray(offset);
  const copy = new Uint8Array(raw.length);
  copy.set(raw);
  const data =
    dtype === 'float32'
      ? new Float32Array(copy.buffer)
      : dtype === 'float16'
        ? new Uint16Array(copy.buffer)
        : copy;
  return { dtype, shape, data };
}

export async function readNpy(path: string): Promise<NpyArray> {
  return decodeNpy(await readFile(path), path);
}
