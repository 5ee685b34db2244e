import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { NnsamError } from '../util/errors.js';
import { decodeRle } from './codecs.js';
import { parsePart10, str, writePart10 } from './part10.js';
import { frameBytes } from './pixel-data.js';
import { fixture } from '../../../test/support/dicom-tools.js';

function expectNnsam(fn: () => unknown, code: string, message: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(NnsamError);
    expect((e as NnsamError).code).toBe(code);
    expect((e as NnsamError).message).toMatch(message);
    return;
  }
  throw new Error(`expected NnsamError ${code}`);
}

describe('Part 10 files', () => {
  const ctPath = fixture('dcmqi', 'ct-3slice', '01.dcm');
  const ct = readFileSync(ctPath);

  it('parses a real CT file with its transfer syntax and attributes', () => {
    const p = parsePart10(ct, ctPath);
    expect(p.transferSyntaxUID).toBe('1.2.840.10008.1.2');
    expect(str(p.dataset, 'SOPInstanceUID')).toBe(
      '1.2.392.200103.20080913.113635.2.2009.6.22.21.43.10.23431.1',
    );
  });

  it('refuses bytes that are not DICOM, naming the source', () => {
    expectNnsam(
      () => parsePart10(new TextEncoder().encode('hello'), 'notes.txt'),
      'not_dicom',
      /notes\.txt is not a DICOM Part 10 file/,
    );
    const nifti = readFileSync(fixture('totalsegmentator_ct20', 'example_seg_dicom.nii.gz'));
    expectNnsam(() => parsePart10(nifti, 'seg.nii.gz'), 'not_dicom', /seg\.nii\.gz/);
  });

  it('refuses truncated files with the element and offset (dcmjs alone accepts them)', () => {
    // cut in the meta group, in the data set, inside the pixel data and one byte short
    for (const length of [140, 1000, 5000, ct.length - 1000, ct.length - 1]) {
      expectNnsam(
        () => parsePart10(ct.subarray(0, length), 'cut.dcm'),
        'truncated_dicom',
        /cut\.dcm is truncated: .* at byte \d+ needs \d+ bytes but the file ends at byte \d+/,
      );
    }
    expectNnsam(
      () => parsePart10(ct.subarray(0, ct.length - 1000), 'cut.dcm'),
      'truncated_dicom',
      /\(7FE0,0010\)/,
    );
  });

  it('refuses a truncated SEG (nested sequences) and a truncated JPEG 2000 file', () => {
    const seg = readFileSync(fixture('dcmqi', 'liver.dcm'));
    expectNnsam(
      () => parsePart10(seg.subarray(0, 3000), 'seg.dcm'),
      'truncated_dicom',
      /seg\.dcm is truncated/,
    );
    const j2kPath = join(
      fixture('totalsegmentator_ct20'),
      'CT.1.3.12.2.1107.5.1.4.60064.30000022120808113428000016573',
    );
    const j2k = readFileSync(j2kPath);
    expectNnsam(
      () => parsePart10(j2k.subarray(0, j2k.length - 500), 'j2k.dcm'),
      'truncated_dicom',
      /pixel data fragment|encapsulated pixel data/,
    );
  });

  it('writes Explicit VR Little Endian files that read back with the same values', () => {
    const bytes = writePart10({
      SOPClassUID: '1.2.840.10008.5.1.4.1.1.7',
      SOPInstanceUID: '2.25.1234',
      PatientName: 'Doe^Jane',
      SpecificCharacterSet: 'ISO_IR 192',
      StudyDescription: 'Tête – thorax',
      Rows: 2,
      Columns: 2,
    });
    const p = parsePart10(bytes, 'written');
    expect(p.transferSyntaxUID).toBe('1.2.840.10008.1.2.1');
    expect(str(p.dataset, 'SOPInstanceUID')).toBe('2.25.1234');
    expect(str(p.dataset, 'PatientName')).toBe('Doe^Jane');
    expect(str(p.dataset, 'StudyDescription')).toBe('Tête – thorax');
    expect(str(p.meta, 'MediaStorageSOPInstanceUID')).toBe('2.25.1234');
  });

  it('reports pixel data shorter than the header promises', async () => {
    const p = parsePart10(ct, ctPath);
    p.dataset.PixelData = [new Uint8Array(1000).buffer];
    await expect(frameBytes(p)).rejects.toThrow(
      /pixel data has 1000 bytes but 1 frame\(s\) of 512x512 at 16 bits need 524288/,
    );
    delete p.dataset.PixelData;
    await expect(frameBytes(p)).rejects.toThrow(/has no pixel data/);
  });
});

describe('RLE Lossless', () => {
  it('unpacks the PackBits example of Apple TN1023 (independent reference)', () => {
    const packed = [0xfe, 0xaa, 0x02, 0x80, 0x00, 0x2a, 0xfd, 0xaa, 0x03, 0x80, 0x00, 0x2a, 0x22, 0xf7, 0xaa];
    const expected = [
      0xaa, 0xaa, 0xaa, 0x80, 0x00, 0x2a, 0xaa, 0xaa, 0xaa, 0xaa, 0x80, 0x00, 0x2a, 0x22, 0xaa, 0xaa, 0xaa,
      0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
    ];
    const header = new Uint8Array(64);
    new DataView(header.buffer).setUint32(0, 1, true);
    new DataView(header.buffer).setUint32(4, 64, true);
    const frame = new Uint8Array([...header, ...packed]);
    const out = decodeRle(frame, { rows: 4, columns: 6, bitsAllocated: 8, samplesPerPixel: 1 });
    expect(Array.from(out)).toEqual(expected);
  });

  it('puts the high-byte segment first for 16-bit samples', () => {
    const header = new Uint8Array(64);
    const v = new DataView(header.buffer);
    v.setUint32(0, 2, true);
    v.setUint32(4, 64, true);
    v.setUint32(8, 67, true);
    // 2 pixels: high bytes [0x01, 0x02] (literal run of 2), low bytes [0x03, 0x04]
    const frame = new Uint8Array([...header, 0x01, 0x01, 0x02, 0x01, 0x03, 0x04]);
    const out = decodeRle(frame, { rows: 1, columns: 2, bitsAllocated: 16, samplesPerPixel: 1 });
    expect(Array.from(new Uint16Array(out.buffer))).toEqual([0x0103, 0x0204]);
    expect(() =>
      decodeRle(frame.subarray(0, 66), { rows: 1, columns: 2, bitsAllocated: 16, samplesPerPixel: 1 }),
    ).toThrow(/RLE/);
  });
});
