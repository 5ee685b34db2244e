/**
 * A minimal ustar reader/writer for archives of regular files (model archives, nnU-Net datasets). The reader accepts only
 * plain file names (no folders, links, '..' or absolute paths), so an archive can never write outside the
 * folder it is unpacked into, and it refuses truncated input.
 */
import { NnsamError } from './errors.js';

const BLOCK = 512;
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
// what we write may sit one folder deep (an nnU-Net dataset's imagesTr/, labelsTr/); ustar names hold 100 bytes
const WRITABLE_NAME = /^(?=.{1,100}$)([A-Za-z0-9][A-Za-z0-9._-]*\/)?[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface TarEntry {
  name: string;
  data: Uint8Array;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

export function writeTar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (!WRITABLE_NAME.test(e.name)) throw new Error(`unsafe archive entry name: ${e.name}`);
    const header = Buffer.alloc(BLOCK);
    header.write(e.name, 0, 100, 'utf8');
    header.write(octal(0o644, 8), 100, 'ascii');
    header.write(octal(0, 8), 108, 'ascii');
    header.write(octal(0, 8), 116, 'ascii');
    header.write(octal(e.data.length, 12), 124, 'ascii');
    header.write(octal(0, 12), 136, 'ascii');
    header.write('        ', 148, 'ascii'); // checksum placeholder
    header.write('0', 156, 'ascii');
    header.write('ustar\0', 257, 'ascii');
    header.write('00', 263, 'ascii');
    let sum = 0;
    for (const b of header) sum += b;
    header.write(octal(sum, 7) + ' ', 148, 'ascii');
    parts.push(header, Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength));
    const pad = (BLOCK - (e.data.length % BLOCK)) % BLOCK;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

export function readTar(buf: Buffer, limits: { maxEntries?: number } = {}): TarEntry[] {
  const entries: TarEntry[] = [];
  let pos = 0;
  for (;;) {
    if (pos + BLOCK > buf.length) throw bad('it ends before the end-of-archive marker (truncated?)');
    const header = buf.subarray(pos, pos + BLOCK);
    if (header.every((b) => b === 0)) return entries;
    let sum = 0;
    for (let n = 0; n < BLOCK; n++) sum += n >= 148 && n < 156 ? 32 : header[n]!;
    const stored = parseInt(
      header
        .toString('ascii', 148, 156)
        .replace(/[\0 ]+$/, '')
        .trim(),
      8,
    );
    if (stored !== sum) throw bad(`header checksum mismatch at byte ${pos}`);
    const name = header.toString('utf8', 0, 100).replace(/\0.*$/s, '');
    const type = String.fromCharCode(header[156] || 48);
    const size = parseInt(header.toString('ascii', 124, 136).replace(/\0.*$/s, '').trim() || '0', 8);
    if (type !== '0') throw bad(`entry "${name}" is not a regular file`);
    if (!SAFE_NAME.test(name)) throw bad(`entry name "${name}" is not a plain file name`);
    if (!Number.isFinite(size) || size < 0) throw bad(`entry "${name}" has an invalid size`);
    const start = pos + BLOCK;
    if (start + size > buf.length) throw bad(`entry "${name}" is truncated`);
    entries.push({ name, data: buf.subarray(start, start + size) });
    if (entries.length > (limits.maxEntries ?? 1000)) throw bad('too many entries');
    pos = start + Math.ceil(size / BLOCK) * BLOCK;
  }
}

function bad(why: string): NnsamError {
  return new NnsamError('invalid_archive', `The model archive is not a valid nnSAM archive: ${why}.`, {
    hint: 'Export it again with GET /api/models/{id}/export (or nnsam model export).',
  });
}
