// `nnsam volume` and `nnsam seg write|read` through the built bin, checked with nibabel and pydicom.
import { execFile } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, describe, expect, it } from 'vitest';

import { dciodvfy, fixture, python, tempDir } from '../../../../test/support/dicom-tools.js';
import { serverRoot } from '../../util/paths.js';
import { readNifti, writeNifti } from '../../volume/index.js';

const exec = promisify(execFile);
const bin = join(serverRoot, 'bin', 'nnsam.js');
const tmp = tempDir('nnsam-cli-');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function nnsam(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [bin, ...args], {
      env: { ...process.env, NNSAM_LOG_LEVEL: 'error' },
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('nnsam volume / seg (built bin)', () => {
  const ct = fixture('dcmqi', 'ct-3slice');

  it('writes the series as NIfTI whose affine nibabel maps to the DICOM positions (LPS -> RAS)', async () => {
    const out = join(tmp, 'ct.nii.gz');
    const r = await nnsam('volume', '--series', ct, '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/wrote .*ct\.nii\.gz: 512x512x3 voxels/);
    const script = `
import json, sys, nibabel as nib, numpy as np
img = nib.load(sys.argv[1])
a = img.affine
print(json.dumps({'shape': list(img.shape), 'p': [list(a @ np.array([i, j, k, 1.0]))[:3] for (i, j, k) in [(0, 0, 0), (511, 0, 2), (0, 511, 1)]],
                  'v': float(np.asarray(img.dataobj)[300, 200, 1])}))`;
    const nib = python<{ shape: number[]; p: number[][]; v: number }>(script, [out]);
    expect(nib.shape).toEqual([512, 512, 3]);
    // voxel (i, j, k) -> LPS (x0 + i*dx, y0 + j*dy, z_k); RAS negates x and y
    const [x0, y0, d] = [-235.199997, -226.800003, 0.810547];
    const expected = [
      [-x0, -y0, -128.690002],
      [-(x0 + 511 * d), -y0, -126.690002],
      [-x0, -(y0 + 511 * d), -127.690002],
    ];
    nib.p.forEach((p, n) => p.forEach((v, m) => expect(v).toBeCloseTo(expected[n]![m]!, 3)));
    const volume = await readNifti(out);
    expect(nib.v).toBe(volume.data[300 + 512 * (200 + 512 * 1)]);
  });

  it('reads a SEG to NIfTI and writes it back as a valid SEG with the same labels', async () => {
    const labels = join(tmp, 'liver.nii.gz');
    const read = await nnsam(
      'seg',
      'read',
      '--seg',
      fixture('dcmqi', 'liver.dcm'),
      '--series',
      ct,
      '--out',
      labels,
    );
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout).toMatch(/label 1 "Liver": \d+ voxels on 3 frame\(s\)/);
    const seg = join(tmp, 'liver.seg.dcm');
    const classes = join(tmp, 'classes.json');
    writeFileSync(classes, JSON.stringify({ '1': { name: 'Liver', color: [200, 100, 50] } }));
    const write = await nnsam(
      'seg',
      'write',
      '--series',
      ct,
      '--labels',
      labels,
      '--out',
      seg,
      '--classes',
      classes,
    );
    expect(write.code, write.stderr).toBe(0);
    expect(write.stdout).toMatch(/segment 1 "Liver" \(label 1\): \d+ voxels on 3 slice\(s\)/);
    expect(dciodvfy(seg).errors).toEqual([]);
    const again = join(tmp, 'again.nii.gz');
    expect((await nnsam('seg', 'read', '--seg', seg, '--series', ct, '--out', again)).code).toBe(0);
    const [a, b] = [await readNifti(labels), await readNifti(again)];
    expect(Buffer.from(b.data.buffer).equals(Buffer.from(a.data.buffer))).toBe(true);
  });

  it('fails with a clear message and writes nothing on bad input', async () => {
    const out = join(tmp, 'bad.seg.dcm');
    const tiny = join(tmp, 'tiny.nii.gz');
    await writeNifti(tiny, {
      geometry: {
        dims: [4, 4, 3],
        spacing: [1, 1, 1],
        origin: [0, 0, 0],
        direction: [
          [1, 0, 0],
          [0, 1, 0],
          [0, 0, 1],
        ],
      },
      data: new Uint8Array(48),
    });
    const wrongShape = await nnsam('seg', 'write', '--series', ct, '--labels', tiny, '--out', out);
    expect(wrongShape.code).toBe(1);
    expect(wrongShape.stderr).toMatch(/nnsam: the labels are 4x4x3 voxels but series .* is 512x512x3/);
    const badClasses = await nnsam(
      'seg',
      'write',
      '--series',
      ct,
      '--labels',
      tiny,
      '--out',
      out,
      '--classes',
      '{"1": 5}',
    );
    expect(badClasses.code).toBe(1);
    expect(badClasses.stderr).toMatch(/--classes: "1": /);
    const notSeg = await nnsam(
      'seg',
      'read',
      '--seg',
      fixture('dcmqi', 'ct-3slice', '01.dcm'),
      '--series',
      ct,
      '--out',
      join(tmp, 'x.nii.gz'),
    );
    expect(notSeg.code).toBe(1);
    expect(notSeg.stderr).toMatch(/01\.dcm is not a DICOM Segmentation/);
    const mixed = await nnsam('volume', '--series', fixture('dcmqi'), '--out', join(tmp, 'y.nii.gz'));
    expect(mixed.code).toBe(1);
    expect(mixed.stderr).toMatch(/dcmqi holds 3 image series: .*\(3 images, CT\)/);
    expect(mixed.stderr).toMatch(/hint: Choose one with --series-uid/);
    for (const f of [out, join(tmp, 'x.nii.gz'), join(tmp, 'y.nii.gz')]) expect(existsSync(f)).toBe(false);
  });
});
