import { describe, expect, it } from 'vitest';

import { decodeLabelSlice, encodeLabelSlice, LabelmapPayload } from './labelmap.js';

function blobs(rows: number, cols: number): Uint8Array {
  const out = new Uint8Array(rows * cols);
  for (let j = 0; j < rows; j++)
    for (let i = 0; i < cols; i++) {
      if ((i - 60) ** 2 + (j - 70) ** 2 < 400) out[i + j * cols] = 1;
      if ((i - 150) ** 2 + (j - 120) ** 2 < 900) out[i + j * cols] = 3;
    }
  return out;
}

describe('labelmap RLE', () => {
  it('round-trips a slice exactly and compactly', () => {
    const slice = blobs(256, 256);
    const enc = encodeLabelSlice(slice);
    expect(enc.length).toBeLessThan(2000);
    expect(decodeLabelSlice(enc, slice.length)).toEqual(slice);
  });

  it('round-trips edge cases: empty, one pixel, long uniform runs, every value', () => {
    for (const slice of [
      new Uint8Array(1),
      Uint8Array.from([255]),
      new Uint8Array(1 << 20).fill(7),
      Uint8Array.from({ length: 256 }, (_, n) => n),
    ]) {
      expect(decodeLabelSlice(encodeLabelSlice(slice), slice.length)).toEqual(slice);
    }
  });

  it('agrees with Node base64', () => {
    const enc = encodeLabelSlice(Uint8Array.from([1, 1, 2, 0, 0, 0, 0]));
    expect(Buffer.from(enc, 'base64')).toEqual(Buffer.from([1, 2, 2, 1, 0, 4]));
  });

  it('rejects streams of the wrong size or malformed', () => {
    const enc = encodeLabelSlice(new Uint8Array(100));
    expect(() => decodeLabelSlice(enc, 99)).toThrow(/more than 99/);
    expect(() => decodeLabelSlice(enc, 101)).toThrow(/expected 101/);
    expect(() => decodeLabelSlice('not base64!', 4)).toThrow(/not base64/);
    expect(() => decodeLabelSlice(Buffer.from([1, 0x80]).toString('base64'), 4)).toThrow(/ends inside/);
  });

  it('validates payloads strictly', () => {
    const ok = {
      encoding: 'rle-u8-v1',
      studyInstanceUID: '1.2',
      seriesInstanceUID: '1.2.3',
      rows: 2,
      columns: 2,
      slices: [{ sopInstanceUID: '1.2.3.4', labels: encodeLabelSlice([0, 1, 1, 0]) }],
    };
    expect(LabelmapPayload.parse(ok)).toEqual(ok);
    expect(() => LabelmapPayload.parse({ ...ok, slices: [] })).toThrow();
    expect(() => LabelmapPayload.parse({ ...ok, extra: 1 })).toThrow();
  });
});
