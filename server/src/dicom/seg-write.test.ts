// writeSeg: masks on the right slices (our reader, pydicom, dciodvfy), exact positions, classes as JSON or a list.
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createLogger } from '../util/logger.js';
import { readNifti } from '../volume/index.js';
import type { Geometry, Volume } from '../volume/index.js';
import { parsePart10, seq, str } from './part10.js';
import { readSeg } from './seg-read.js';
import { writeSeg } from './seg-write.js';
import { loadSeriesFromFiles, type DicomSeries } from './series.js';
import {
  dciodvfy,
  fixture,
  pydicomPositions,
  pydicomSegFrames,
  tempDir,
} from '../../../test/support/dicom-tools.js';

const quiet = createLogger({}, { sink: () => undefined });
const tmp = tempDir();
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const algorithm = { name: 'nnSAM', version: '0.1.0-test' };

let ct3: DicomSeries;
let tilted: DicomSeries;
let multi: DicomSeries;
beforeAll(async () => {
  ct3 = await loadSeriesFromFiles(fixture('dcmqi', 'ct-3slice'), { logger: quiet });
  tilted = await loadSeriesFromFiles(fixture('dcm_qa_ct_GE_headCT'), { logger: quiet });
  multi = await loadSeriesFromFiles(fixture('dcmqi', '24x38x3', 'multiframe'), { logger: quiet });
});

/**
 * Labels that differ on every slice and are asymmetric in i and j: a rectangle whose corner moves with k
 * (class 1) and an L shape whose size depends on k (class 2, not on every slice). A frame put on the wrong
 * slice, or flipped, cannot match.
 */
function asymmetricLabels(g: Geometry, classTwoEvery = 2): Volume<Uint8Array> {
  const [nx, ny, nz] = g.dims;
  const data = new Uint8Array(nx * ny * nz);
  const s = Math.max(1, Math.floor(Math.min(nx, ny) / 24));
  for (let k = 0; k < nz; k++) {
    for (let j = 2 * s + k * s; j < 6 * s + 2 * k * s && j < ny; j++)
      for (let i = s + 2 * k * s; i < 4 * s + 3 * k * s && i < nx; i++) data[i + nx * (j + ny * k)] = 1;
    if (k % classTwoEvery === 0) {
      for (let j = ny - 8 * s; j < ny - s; j++) data[nx - 9 * s + nx * (j + ny * k)] = 2; // vertical bar
      for (let i = nx - 9 * s; i < nx - 9 * s + (2 + k) * s && i < nx; i++)
        data[i + nx * (ny - 2 * s + ny * k)] = 2;
    }
  }
  return { geometry: structuredClone(g), data };
}

function expectSame(a: ArrayLike<number>, b: ArrayLike<number>): void {
  expect(a.length).toBe(b.length);
  let diff = 0;
  for (let n = 0; n < a.length; n++) if (a[n] !== b[n]) diff++;
  expect(diff).toBe(0);
}

/**
 * The independent check: pydicom reads the SEG; every frame must carry the position of the image it
 * references (as pydicom reads that image) and exactly the mask of that image's slice.
 */
function expectFramesOnTheirSlices(
  series: DicomSeries,
  segPath: string,
  sourceFiles: string[],
  labels: Volume,
): void {
  const py = pydicomSegFrames(segPath);
  const positions = pydicomPositions(sourceFiles);
  const [nx, ny] = series.volume.geometry.dims;
  const perSlice = nx * ny;
  for (const f of py.frames) {
    const key = f.refFrame ? `${f.sop}#${f.refFrame}` : f.sop;
    expect(positions[key], `frame references ${key}`).toBeDefined();
    positions[key]!.forEach((v, n) => expect(f.ipp![n]).toBeCloseTo(v, 4));
    const k = series.slices.findIndex(
      (s) => s.sopInstanceUID === f.sop && (s.frameNumber ?? null) === (f.refFrame ?? null),
    );
    const expected = Array.from(labels.data.subarray(k * perSlice, (k + 1) * perSlice), (v) =>
      v === f.segment ? 1 : 0,
    );
    expectSame(f.pixels, expected);
    // and it is not the mask of a neighbour (the labels differ on every slice)
    for (const other of [k - 1, k + 1].filter((o) => o >= 0 && o < series.slices.length)) {
      const neighbour = Array.from(labels.data.subarray(other * perSlice, (other + 1) * perSlice), (v) =>
        v === f.segment ? 1 : 0,
      );
      expect(neighbour.some((v, n) => v !== f.pixels[n])).toBe(true);
    }
  }
  return;
}

function files(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => !f.endsWith('.nii.gz'))
    .map((f) => join(dir, f));
}

describe('writing DICOM SEG', () => {
  it('puts every mask on its own slice of the 3-slice CT (dciodvfy, our reader, pydicom)', async () => {
    const labels = asymmetricLabels(ct3.volume.geometry, 2);
    const written = writeSeg(
      labels,
      ct3,
      { '1': 'Liver', '2': { name: 'Left kidney', color: [0, 200, 0] } },
      algorithm,
      {
        logger: quiet,
      },
    );
    expect(written.frameCount).toBe(3 + 2);
    expect(written.segments.map((s) => [s.segmentNumber, s.name, s.frameCount])).toEqual([
      [1, 'Liver', 3],
      [2, 'Left kidney', 2],
    ]);
    const path = join(tmp, 'ct3.seg.dcm');
    writeFileSync(path, written.bytes);
    const report = dciodvfy(path);
    expect(report.errors, report.output).toEqual([]);

    const back = await readSeg(written.bytes, ct3);
    expectSame(back.labels.data, labels.data);
    expect(back.matchedBy).toEqual({ reference: 5, position: 0 });
    expectFramesOnTheirSlices(ct3, path, files(fixture('dcmqi', 'ct-3slice')), labels);

    // what the SEG says about itself
    const ds = parsePart10(written.bytes, 'written').dataset;
    expect(str(ds, 'SOPClassUID')).toBe('1.2.840.10008.5.1.4.1.1.66.4');
    expect(str(ds, 'SegmentationType')).toBe('BINARY');
    expect(str(ds, 'StudyInstanceUID')).toBe(ct3.meta.studyInstanceUID);
    expect(str(ds, 'FrameOfReferenceUID')).toBe(ct3.meta.frameOfReferenceUID);
    expect(str(seq(ds, 'ReferencedSeriesSequence')[0], 'SeriesInstanceUID')).toBe(ct3.meta.seriesInstanceUID);
    const [liver, kidney] = seq(ds, 'SegmentSequence');
    expect(str(liver, 'SegmentAlgorithmType')).toBe('AUTOMATIC');
    expect(str(seq(liver, 'SegmentedPropertyTypeCodeSequence')[0], 'CodeValue')).toBe('10200004');
    const kidneyType = seq(kidney, 'SegmentedPropertyTypeCodeSequence')[0];
    expect(str(kidneyType, 'CodeValue')).toBe('64033007');
    expect(str(seq(kidneyType, 'SegmentedPropertyTypeModifierCodeSequence')[0], 'CodeMeaning')).toBe('Left');
    const alg = seq(liver, 'SegmentationAlgorithmIdentificationSequence')[0];
    expect([str(alg, 'AlgorithmName'), str(alg, 'AlgorithmVersion')]).toEqual(['nnSAM', '0.1.0-test']);
    expect(back.segments[1]!.color).toEqual([0, 200, 0]);
    const dims = seq(ds, 'PerFrameFunctionalGroupsSequence').map(
      (f) => seq(f, 'FrameContentSequence')[0]!.DimensionIndexValues,
    );
    expect(dims).toEqual([
      [1, 1],
      [1, 2],
      [1, 3],
      [2, 1],
      [2, 3],
    ]);
    const sources = seq(ds, 'PerFrameFunctionalGroupsSequence').map(
      (f) => seq(seq(f, 'DerivationImageSequence')[0], 'SourceImageSequence')[0],
    );
    expect(sources.map((s) => str(s, 'SpatialLocationsPreserved'))).toEqual(Array(5).fill('YES'));
  });

  it('writes exact positions for a gantry-tilted, unevenly spaced series', async () => {
    const labels = asymmetricLabels(tilted.volume.geometry, 3);
    const written = writeSeg(labels, tilted, { '1': 'Brain', '2': 'Lesion' }, algorithm, { logger: quiet });
    const path = join(tmp, 'tilted.seg.dcm');
    writeFileSync(path, written.bytes);
    const report = dciodvfy(path);
    expect(report.errors, report.output).toEqual([]);
    const back = await readSeg(written.bytes, tilted);
    expectSame(back.labels.data, labels.data);
    expectFramesOnTheirSlices(tilted, path, files(fixture('dcm_qa_ct_GE_headCT')), labels);
    const ds = parsePart10(written.bytes, 'written').dataset;
    const measures = seq(seq(ds, 'SharedFunctionalGroupsSequence')[0], 'PixelMeasuresSequence')[0]!;
    expect(measures.SpacingBetweenSlices).toBeUndefined(); // uneven: not claimed
  });

  it('references frames of a multi-frame source by number', async () => {
    const labels = asymmetricLabels(multi.volume.geometry, 1);
    const written = writeSeg(labels, multi, { '1': 'Liver', '2': 'Spleen' }, algorithm, { logger: quiet });
    const path = join(tmp, 'multi.seg.dcm');
    writeFileSync(path, written.bytes);
    expect(dciodvfy(path).errors).toEqual([]);
    expectFramesOnTheirSlices(multi, path, [fixture('dcmqi', '24x38x3', 'multiframe', 'mf.dcm')], labels);
    expectSame((await readSeg(written.bytes, multi)).labels.data, labels.data);
  });

  it("writes TotalSegmentator's own labels for the JPEG 2000 CT (flipped j axis, 31 classes)", async () => {
    const series = await loadSeriesFromFiles(fixture('totalsegmentator_ct20'), { logger: quiet });
    const labels = await readNifti(fixture('totalsegmentator_ct20', 'example_seg_dicom.nii.gz'));
    const written = writeSeg(labels, series, undefined, algorithm, { logger: quiet });
    expect(written.warnings.join('\n')).toMatch(/reoriented to the series grid without resampling/);
    expect(written.warnings.join('\n')).toMatch(/are written as segments 1\.\.31/);
    expect(written.segments).toHaveLength(31);
    const path = join(tmp, 'ts.seg.dcm');
    writeFileSync(path, written.bytes);
    expect(dciodvfy(path).errors).toEqual([]);
    const back = await readSeg(written.bytes, series);
    // same voxels as the NIfTI once its j axis is turned round, segment n = n-th label value
    const [nx, ny, nz] = series.volume.geometry.dims;
    const values = written.segments.map((s) => s.labelValue);
    let diff = 0;
    for (let k = 0; k < nz; k++)
      for (let j = 0; j < ny; j++)
        for (let i = 0; i < nx; i++) {
          const v = labels.data[i + nx * (ny - 1 - j + ny * k)]!;
          const expected = v === 0 ? 0 : values.indexOf(v) + 1;
          if (back.labels.data[i + nx * (j + ny * k)] !== expected) diff++;
        }
    expect(diff).toBe(0);
  });

  it('states its policies: empty classes, empty results, unknown labels, other grids', async () => {
    const g = ct3.volume.geometry;
    const labels = asymmetricLabels(g, 100); // class 2 only on slice 0
    const withEmpty = writeSeg(labels, ct3, { '1': 'Liver', '2': 'Spleen', '3': 'Pancreas' }, algorithm, {
      logger: quiet,
    });
    expect(withEmpty.segments.map((s) => s.frameCount)).toEqual([3, 1, 0]);
    expect(withEmpty.warnings.join()).toMatch(
      /class 3 \(Pancreas\) has no voxels: its segment has no frames/,
    );
    const back = await readSeg(withEmpty.bytes, ct3);
    expect(back.segments.map((s) => s.label)).toEqual(['Liver', 'Spleen', 'Pancreas']);

    const empty = writeSeg(
      { geometry: g, data: new Uint8Array(labels.data.length) },
      ct3,
      { '1': 'Liver' },
      algorithm,
      { logger: quiet },
    );
    expect(empty.frameCount).toBe(1);
    expect(empty.warnings.join()).toMatch(/no foreground: the SEG holds one empty frame/);
    const emptyPath = join(tmp, 'empty.seg.dcm');
    writeFileSync(emptyPath, empty.bytes);
    expect(dciodvfy(emptyPath).errors).toEqual([]);

    expect(() => writeSeg(labels, ct3, { '1': 'Liver' }, algorithm, { logger: quiet })).toThrow(
      /holds value\(s\) 2 \(\d+ voxels\) that no class names/,
    );
    const wrongShape = {
      geometry: { ...g, dims: [512, 512, 2] as [number, number, number] },
      data: new Uint8Array(512 * 512 * 2),
    };
    expect(() => writeSeg(wrongShape, ct3, { '1': 'Liver' }, algorithm)).toThrow(
      /the labels are 512x512x2 voxels but series .* is 512x512x3/,
    );
    const shifted = {
      geometry: { ...g, origin: [g.origin[0] + 5, g.origin[1], g.origin[2]] as [number, number, number] },
      data: labels.data,
    };
    expect(() => writeSeg(shifted, ct3, { '1': 'Liver', '2': 'Spleen' }, algorithm)).toThrow(
      /not on the grid of series .*: voxel \(.*\) lies 5\.00 mm away/,
    );
    const fractional = { geometry: g, data: new Float32Array(labels.data.length).fill(0.5) };
    expect(() => writeSeg(fractional, ct3, { '1': 'Liver' }, algorithm)).toThrow(
      /labels must be whole numbers/,
    );
    expect(() => writeSeg(labels, ct3, { one: 'Liver' }, algorithm)).toThrow(/classes: "one"/);
  });

  it('gives unknown names a declared user-defined code, never a guessed SNOMED one', () => {
    const labels = asymmetricLabels(ct3.volume.geometry, 2);
    const written = writeSeg(labels, ct3, { '1': 'Liver', '2': 'Mystery blob' }, algorithm, {
      logger: quiet,
    });
    const ds = parsePart10(written.bytes, 'written').dataset;
    const type = seq(seq(ds, 'SegmentSequence')[1], 'SegmentedPropertyTypeCodeSequence')[0];
    expect(str(type, 'CodingSchemeDesignator')).toBe('99NNSAM');
    expect(str(type, 'CodeMeaning')).toBe('Mystery blob');
    expect(str(seq(ds, 'CodingSchemeIdentificationSequence')[0], 'CodingSchemeDesignator')).toBe('99NNSAM');
  });
});

describe('class definitions as a list (a project or model record)', () => {
  it('writes the same segments as the classes JSON of the same classes, whatever the list order', () => {
    const labels = asymmetricLabels(ct3.volume.geometry, 2);
    const category = { value: 'T-D0050', scheme: 'SRT', meaning: 'Tissue' };
    const fromJson = writeSeg(
      labels,
      ct3,
      { '1': 'Left kidney', '2': { name: 'Mass', color: [1, 2, 3], code: { category } } },
      algorithm,
      { logger: quiet },
    );
    const fromList = writeSeg(
      labels,
      ct3,
      [
        { value: 2, name: 'Mass', color: [1, 2, 3], category },
        { value: 1, name: 'Left kidney' },
      ],
      algorithm,
      { logger: quiet },
    );
    const segments = (bytes: Uint8Array) =>
      JSON.stringify(seq(parsePart10(bytes, 'written').dataset, 'SegmentSequence'));
    expect(segments(fromList.bytes)).toBe(segments(fromJson.bytes));
    expect(fromList.segments).toEqual(fromJson.segments);
  });

  it('refuses a label value listed twice (invalid_classes)', () => {
    const labels = asymmetricLabels(ct3.volume.geometry, 2);
    const twice = [
      { value: 1, name: 'Liver' },
      { value: 2, name: 'Spleen' },
      { value: 1, name: 'Kidney' },
    ];
    expect(() => writeSeg(labels, ct3, twice, algorithm, { logger: quiet })).toThrow(
      /classes: label value 1 is listed twice \("Liver", "Kidney"\)/,
    );
  });
});
