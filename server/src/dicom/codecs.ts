/**
 * Decoding of compressed pixel data, for files and for DICOMweb servers that send what they stored:
 * JPEG 2000 (OpenJPEG) and JPEG-LS (CharLS) through the @cornerstonejs WebAssembly codecs, RLE Lossless in
 * TypeScript. Other compressed syntaxes (the JPEG family, HTJ2K, video) are not decoded here: the DICOMweb
 * loader asks the server to transcode them, and files get a clear error saying how to convert them.
 */
import { createRequire } from 'node:module';

import { NnsamError } from '../util/errors.js';

const require = createRequire(import.meta.url);

export const NATIVE_SYNTAXES = new Set([
  '1.2.840.10008.1.2', // implicit VR little endian
  '1.2.840.10008.1.2.1', // explicit VR little endian
  '1.2.840.10008.1.2.1.99', // deflated explicit VR little endian (dcmjs inflates it)
]);
// Explicit VR big endian (retired in 2004) is left to the server to transcode, like the JPEG family.

const J2K = new Set(['1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.4.91']);
const JLS = new Set(['1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.4.81']);
const RLE = '1.2.840.10008.1.2.5';

const NAMES: Record<string, string> = {
  '1.2.840.10008.1.2.4.50': 'JPEG Baseline',
  '1.2.840.10008.1.2.4.51': 'JPEG Extended',
  '1.2.840.10008.1.2.4.57': 'JPEG Lossless',
  '1.2.840.10008.1.2.4.70': 'JPEG Lossless SV1',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS Lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS Near-Lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 Lossless',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
  '1.2.840.10008.1.2.4.201': 'HTJ2K Lossless',
  '1.2.840.10008.1.2.4.202': 'HTJ2K Lossless RPCL',
  '1.2.840.10008.1.2.4.203': 'HTJ2K',
  '1.2.840.10008.1.2.5': 'RLE Lossless',
};

export function transferSyntaxName(uid: string): string {
  return NAMES[uid] ? `${NAMES[uid]} (${uid})` : uid;
}

/** True when pixel data in this transfer syntax can be used here without asking a server to transcode. */
export function canDecodeLocally(transferSyntaxUID: string): boolean {
  return (
    NATIVE_SYNTAXES.has(transferSyntaxUID) ||
    J2K.has(transferSyntaxUID) ||
    JLS.has(transferSyntaxUID) ||
    transferSyntaxUID === RLE
  );
}

/** What a frame should decode to (from the DICOM header). */
export interface FrameLayout {
  rows: number;
  columns: number;
  bitsAllocated: number;
  samplesPerPixel: number;
}

/** The shape of an Emscripten/embind codec module of @cornerstonejs/codec-*. */
export interface WasmCodecModule {
  J2KDecoder?: new () => WasmDecoder;
  JpegLSDecoder?: new () => WasmDecoder;
}
interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number };
  delete(): void;
}

let openjpeg: Promise<WasmCodecModule> | undefined;
let charls: Promise<WasmCodecModule> | undefined;

type CodecFactory = (moduleArg: { print: () => void; printErr: () => void }) => Promise<WasmCodecModule>;
// The codecs print progress ("[INFO] Main header has been correctly decoded.") on stdout: silence them.
const quiet = { print: () => undefined, printErr: () => undefined };

function loadOpenJpeg(): Promise<WasmCodecModule> {
  openjpeg ??= (require('@cornerstonejs/codec-openjpeg/decodewasmjs') as CodecFactory)(quiet);
  return openjpeg;
}

function loadCharls(): Promise<WasmCodecModule> {
  charls ??= (require('@cornerstonejs/codec-charls/decodewasmjs') as CodecFactory)(quiet);
  return charls;
}

/**
 * Decodes one compressed frame to native little-endian bytes (rows * columns * samples * bytes per
 * sample; for BitsAllocated 1 the packed bits of this frame). Throws NnsamError naming `where`.
 */
export async function decodeFrame(
  transferSyntaxUID: string,
  encoded: Uint8Array,
  layout: FrameLayout,
  where: string,
): Promise<Uint8Array> {
  const expected = frameByteLength(layout);
  let out: Uint8Array;
  try {
    if (transferSyntaxUID === RLE) {
      out = decodeRle(encoded, layout);
    } else if (J2K.has(transferSyntaxUID)) {
      const mod = await loadOpenJpeg();
      out = runWasmDecoder(new mod.J2KDecoder!(), encoded, layout);
    } else if (JLS.has(transferSyntaxUID)) {
      const mod = await loadCharls();
      out = runWasmDecoder(new mod.JpegLSDecoder!(), encoded, layout);
    } else {
      throw new NnsamError(
        'unsupported_transfer_syntax',
        `${where}: pixel data in ${transferSyntaxName(transferSyntaxUID)} cannot be decoded here`,
        {
          hint:
            'Load the series from a DICOMweb server (it is asked to transcode), or convert the files to an ' +
            'uncompressed transfer syntax first (e.g. `gdcmconv --raw` or `dcmdjpeg`).',
        },
      );
    }
  } catch (e) {
    if (e instanceof NnsamError) throw e;
    throw new NnsamError(
      'invalid_pixel_data',
      `${where}: ${transferSyntaxName(transferSyntaxUID)} pixel data cannot be decoded (${(e as Error).message ?? e})`,
      { cause: e },
    );
  }
  if (out.length < expected) {
    throw new NnsamError(
      'invalid_pixel_data',
      `${where}: a ${transferSyntaxName(transferSyntaxUID)} frame decoded to ${out.length} bytes, expected ${expected} ` +
        `(${layout.columns}x${layout.rows}, ${layout.bitsAllocated} bits, ${layout.samplesPerPixel} samples)`,
    );
  }
  return out.length === expected ? out : out.subarray(0, expected);
}

export function frameByteLength(layout: FrameLayout): number {
  const pixels = layout.rows * layout.columns * layout.samplesPerPixel;
  return layout.bitsAllocated === 1 ? Math.ceil(pixels / 8) : pixels * (layout.bitsAllocated / 8);
}

function runWasmDecoder(decoder: WasmDecoder, encoded: Uint8Array, layout: FrameLayout): Uint8Array {
  try {
    decoder.getEncodedBuffer(encoded.length).set(encoded);
    decoder.decode();
    const info = decoder.getFrameInfo();
    if (info.width !== layout.columns || info.height !== layout.rows) {
      throw new Error(
        `the codestream is ${info.width}x${info.height} but the header says ${layout.columns}x${layout.rows}`,
      );
    }
    if (info.componentCount !== layout.samplesPerPixel) {
      throw new Error(
        `the codestream has ${info.componentCount} components, the header says ${layout.samplesPerPixel}`,
      );
    }
    // copy out of the WebAssembly heap before the decoder is freed
    return new Uint8Array(decoder.getDecodedBuffer());
  } finally {
    decoder.delete();
  }
}

/**
 * RLE Lossless (PS3.5 Annex G): a 64-byte header with up to 15 segment offsets, one PackBits segment per
 * byte plane (most significant byte first) per sample.
 */
export function decodeRle(encoded: Uint8Array, layout: FrameLayout): Uint8Array {
  if (encoded.length < 64) throw new Error('the RLE header is shorter than 64 bytes');
  const view = new DataView(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  const segments = view.getUint32(0, true);
  const bytesPerSample = layout.bitsAllocated === 1 ? 1 : layout.bitsAllocated / 8;
  const expectedSegments = bytesPerSample * layout.samplesPerPixel;
  if (segments !== expectedSegments) {
    throw new Error(`the RLE header lists ${segments} segments, expected ${expectedSegments}`);
  }
  const pixels = layout.rows * layout.columns;
  const planeLength = layout.bitsAllocated === 1 ? Math.ceil(pixels / 8) : pixels;
  const out = new Uint8Array(frameByteLength(layout));
  for (let s = 0; s < segments; s++) {
    const start = view.getUint32(4 + 4 * s, true);
    const end = s + 1 < segments ? view.getUint32(8 + 4 * s, true) : encoded.length;
    if (start < 64 || start > end || end > encoded.length)
      throw new Error(`RLE segment ${s + 1} is out of range`);
    const plane = unpackBits(encoded.subarray(start, end), planeLength);
    const sample = Math.floor(s / bytesPerSample);
    const byteInSample = bytesPerSample - 1 - (s % bytesPerSample); // segments are MSB first
    if (layout.bitsAllocated === 1) {
      out.set(plane);
      continue;
    }
    // interleave: pixel p, sample `sample`, little-endian byte `byteInSample`
    const stride = bytesPerSample * layout.samplesPerPixel;
    const base = sample * bytesPerSample + byteInSample;
    for (let p = 0; p < pixels; p++) out[p * stride + base] = plane[p]!;
  }
  return out;
}

function unpackBits(src: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let i = 0;
  let o = 0;
  while (i < src.length && o < length) {
    const n = (src[i++]! << 24) >> 24; // signed byte
    if (n >= 0) {
      const count = n + 1;
      if (i + count > src.length) throw new Error('an RLE literal run passes the end of its segment');
      out.set(src.subarray(i, i + Math.min(count, length - o)), o);
      i += count;
      o += count;
    } else if (n !== -128) {
      const count = 1 - n;
      if (i >= src.length) throw new Error('an RLE replicate run passes the end of its segment');
      out.fill(src[i++]!, o, Math.min(length, o + count));
      o += count;
    }
  }
  if (o < length) throw new Error(`an RLE segment decodes to ${o} bytes, expected ${length}`);
  return out;
}
