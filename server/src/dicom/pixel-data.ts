/**
 * Pixel data of a parsed DICOM object as one typed array of stored values per frame: native data is cut
 * into frames, encapsulated fragments are grouped into frames and decoded (codecs.ts), signed values
 * narrower than their container are sign-extended, unused high bits are masked off. Rescale is not
 * applied here (it can differ per frame; series.ts applies it).
 */
import { NnsamError } from '../util/errors.js';
import {
  canDecodeLocally,
  decodeFrame,
  frameByteLength,
  NATIVE_SYNTAXES,
  transferSyntaxName,
} from './codecs.js';
import { num, str, type Part10 } from './part10.js';

export type StoredArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;

export interface PixelLayout {
  rows: number;
  columns: number;
  bitsAllocated: number;
  bitsStored: number;
  pixelRepresentation: number;
  samplesPerPixel: number;
  numberOfFrames: number;
}

export function pixelLayout(p: Part10): PixelLayout {
  const ds = p.dataset;
  const rows = num(ds, 'Rows');
  const columns = num(ds, 'Columns');
  const bitsAllocated = num(ds, 'BitsAllocated');
  if (!rows || !columns || !bitsAllocated) {
    throw new NnsamError('invalid_image', `${p.where} has no Rows, Columns or BitsAllocated`);
  }
  if (![1, 8, 16, 32].includes(bitsAllocated)) {
    throw new NnsamError('invalid_image', `${p.where}: BitsAllocated ${bitsAllocated} is not supported`);
  }
  return {
    rows,
    columns,
    bitsAllocated,
    bitsStored: num(ds, 'BitsStored') ?? bitsAllocated,
    pixelRepresentation: num(ds, 'PixelRepresentation') ?? 0,
    samplesPerPixel: num(ds, 'SamplesPerPixel') ?? 1,
    numberOfFrames: Math.max(1, num(ds, 'NumberOfFrames') ?? 1),
  };
}

/**
 * The bytes of every frame: little-endian samples, or for BitsAllocated 1 the frame's bits packed from
 * bit 0 of its first byte (native 1-bit frames are not byte aligned in the file; they are realigned).
 */
export async function frameBytes(p: Part10, layout = pixelLayout(p)): Promise<Uint8Array[]> {
  const raw = p.dataset.PixelData;
  if (raw === undefined || raw === null || (Array.isArray(raw) && raw.length === 0)) {
    throw new NnsamError('missing_pixel_data', `${p.where} has no pixel data`, {
      hint: 'The object is an image type but carries no PixelData element; re-export it from its source.',
    });
  }
  const buffers = (Array.isArray(raw) ? raw : [raw]).map((b) =>
    b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b as ArrayBufferLike),
  );
  const ts = p.transferSyntaxUID;
  const frameLength = frameByteLength(layout);
  const frames = layout.numberOfFrames;

  if (NATIVE_SYNTAXES.has(ts)) {
    const all = concat(buffers);
    if (layout.bitsAllocated === 1) {
      const pixels = layout.rows * layout.columns * layout.samplesPerPixel;
      const needed = Math.ceil((pixels * frames) / 8);
      if (all.length < needed) throw shortPixelData(p, all.length, needed, layout);
      return Array.from({ length: frames }, (_, f) => bitSlice(all, f * pixels, pixels));
    }
    const needed = frameLength * frames;
    if (all.length < needed) throw shortPixelData(p, all.length, needed, layout);
    return Array.from({ length: frames }, (_, f) => all.subarray(f * frameLength, (f + 1) * frameLength));
  }
  if (!canDecodeLocally(ts)) {
    // decodeFrame raises the right error (with the hint to transcode)
    await decodeFrame(ts, buffers[0] ?? new Uint8Array(), { ...layout }, p.where);
  }
  const encoded = groupFragments(buffers, frames, ts, p.where);
  const out: Uint8Array[] = [];
  for (let f = 0; f < encoded.length; f++) {
    out.push(await decodeFrame(ts, encoded[f]!, layout, `${p.where} frame ${f + 1}`));
  }
  return out;
}

/** Frames as typed arrays of stored values (sign-extended or masked to BitsStored). */
export async function storedFrames(p: Part10, layout = pixelLayout(p)): Promise<StoredArray[]> {
  const frames = await frameBytes(p, layout);
  return frames.map((bytes) => toStoredValues(bytes, layout));
}

export function toStoredValues(bytes: Uint8Array, layout: PixelLayout): StoredArray {
  const count = layout.rows * layout.columns * layout.samplesPerPixel;
  const signed = layout.pixelRepresentation === 1;
  const width = Math.max(1, layout.bitsAllocated / 8);
  const aligned = bytes.byteOffset % width === 0 ? bytes : bytes.slice(); // typed views need alignment
  let values: StoredArray;
  switch (layout.bitsAllocated) {
    case 1:
      return unpackBits(bytes, count);
    case 8:
      values = signed
        ? new Int8Array(aligned.buffer, aligned.byteOffset, count)
        : new Uint8Array(aligned.buffer, aligned.byteOffset, count);
      break;
    case 16:
      values = signed
        ? new Int16Array(aligned.buffer, aligned.byteOffset, count)
        : new Uint16Array(aligned.buffer, aligned.byteOffset, count);
      break;
    default:
      values = signed
        ? new Int32Array(aligned.buffer, aligned.byteOffset, count)
        : new Uint32Array(aligned.buffer, aligned.byteOffset, count);
  }
  const unused = layout.bitsAllocated - layout.bitsStored;
  if (unused > 0 && layout.bitsAllocated < 32) {
    values = values.slice(); // never modify the caller's buffer
    const shift = 32 - layout.bitsStored;
    const mask = (1 << layout.bitsStored) - 1;
    for (let n = 0; n < values.length; n++) {
      const v = values[n]!;
      values[n] = signed ? (v << shift) >> shift : v & mask;
    }
  }
  return values;
}

/** Unpacks `count` bits (LSB first, as DICOM packs BitsAllocated 1 data) to one byte (0 or 1) each. */
export function unpackBits(bytes: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(count);
  for (let n = 0; n < count; n++) out[n] = (bytes[n >> 3]! >> (n & 7)) & 1;
  return out;
}

/** `count` bits starting at bit `first` of `bytes`, repacked to start at bit 0. */
function bitSlice(bytes: Uint8Array, first: number, count: number): Uint8Array {
  if (first % 8 === 0) return bytes.subarray(first / 8, first / 8 + Math.ceil(count / 8));
  const out = new Uint8Array(Math.ceil(count / 8));
  for (let n = 0; n < count; n++) {
    const bit = first + n;
    if ((bytes[bit >> 3]! >> (bit & 7)) & 1) out[n >> 3]! |= 1 << (n & 7);
  }
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function shortPixelData(p: Part10, have: number, need: number, layout: PixelLayout): NnsamError {
  return new NnsamError(
    'truncated_pixel_data',
    `${p.where}: pixel data has ${have} bytes but ${layout.numberOfFrames} frame(s) of ${layout.columns}x${layout.rows} ` +
      `at ${layout.bitsAllocated} bits need ${need}`,
  );
}

/**
 * Encapsulated pixel data arrives from dcmjs as one buffer per frame when the file has a Basic Offset
 * Table, otherwise one per fragment. Group fragments into frames: one frame takes them all; as many
 * fragments as frames map one to one; otherwise a new frame starts at each codestream start marker.
 */
function groupFragments(fragments: Uint8Array[], frames: number, ts: string, where: string): Uint8Array[] {
  const nonEmpty = fragments.filter((f) => f.length > 0);
  if (frames === 1) return [concat(nonEmpty)];
  if (nonEmpty.length === frames) return nonEmpty;
  const starts = (f: Uint8Array) =>
    (f[0] === 0xff && f[1] === 0x4f && f[2] === 0xff && f[3] === 0x51) || // JPEG 2000 SOC + SIZ
    (f[0] === 0xff && f[1] === 0xd8); // JPEG / JPEG-LS SOI
  const groups: Uint8Array[][] = [];
  for (const f of nonEmpty) {
    if (groups.length === 0 || starts(f)) groups.push([f]);
    else groups[groups.length - 1]!.push(f);
  }
  if (groups.length !== frames) {
    throw new NnsamError(
      'invalid_pixel_data',
      `${where}: ${nonEmpty.length} ${transferSyntaxName(ts)} fragments cannot be grouped into ${frames} frames`,
    );
  }
  return groups.map(concat);
}

/** A short description of the pixel data for logs ("512x512x1 16-bit signed"). */
export function describeLayout(p: Part10): string {
  const l = pixelLayout(p);
  return `${l.columns}x${l.rows}x${l.numberOfFrames} ${l.bitsAllocated}-bit ${l.pixelRepresentation ? 'signed' : 'unsigned'} ${str(p.dataset, 'PhotometricInterpretation') ?? ''}`.trim();
}
