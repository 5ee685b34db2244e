import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createLogger } from '../util/logger.js';
import { parsePart10, writePart10 } from './part10.js';
import { parseSeg, readSeg } from './seg-read.js';
import { loadSeriesFromFiles, type DicomSeries } from './series.js';
import {
  fixture,
  pydicomSegFrames,
  sitkRead,
  tempDir,
  type PyFrame,
} from '../../../test/support/dicom-tools.js';

const quiet = createLogger({}, { sink: () => undefined });
const tmp = tempDir();
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let ct3: DicomSeries;
let tiny: DicomSeries;
let ct2: DicomSeries;
beforeAll(async () => {
  ct3 = await loadSeriesFromFiles(fixture('dcmqi', 'ct-3slice'), { logger: quiet });
  tiny = await loadSeriesFromFiles(fixture('dcmqi', '24x38x3', 'image'), { logger: quiet });
  ct2 = await loadSeriesFromFiles(fixture('highdicom_seg_fixtures', 'ct2_series'), { logger: quiet });
});

function count(a: ArrayLike<number>, value?: number): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (value === undefined ? a[i] : a[i] === value) n++;
  return n;
}

/** Our labels must equal a reference volume (same grid) voxel for voxel. */
function expectEqualVolume(ours: ArrayLike<number>, reference: ArrayLike<number>): void {
  expect(ours.length).toBe(reference.length);
  let diff = 0;
  for (let n = 0; n < ours.length; n++) if (ours[n] !== reference[n]) diff++;
  expect(diff).toBe(0);
}

/** Each pydicom frame, placed on the slice its reference names, must equal our segment mask there. */
function expectFramesMatch(
  series: DicomSeries,
  frames: PyFrame[],
  mask: (segment: number) => Uint8Array,
  threshold = true,
): void {
  const perSlice = series.volume.geometry.dims[0] * series.volume.geometry.dims[1];
  for (const f of frames) {
    const k = series.slices.findIndex((s) => s.sopInstanceUID === f.sop);
    expect(k).toBeGreaterThanOrEqual(0);
    const ours = mask(f.segment!).subarray(k * perSlice, (k + 1) * perSlice);
    expectEqualVolume(ours, threshold ? f.pixels.map((v) => (v ? 1 : 0)) : f.pixels);
  }
}

describe('reading DICOM SEG', () => {
  it('reads the dcmqi liver SEG exactly as the labelmap it was made from (NRRD, via SimpleITK)', async () => {
    const result = await readSeg(readFileSync(fixture('dcmqi', 'liver.dcm')), ct3, { where: 'liver.dcm' });
    const reference = sitkRead([fixture('dcmqi', 'liver_seg.nrrd')]);
    expect(reference.dims).toEqual(ct3.volume.geometry.dims);
    reference.origin.forEach((v, n) => expect(v).toBeCloseTo(ct3.volume.geometry.origin[n]!, 3));
    expectEqualVolume(result.labels.data, reference.data);
    expect(count(result.labels.data)).toBeGreaterThan(100_000);
    expect(result.segments).toMatchObject([
      { segmentNumber: 1, label: 'Liver', labelValue: 1, frameCount: 3 },
    ]);
    expect(result.segments[0]!.type).toEqual({ value: 'T-62000', scheme: 'SRT', meaning: 'Liver' });
    expect(result.labelledSlices).toEqual([0, 1, 2]);
    expect(result.matchedBy).toEqual({ reference: 3, position: 0 });
  });

  it('reads the tiny dcmqi SEG like its NRRD, and the same SEG on the multi-frame copy by position', async () => {
    const bytes = readFileSync(fixture('dcmqi', '24x38x3', 'seg', 'label.seg'));
    const result = await readSeg(bytes, tiny);
    const reference = sitkRead([fixture('dcmqi', '24x38x3', 'nrrd', 'label.nrrd')]);
    expectEqualVolume(result.labels.data, reference.data);
    expect(count(result.labels.data, 1)).toBe(315);
    // the enhanced copy has other SOP Instance UIDs but the same frame of reference and positions
    const multi = await loadSeriesFromFiles(fixture('dcmqi', '24x38x3', 'multiframe'), { logger: quiet });
    const byPosition = await readSeg(bytes, multi);
    expect(byPosition.matchedBy).toEqual({ reference: 0, position: 3 });
    expect(byPosition.warnings.join()).toMatch(/placed by position/);
    expectEqualVolume(byPosition.labels.data, reference.data);
  });

  it('keeps every segment of the dcmqi overlap SEG (higher number wins in the label volume)', async () => {
    const path = fixture('dcmqi', 'partial_overlaps.dcm');
    const result = await readSeg(readFileSync(path), ct3);
    const py = pydicomSegFrames(path);
    expect(result.segments.map((s) => s.label)).toEqual([
      'GREEN',
      'ORANGE',
      'PURPLE',
      'LIGHT_BLUE',
      'DARK_BLUE',
    ]);
    expectFramesMatch(ct3, py.frames, (s) => result.segmentMask(s).data);
    expect(result.overlapVoxels).toBeGreaterThan(0);
    expect(result.warnings.join()).toMatch(/belong to more than one segment/);
    // label volume = highest segment present at each voxel
    const masks = [1, 2, 3, 4, 5].map((s) => result.segmentMask(s).data);
    const expected = new Uint8Array(result.labels.data.length);
    masks.forEach((m, n) => m.forEach((v, i) => v && (expected[i] = n + 1)));
    expectEqualVolume(result.labels.data, expected);
  });

  it('reads the highdicom binary, overlapping and fractional SEGs like pydicom', async () => {
    for (const name of [
      'seg_image_ct_binary',
      'seg_image_ct_binary_overlap',
      'seg_image_ct_binary_fractional',
      'seg_image_ct_true_fractional',
    ]) {
      const path = fixture('highdicom_seg_fixtures', `${name}.dcm`);
      const result = await readSeg(readFileSync(path), ct2, { where: name });
      const py = pydicomSegFrames(path);
      expectFramesMatch(ct2, py.frames, (s) => result.segmentMask(s).data);
      expect(result.segmentationType).toBe(py.type);
      expect(count(result.labels.data)).toBeGreaterThan(0);
      expect(result.labels.geometry.dims).toEqual([16, 16, 4]);
    }
  });

  it('reads the new Label Map Segmentation Storage objects (pixel value = segment, padding = background)', async () => {
    for (const name of ['sparse-labelmap-noppv.dcm', 'sparse-labelmap-ppv5.dcm']) {
      const path = fixture('dcmqi', name);
      const result = await readSeg(readFileSync(path), tiny, { where: name });
      expect(result.segmentationType).toBe('LABELMAP');
      expect(result.segments.map((s) => [s.segmentNumber, s.label])).toEqual([[1, 'Liver']]);
      const py = pydicomSegFrames(path);
      expect(py.frames).toHaveLength(2);
      expect(result.labelledSlices).toEqual([0, 2]);
      const perSlice = 24 * 38;
      for (const f of py.frames) {
        const k = tiny.slices.findIndex((s) => s.sopInstanceUID === f.sop);
        expectEqualVolume(result.labels.data.subarray(k * perSlice, (k + 1) * perSlice), f.pixels);
      }
      expect(count(result.labels.data, 1)).toBe(630);
    }
  });

  it('parses the TCIA SEG on its own and refuses it on a series of another grid', async () => {
    const bytes = readFileSync(fixture('orthanc_tcia_seg', 'DicomSeg.dcm'));
    const seg = await parseSeg(bytes, 'DicomSeg.dcm');
    expect(seg.frames).toHaveLength(96);
    expect(seg.segments.map((s) => s.label)).toEqual(['Necrosis', 'Edema', 'Enhancing Lesion']);
    expect(seg.referencedSeriesUIDs).toEqual([
      '1.3.6.1.4.1.14519.5.2.1.7695.4001.116744760614299221617250951944',
    ]);
    expect(new Set(seg.frames.map((f) => f.segmentNumber))).toEqual(new Set([1, 2, 3]));
    await expect(readSeg(seg, ct3)).rejects.toMatchObject({
      code: 'seg_grid_mismatch',
      message: expect.stringMatching(
        /DicomSeg\.dcm frames are 256x256 but the images of series .*23430\.1 are 512x512/,
      ),
    });
  });

  it('refuses a SEG that references another series (same grid, other UIDs and frame of reference)', async () => {
    // a copy of the 3-slice CT with new UIDs: same pixels and positions, but another series
    const dir = join(tmp, 'other-series');
    (await import('node:fs')).mkdirSync(dir);
    for (const n of ['01', '02', '03']) {
      const ds = parsePart10(readFileSync(fixture('dcmqi', 'ct-3slice', `${n}.dcm`)), n).dataset;
      writeFileSync(
        join(dir, `${n}.dcm`),
        writePart10({
          ...ds,
          SOPInstanceUID: `2.25.7${n}`,
          SeriesInstanceUID: '2.25.71',
          FrameOfReferenceUID: '2.25.72',
        }),
      );
    }
    const other = await loadSeriesFromFiles(dir, { logger: quiet });
    await expect(
      readSeg(readFileSync(fixture('dcmqi', 'liver.dcm')), other, { where: 'liver.dcm' }),
    ).rejects.toMatchObject({
      code: 'seg_wrong_series',
      message: expect.stringMatching(
        /liver\.dcm is in frame of reference .* but series 2\.25\.71 is in 2\.25\.72/,
      ),
    });
    // the highdicom single-frame SEG references an image that is not in ct2_series
    const single = fixture('highdicom_seg_fixtures', 'seg_image_ct_binary_single_frame.dcm');
    const ctImage = await loadSeriesFromFiles([fixture('highdicom_seg_fixtures', 'ct_image.dcm')], {
      logger: quiet,
    });
    const ok = await readSeg(readFileSync(single), ctImage);
    expect(ok.matchedBy.reference).toBe(1);
    await expect(readSeg(readFileSync(single), ct2)).rejects.toMatchObject({ code: 'seg_grid_mismatch' });
  });

  it('refuses objects that are not SEGs and truncated SEGs', async () => {
    await expect(
      readSeg(readFileSync(fixture('dcmqi', 'ct-3slice', '01.dcm')), ct3, { where: '01.dcm' }),
    ).rejects.toMatchObject({
      code: 'not_a_seg',
      message: expect.stringMatching(/01\.dcm is not a DICOM Segmentation .*modality CT/),
    });
    const seg = readFileSync(fixture('dcmqi', 'liver.dcm'));
    await expect(readSeg(seg.subarray(0, seg.length - 10), ct3, { where: 'cut.dcm' })).rejects.toMatchObject({
      code: 'truncated_dicom',
    });
  });
});
