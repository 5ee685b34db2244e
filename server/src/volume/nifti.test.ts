import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { sharedDataDir, trainerPython } from '../util/paths.js';
import { voxelToPatient } from './geometry.js';
import { encodeNifti, parseNifti, readNifti, writeNifti } from './nifti.js';
import type { Geometry, Volume } from './types.js';

const tmp = mkdtempSync(join(tmpdir(), 'nnsam-nifti-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// An oblique, anisotropic grid: catches swapped axes, a lost sign in LPS<->RAS and a wrong quaternion.
const c = Math.cos(0.3);
const s = Math.sin(0.3);
const oblique: Geometry = {
  dims: [5, 4, 3],
  spacing: [0.7, 0.9, 2.5],
  origin: [-10, 20.5, 33],
  direction: [
    [c, s, 0],
    [-s, c, 0],
    [0, 0, 1],
  ],
};

function ramp(g: Geometry): Volume<Int16Array> {
  const data = new Int16Array(g.dims[0] * g.dims[1] * g.dims[2]);
  for (let n = 0; n < data.length; n++) data[n] = n * 3 - 7;
  return { geometry: g, data };
}

describe('NIfTI', () => {
  it('round-trips voxels and geometry through .nii.gz', async () => {
    const vol = ramp(oblique);
    const path = join(tmp, 'ramp.nii.gz');
    await writeNifti(path, vol);
    const back = await readNifti(path);
    expect(back.geometry.dims).toEqual(vol.geometry.dims);
    expect(Array.from(back.data)).toEqual(Array.from(vol.data));
    for (const [i, j, k] of [
      [0, 0, 0],
      [4, 3, 2],
      [2, 1, 1],
    ] as const) {
      const p = voxelToPatient(back.geometry, i, j, k);
      const q = voxelToPatient(vol.geometry, i, j, k);
      p.forEach((v, n) => expect(v).toBeCloseTo(q[n]!, 4));
    }
  });

  it('writes files nibabel reads with the RAS affine and voxel order we document', () => {
    const vol = ramp(oblique);
    const path = join(tmp, 'for-nibabel.nii');
    const bytes = encodeNifti(vol);
    writeFileSync(path, bytes);
    const script = `
import json, sys, nibabel as nib, numpy as np
img = nib.load(sys.argv[1])
d = np.asarray(img.dataobj)
print(json.dumps({"shape": list(d.shape), "v": int(d[4, 3, 2]), "v2": int(d[1, 2, 0]),
                  "sform": img.get_sform().tolist(), "qform": img.get_qform().tolist()}))`;
    const out = JSON.parse(execFileSync(trainerPython(), ['-c', script, path], { encoding: 'utf8' }));
    expect(out.shape).toEqual([5, 4, 3]);
    expect(out.v).toBe(vol.data[4 + 5 * (3 + 4 * 2)]);
    expect(out.v2).toBe(vol.data[1 + 5 * (2 + 4 * 0)]);
    // RAS = LPS with x and y negated; the qform (from our quaternion) must agree with the sform.
    const p = voxelToPatient(oblique, 4, 3, 2);
    const ras = [-p[0], -p[1], p[2]];
    for (const m of [out.sform, out.qform] as number[][][]) {
      const x = [0, 1, 2].map((r) => m[r]![0]! * 4 + m[r]![1]! * 3 + m[r]![2]! * 2 + m[r]![3]!);
      x.forEach((v, n) => expect(v).toBeCloseTo(ras[n]!, 3));
    }
  });

  it('reads the shared ACDC volumes with their documented shape and spacing', async () => {
    const dir = sharedDataDir('acdc');
    const img = await readNifti(join(dir, 'imagesTr', 'patient003_frame01.nii.gz'));
    const lab = await readNifti(join(dir, 'labelsTr', 'patient003_frame01.nii.gz'));
    expect(img.geometry.dims).toEqual(lab.geometry.dims);
    expect(img.geometry.spacing[2]).toBeCloseTo(10, 3);
    expect(lab.data).toBeInstanceOf(Uint8Array);
    expect(lab.data.reduce((m, v) => Math.max(m, v), 0)).toBe(3);
  });

  it('rejects data that is not NIfTI with a clear error', () => {
    expect(() => parseNifti(new TextEncoder().encode('hello, not an image'), 'hello.nii')).toThrow(
      /hello.nii is not a NIfTI/,
    );
  });
});
