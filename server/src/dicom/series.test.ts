// Series -> volume against SimpleITK/GDCM: sorting, geometry, tilt, uneven spacing, codecs, missing UIDs.
import { readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { createLogger } from '../util/logger.js';
import { dot, normalize, cross, voxelToPatient } from '../volume/index.js';
import { parsePart10, writePart10 } from './part10.js';
import { loadSeriesFromFiles, type DicomSeries } from './series.js';
import { fixture, pydicomPositions, sitkRead, tempDir } from '../../../test/support/dicom-tools.js';

const quiet = createLogger({}, { sink: () => undefined });
const tmp = tempDir();
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function files(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => !f.endsWith('.nii.gz'))
    .map((f) => join(dir, f))
    .sort();
}

function close(a: number[], b: number[], tol = 1e-4): void {
  expect(a.length).toBe(b.length);
  a.forEach((v, n) => expect(Math.abs(v - b[n]!)).toBeLessThanOrEqual(tol));
}

/** Compares our volume with SimpleITK's reading of the files in our slice order. */
function expectSameAsSitk(series: DicomSeries, byUid: Map<string, string>): void {
  const ordered = series.slices.map((s) => byUid.get(s.sopInstanceUID)!);
  const ref = sitkRead(ordered);
  const g = series.volume.geometry;
  expect(ref.dims).toEqual(g.dims);
  close(ref.origin, g.origin, 1e-3);
  close(ref.spacing.slice(0, 2), g.spacing.slice(0, 2), 1e-5);
  close(ref.direction.slice(0, 2), [g.direction[0][0], g.direction[1][0]], 1e-6);
  let diff = 0;
  for (let n = 0; n < ref.data.length; n++) if (ref.data[n] !== series.volume.data[n]) diff++;
  expect(diff).toBe(0);
}

describe('series -> volume', () => {
  it('builds the 3-slice CT like SimpleITK (GDCM), sorted along the slice normal', async () => {
    const dir = fixture('dcmqi', 'ct-3slice');
    const series = await loadSeriesFromFiles(dir, { logger: quiet });
    const g = series.volume.geometry;
    expect(g.dims).toEqual([512, 512, 3]);
    expect(series.volume.data).toBeInstanceOf(Int16Array);
    expect(series.warnings).toEqual([]);
    // k ascends along the normal (0,0,1): z = -128.69, -127.69, -126.69 = files 03, 02, 01
    expect(series.slices.map((s) => s.position[2])).toEqual([-128.690002, -127.690002, -126.690002]);
    expect(series.slices.map((s) => s.sopInstanceUID.split('.').slice(-2).join('.'))).toEqual([
      '23433.1',
      '23432.1',
      '23431.1',
    ]);
    close(g.spacing, [0.810547, 0.810547, 1], 1e-5);
    const positions = pydicomPositions(files(dir));
    series.slices.forEach((s, k) => close(voxelToPatient(g, 0, 0, k), positions[s.sopInstanceUID]!, 1e-4));
    const byUid = new Map(
      Object.keys(positions).map((uid) => [uid, files(dir).find((f) => readFileSync(f).includes(uid))!]),
    );
    expectSameAsSitk(series, byUid);
    expect(series.meta).toMatchObject({
      studyInstanceUID: '1.2.392.200103.20080913.113635.0.2009.6.22.21.43.10.22941.1',
      seriesInstanceUID: '1.2.392.200103.20080913.113635.1.2009.6.22.21.43.10.23430.1',
      frameOfReferenceUID: '1.2.392.200103.20080913.113635.3.2009.6.22.21.44.34.23882.1',
      modality: 'CT',
      derivedUids: [],
    });
  });

  it('reads an enhanced multi-frame CT like the same images stored one per file', async () => {
    const single = await loadSeriesFromFiles(fixture('dcmqi', '24x38x3', 'image'), { logger: quiet });
    const multi = await loadSeriesFromFiles(fixture('dcmqi', '24x38x3', 'multiframe'), { logger: quiet });
    expect(multi.volume.geometry).toEqual(single.volume.geometry);
    expect(Array.from(multi.volume.data)).toEqual(Array.from(single.volume.data));
    expect(multi.slices.map((s) => s.frameNumber)).toEqual([1, 2, 3]);
    expect(new Set(multi.slices.map((s) => s.sopInstanceUID)).size).toBe(1);
    expect(single.slices.every((s) => s.frameNumber === undefined)).toBe(true);
  });

  it('keeps a gantry-tilted, unevenly spaced head CT as acquired and says so', async () => {
    const dir = fixture('dcm_qa_ct_GE_headCT');
    const series = await loadSeriesFromFiles(dir, { logger: quiet });
    const g = series.volume.geometry;
    expect(g.dims).toEqual([512, 512, 28]);
    expect(series.tiltDegrees).toBeCloseTo(18.5, 1);
    expect(series.warnings.join('\n')).toMatch(/gantry tilt of 18\.5\d degrees/);
    expect(series.warnings.join('\n')).toMatch(/uneven slice spacing: gaps from 1\.08\d to 6\.99\d mm/);
    expect(series.spacing.uniform).toBe(false);
    const normal = normalize(cross(g.direction[0], g.direction[1]));
    expect(Math.abs(dot(normal, g.direction[2]))).toBeLessThan(0.96); // k is not orthogonal to the slices
    // every slice keeps its real position, in ascending order along the normal
    const positions = pydicomPositions(files(dir));
    const depth = series.slices.map((s) => dot(s.position, normal));
    expect(depth).toEqual([...depth].sort((a, b) => a - b));
    series.slices.forEach((s) => close(s.position, positions[s.sopInstanceUID]!, 1e-6));
  });

  it('fills empty UIDs of the JPEG 2000 CT deterministically and decodes it like GDCM', async () => {
    const dir = fixture('totalsegmentator_ct20');
    const a = await loadSeriesFromFiles(dir, { logger: quiet });
    const b = await loadSeriesFromFiles(files(dir).reverse(), { logger: quiet });
    expect(a.meta.transferSyntaxes).toEqual(['1.2.840.10008.1.2.4.90']);
    expect(a.meta.seriesInstanceUID).toMatch(/^2\.25\.\d+$/);
    expect(b.meta.seriesInstanceUID).toBe(a.meta.seriesInstanceUID);
    expect(b.meta.studyInstanceUID).toBe(a.meta.studyInstanceUID);
    expect(a.meta.derivedUids.map((d) => d.attribute)).toEqual(['SeriesInstanceUID', 'StudyInstanceUID']);
    expect(a.warnings.join('\n')).toMatch(
      /SeriesInstanceUID was empty: using 2\.25\.\d+, derived from the content/,
    );
    expect(a.warnings.join('\n')).toMatch(
      /skipped 1 file\(s\) that are not DICOM: example_seg_dicom\.nii\.gz/,
    );
    // SOP Instance UIDs come from the file meta information (the file names carry them too)
    for (const s of a.slices) expect(files(dir).some((f) => f.endsWith(`CT.${s.sopInstanceUID}`))).toBe(true);
    expect(a.slices.map((s) => s.sopClassUID)).toEqual(Array(20).fill('1.2.840.10008.5.1.4.1.1.2'));
    const byUid = new Map(a.slices.map((s) => [s.sopInstanceUID, join(dir, `CT.${s.sopInstanceUID}`)]));
    expectSameAsSitk(a, byUid);
    await expect(loadSeriesFromFiles(dir, { logger: quiet, missingUids: 'reject' })).rejects.toMatchObject({
      code: 'missing_uid',
      message: expect.stringMatching(/StudyInstanceUID|SeriesInstanceUID|SOPInstanceUID/),
    });
  });

  it('refuses a folder with two series and loads the one asked for', async () => {
    const dir = join(tmp, 'mixed');
    for (const [src, names] of [
      [fixture('dcmqi', 'ct-3slice'), ['01.dcm', '02.dcm', '03.dcm']],
      [fixture('dcmqi', '24x38x3', 'image'), ['IMG0001.dcm', 'IMG0002.dcm']],
    ] as const) {
      for (const n of names) {
        const target = join(dir, `${names.length}-${n}`);
        (await import('node:fs')).mkdirSync(dir, { recursive: true });
        symlinkSync(join(src, n), target);
      }
    }
    const error = await loadSeriesFromFiles(dir, { logger: quiet }).catch((e: Error) => e);
    expect(error).toMatchObject({
      code: 'mixed_series',
      message: expect.stringMatching(/holds 2 image series: /),
    });
    expect((error as Error).message).toMatch(/23430\.1 \(3 images, CT/);
    expect((error as Error).message).toMatch(/569139 \(2 images/);
    const chosen = await loadSeriesFromFiles(dir, {
      logger: quiet,
      seriesInstanceUID: '1.2.392.200103.20080913.113635.1.2009.6.22.21.43.10.23430.1',
    });
    expect(chosen.volume.geometry.dims).toEqual([512, 512, 3]);
  });

  it('names the file without pixel data, the duplicate slice and the non-DICOM file', async () => {
    const src = fixture('dcmqi', '24x38x3', 'image');
    const original = parsePart10(readFileSync(join(src, 'IMG0002.dcm')), 'IMG0002.dcm').dataset;

    const noPixels = join(tmp, 'no-pixels');
    (await import('node:fs')).mkdirSync(noPixels);
    symlinkSync(join(src, 'IMG0001.dcm'), join(noPixels, 'a.dcm'));
    const stripped = { ...original };
    delete stripped.PixelData;
    writeFileSync(join(noPixels, 'b.dcm'), writePart10(stripped));
    await expect(loadSeriesFromFiles(noPixels, { logger: quiet })).rejects.toThrow(
      /b\.dcm has no pixel data/,
    );

    const duplicate = join(tmp, 'duplicate');
    (await import('node:fs')).mkdirSync(duplicate);
    symlinkSync(join(src, 'IMG0002.dcm'), join(duplicate, 'a.dcm'));
    writeFileSync(join(duplicate, 'b.dcm'), writePart10({ ...original, SOPInstanceUID: '2.25.99' }));
    await expect(loadSeriesFromFiles(duplicate, { logger: quiet })).rejects.toMatchObject({
      code: 'duplicate_slice_position',
      message: expect.stringMatching(/a\.dcm and .*b\.dcm lie at the same position/),
    });

    const noGeometry = join(tmp, 'no-geometry');
    (await import('node:fs')).mkdirSync(noGeometry);
    const flat = { ...original };
    delete flat.ImagePositionPatient;
    writeFileSync(join(noGeometry, 'c.dcm'), writePart10(flat));
    await expect(loadSeriesFromFiles(noGeometry, { logger: quiet })).rejects.toThrow(
      /c\.dcm has no valid ImagePositionPatient/,
    );

    const text = join(tmp, 'notes.txt');
    writeFileSync(text, 'not an image');
    await expect(
      loadSeriesFromFiles([join(src, 'IMG0001.dcm'), text], { logger: quiet }),
    ).rejects.toMatchObject({
      code: 'not_dicom',
      message: expect.stringContaining('notes.txt'),
    });
  });
});
