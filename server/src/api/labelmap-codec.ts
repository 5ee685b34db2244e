/**
 * The labelmap payload's RLE codec ("rle-u8-v1"), free of zod so the viewer extension can bundle it without
 * the schema library: a sequence of (value: 1 byte, run length: unsigned LEB128 varint) pairs whose run
 * lengths sum to rows * columns, base64'd. labelmap.ts re-exports everything here, next to the schemas.
 * Pure TypeScript with no Node imports.
 */

export const LABELMAP_ENCODING = 'rle-u8-v1';

/** What a payload may hold (the schema in labelmap.ts enforces them; the viewer checks before sending). */
export const LABELMAP_LIMITS = {
  /** rows and columns */
  maxSide: 8192,
  maxSlices: 4096,
  maxSegments: 255,
  /** DICOM UIDs */
  maxUidLength: 64,
  /** segment names */
  maxLabelLength: 64,
} as const;

export function encodeLabelSlice(labels: ArrayLike<number>): string {
  const bytes: number[] = [];
  let n = 0;
  while (n < labels.length) {
    const value = labels[n]!;
    if (!Number.isInteger(value) || value < 0 || value > 255)
      throw new RangeError(`label ${value} is not 0..255`);
    let run = 1;
    while (n + run < labels.length && labels[n + run] === value) run++;
    bytes.push(value);
    for (let r = run; ;) {
      const low = r & 0x7f;
      r = Math.floor(r / 128);
      if (r === 0) {
        bytes.push(low);
        break;
      }
      bytes.push(low | 0x80);
    }
    n += run;
  }
  return toBase64(Uint8Array.from(bytes));
}

/** Decodes one slice; throws (with the reason) when the stream is malformed or not `length` long. */
export function decodeLabelSlice(encoded: string, length: number): Uint8Array {
  const bytes = fromBase64(encoded);
  const out = new Uint8Array(length);
  let pos = 0;
  let n = 0;
  while (n < bytes.length) {
    const value = bytes[n++]!;
    let run = 0;
    let scale = 1;
    for (;;) {
      if (n >= bytes.length) throw new RangeError('labelmap RLE stream ends inside a run length');
      const b = bytes[n++]!;
      run += (b & 0x7f) * scale;
      scale *= 128;
      if (!(b & 0x80)) break;
      if (scale > 2 ** 35) throw new RangeError('labelmap RLE run length is too large');
    }
    if (run === 0) throw new RangeError('labelmap RLE run of length 0');
    if (pos + run > length) throw new RangeError(`labelmap RLE decodes to more than ${length} pixels`);
    out.fill(value, pos, pos + run);
    pos += run;
  }
  if (pos !== length) throw new RangeError(`labelmap RLE decodes to ${pos} pixels, expected ${length}`);
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function toBase64(bytes: Uint8Array): string {
  let out = '';
  for (let n = 0; n < bytes.length; n += 3) {
    const a = bytes[n]!;
    const b = bytes[n + 1];
    const c = bytes[n + 2];
    out += B64[a >> 2]! + B64[((a & 3) << 4) | ((b ?? 0) >> 4)]!;
    out += b === undefined ? '=' : B64[((b & 15) << 2) | ((c ?? 0) >> 6)]!;
    out += c === undefined ? '=' : B64[c & 63]!;
  }
  return out;
}

function fromBase64(s: string): Uint8Array {
  const clean = s.replace(/=+$/, '');
  if (/[^A-Za-z0-9+/]/.test(clean)) throw new RangeError('labelmap slice is not base64');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let pos = 0;
  for (const ch of clean) {
    acc = (acc << 6) | B64.indexOf(ch);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[pos++] = (acc >> bits) & 0xff;
    }
  }
  return out.subarray(0, pos);
}
