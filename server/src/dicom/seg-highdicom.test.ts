/**
 * Our SEGs as the Imaging Data Commons reads them: highdicom (test/python-requirements.lock) indexes every
 * frame by its source instance and builds a volume from the frame positions, both with default options
 * (no override of the spatial-locations check). Every voxel must equal the label volume the SEG came from.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createLogger } from '../util/logger.js';
import { affineLps } from '../volume/index.js';
import type { Volume } from '../volume/index.js';
import { writeSeg } from './seg-write.js';
import { loadSeriesFromFiles, type DicomSeries } from './series.js';
import { fixture, python, tempDir, testToolsPython } from '../../../test/support/dicom-tools.js';

const quiet = createLogger({}, { sink: () => undefined });
const tmp = tempDir('nnsam-highdicom-');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let ct3: DicomSeries;
beforeAll(async () => {
  ct3 = await loadSeriesFromFiles(fixture('dcmqi', 'ct-3slice'), { logger: quiet });
});

interface HighdicomReport {
  version: string;
  /** slices without a frame that get_pixels_by_source_instance refused with its default options */
  emptyRefused: number;
  /** per source instance (k) and segment: voxels in our labels, in highdicom's answer, and how many differ */
  byInstance: { k: number; segment: number; expected: number; got: number; diff: number }[];
  /** get_volume: its voxels mapped onto our grid through both affines */
  volume: { shape: number[]; offGrid: number; outside: number; diff: number; foreground: number };
}

// Label value = segment number (writeSeg numbers segments by ascending label value).
const script = `
import json, sys
import numpy as np, highdicom as hd
seg_path, labels_path, meta_path = sys.argv[1:4]
meta = json.load(open(meta_path))
nx, ny, nz = meta['dims']
labels = np.fromfile(labels_path, dtype=np.uint8).reshape(nz, ny, nx)  # [k, j, i]
segments = meta['segments']
seg = hd.seg.segread(seg_path)
out = {'version': hd.__version__, 'byInstance': []}
# A slice without foreground has no frame (as in dcmqi's and highdicom's own SEGs): highdicom indexes it only
# when told that missing frames are empty, and refuses it by default.
framed = [(labels[k] > 0).any() for k in range(nz)]
sops = [sop for k, sop in enumerate(meta['sops']) if framed[k]]
pix = seg.get_pixels_by_source_instance(sops)  # default options: (instance, row, column, segment)
out['emptyRefused'] = 0
for k in range(nz):
    if framed[k]:
        got_k = pix[sops.index(meta['sops'][k])]
    else:
        try:
            seg.get_pixels_by_source_instance([meta['sops'][k]])
        except KeyError:
            out['emptyRefused'] += 1
        got_k = seg.get_pixels_by_source_instance([meta['sops'][k]], assert_missing_frames_are_empty=True)[0]
    for n, s in enumerate(segments):
        want, got = labels[k] == s, got_k[:, :, n] != 0
        out['byInstance'].append({'k': k, 'segment': s, 'expected': int(want.sum()), 'got': int(got.sum()),
                                  'diff': int((want != got).sum())})
vol = seg.get_volume()
arr = np.asarray(vol.array)  # 3 spatial axes + one channel per segment
idx = np.indices(arr.shape[:3]).reshape(3, -1)
ours = np.linalg.inv(np.array(meta['affine'])) @ vol.affine  # highdicom voxel -> our voxel
ijk = ours[:3, :3] @ idx + ours[:3, 3:4]
rounded = np.rint(ijk).astype(np.int64)
off_grid = int((np.abs(ijk - rounded) > 1e-3).any(axis=0).sum())
i, j, k = rounded
inside = (i >= 0) & (i < nx) & (j >= 0) & (j < ny) & (k >= 0) & (k < nz)
diff = 0
for n, s in enumerate(segments):
    got = arr[..., n].reshape(-1) != 0
    want = np.zeros_like(got)
    want[inside] = labels[k[inside], j[inside], i[inside]] == s
    diff += int((got != want).sum())
covered = np.zeros(labels.shape, dtype=bool)
covered[k[inside], j[inside], i[inside]] = True
out['volume'] = {'shape': list(arr.shape), 'offGrid': off_grid, 'outside': int((~inside).sum()), 'diff': diff,
                 # foreground our labels hold where highdicom's volume does not reach
                 'foreground': int(((labels > 0) & ~covered).sum())}
print(json.dumps(out))
`;

function readWithHighdicom(name: string, labels: Volume<Uint8Array>, classes: Record<string, string>) {
  const written = writeSeg(labels, ct3, classes, { name: 'nnSAM', version: 'test' }, { logger: quiet });
  const seg = join(tmp, `${name}.seg.dcm`);
  const raw = join(tmp, `${name}.u8`);
  const meta = join(tmp, `${name}.json`);
  writeFileSync(seg, written.bytes);
  writeFileSync(raw, labels.data);
  writeFileSync(
    meta,
    JSON.stringify({
      dims: labels.geometry.dims,
      affine: affineLps(labels.geometry),
      segments: Object.keys(classes).map(Number),
      sops: ct3.slices.map((s) => s.sopInstanceUID),
    }),
  );
  return python<HighdicomReport>(script, [seg, raw, meta], testToolsPython());
}

function expectExact(report: HighdicomReport, nz: number, segments: number): void {
  expect(report.version).toBe('0.28.2');
  expect(report.byInstance).toHaveLength(nz * segments);
  for (const r of report.byInstance)
    expect(r, `slice ${r.k}, segment ${r.segment}`).toMatchObject({ diff: 0 });
  expect(report.volume).toMatchObject({ offGrid: 0, outside: 0, diff: 0, foreground: 0 });
}

describe('SEGs as highdicom reads them', () => {
  it('gives every slice of the real 3-slice CT its own mask, by source instance and as a volume', () => {
    const [nx, ny, nz] = ct3.volume.geometry.dims;
    const data = new Uint8Array(nx * ny * nz);
    // different on each slice and asymmetric in i and j: a frame on the wrong slice or flipped cannot match
    for (let k = 0; k < nz; k++)
      for (let j = 100 + 20 * k; j < 220 + 40 * k; j++)
        for (let i = 60 + 30 * k; i < 300 - 50 * k; i++) data[i + nx * (j + ny * k)] = 1;
    const report = readWithHighdicom(
      'ct3',
      { geometry: structuredClone(ct3.volume.geometry), data },
      { '1': 'Liver' },
    );
    expectExact(report, nz, 1);
    expect(report.emptyRefused).toBe(0);
    expect(report.byInstance.map((r) => r.expected)).toEqual([28800, 22400, 12800]);
  });

  it('keeps a multi-class, partly empty label volume: an empty middle slice and a class with no voxels', () => {
    const [nx, ny, nz] = ct3.volume.geometry.dims;
    const data = new Uint8Array(nx * ny * nz);
    for (const k of [0, 2]) {
      for (let j = 50; j < 90 + 10 * k; j++) for (let i = 40; i < 70; i++) data[i + nx * (j + ny * k)] = 1;
      for (let j = 300; j < 310; j++) for (let i = 200 + 5 * k; i < 400; i++) data[i + nx * (j + ny * k)] = 2;
    }
    data[511 + nx * (511 + ny * 2)] = 2; // a corner voxel: the last column and row of the last slice
    const report = readWithHighdicom(
      'sparse',
      { geometry: structuredClone(ct3.volume.geometry), data },
      { '1': 'Liver', '2': 'Spleen', '3': 'Pancreas' },
    );
    expectExact(report, nz, 3);
    expect(report.emptyRefused).toBe(1);
    expect(report.byInstance.filter((r) => r.k === 1).map((r) => r.got)).toEqual([0, 0, 0]);
    expect(report.byInstance.filter((r) => r.segment === 3).map((r) => r.got)).toEqual([0, 0, 0]);
    expect(report.byInstance.filter((r) => r.segment === 2).map((r) => r.got)).toEqual([2000, 0, 1901]);
  });
});
