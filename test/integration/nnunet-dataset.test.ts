/**
 * Out to nnU-Net, against a real Orthanc: a project painted on three slices of one series plus an image-only
 * series comes out of GET /api/projects/{id}/dataset and of `nnsam dataset export` (the built CLI, on the
 * same data directory) as the same nnU-Net v2 raw dataset, which nnU-Net's verify_dataset_integrity accepts
 * and whose labels are the painted ones on those slices and the ignore label on every other.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Phantom } from '../../server/src/demo/phantom.js';
import { python, tempDir } from '../support/dicom-tools.js';
import { startApiStack, storePhantom, TOKEN, type ApiStack } from '../support/api.js';
import { cliError, runNnsam } from '../support/cli.js';
import { labelmapOf, PHANTOM_CLASSES } from '../support/workflow.js';

const LABELLED = [2, 5, 8];

let stack: ApiStack;
let painted: Phantom;
let unlabelled: Phantom;
let projectId: string;
const tmp = tempDir('nnsam-nnunet-api-');

beforeAll(async () => {
  stack = await startApiStack();
  [painted, unlabelled] = await Promise.all([31, 32].map((seed) => storePhantom(stack.orthanc, seed, 10)));
  projectId = (await stack.call('POST', '/api/projects', { name: 'Heart', classes: PHANTOM_CLASSES })).body
    .id;
  for (const body of [
    {
      studyInstanceUID: painted.studyInstanceUID,
      seriesInstanceUID: painted.seriesInstanceUID,
      source: { kind: 'labelmap', labelmap: labelmapOf(painted, LABELLED) },
    },
    {
      studyInstanceUID: unlabelled.studyInstanceUID,
      seriesInstanceUID: unlabelled.seriesInstanceUID,
      source: { kind: 'image' },
    },
  ]) {
    const added = await stack.call('POST', `/api/projects/${projectId}/examples`, body);
    if (added.status !== 201) throw new Error(`example: ${added.status} ${JSON.stringify(added.body)}`);
  }
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** Every file under a folder, by relative path. */
function tree(dir: string): Record<string, Buffer> {
  return Object.fromEntries(
    readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name))
      .map((p) => [relative(dir, p), readFileSync(p)]),
  );
}

const check = `
import contextlib, json, sys
import nibabel as nib, numpy as np
from nnunetv2.experiment_planning.verify_dataset_integrity import verify_dataset_integrity
with contextlib.redirect_stdout(sys.stderr):
    verify_dataset_integrity(sys.argv[1], num_processes=1)
seg = np.asarray(nib.load(sys.argv[1] + '/labelsTr/case_000.nii.gz').dataobj)
img = nib.load(sys.argv[1] + '/imagesTr/case_000_0000.nii.gz')
print(json.dumps({'labels': seg.transpose(2, 1, 0).astype(np.uint8).tobytes().hex(), 'shape': list(img.shape),
                  'dataset': json.load(open(sys.argv[1] + '/dataset.json'))}))
`;

describe('a project as an nnU-Net v2 raw dataset', () => {
  let fromRoute: Record<string, Buffer>;

  it('GET /api/projects/{id}/dataset: a tar.gz that verify_dataset_integrity accepts, ignore off the painted slices', async () => {
    const res = await fetch(`${stack.url}/api/projects/${projectId}/dataset`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/gzip');
    const dir = join(tmp, 'route');
    mkdirSync(dir);
    const archive = join(tmp, 'route.tar.gz');
    writeFileSync(archive, Buffer.from(await res.arrayBuffer()));
    execFileSync('tar', ['-xzf', archive, '-C', dir]);
    fromRoute = tree(dir);
    expect(Object.keys(fromRoute).sort()).toEqual([
      'dataset.json',
      'imagesTr/case_000_0000.nii.gz',
      'labelsTr/case_000.nii.gz',
    ]);

    const report = python<{ labels: string; shape: number[]; dataset: Record<string, unknown> }>(check, [
      dir,
    ]);
    expect(report.dataset).toMatchObject({
      channel_names: { '0': 'MRI' },
      labels: { background: 0, 'Right ventricle': 1, Myocardium: 2, 'Left ventricle': 3, ignore: 4 },
      numTraining: 1,
      file_ending: '.nii.gz',
    });
    expect(report.dataset.description).toMatch(/1 image-only example\(s\) left out/);
    const [nx, ny, nz] = painted.labels.geometry.dims;
    expect(report.shape).toEqual([nx, ny, nz]);
    const got = Buffer.from(report.labels, 'hex');
    const perSlice = nx * ny;
    for (let k = 0; k < nz; k++) {
      const slice = got.subarray(k * perSlice, (k + 1) * perSlice);
      if (LABELLED.includes(k)) {
        const want = painted.labels.data.subarray(k * perSlice, (k + 1) * perSlice);
        expect(Buffer.compare(slice, Buffer.from(want)), `slice ${k}`).toBe(0);
        expect(new Set(slice).size, `slice ${k} holds classes`).toBeGreaterThan(1);
      } else {
        expect(new Set(slice), `slice ${k}`).toEqual(new Set([4]));
      }
    }
  });

  it('nnsam dataset export writes the same files from the data directory; refuses an existing folder', async () => {
    const out = join(tmp, 'Dataset501_Heart');
    const args = ['dataset', 'export', '--project', projectId, '--out', out, '--data', stack.dataDir];
    const env = { NNSAM_DICOMWEB_URL: stack.orthanc.dicomWebUrl };
    const r = await runNnsam(args, env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/1 cases.*1 image-only example\(s\) left out/);
    const fromCli = tree(out);
    expect(Object.keys(fromCli).sort()).toEqual(Object.keys(fromRoute).sort());
    for (const [name, bytes] of Object.entries(fromCli))
      expect(Buffer.compare(bytes, fromRoute[name]!), name).toBe(0);

    const again = await runNnsam(args, env);
    expect(again.code).toBe(1);
    expect(cliError(again)).toMatch(/already exists/);
  });

  it('refuses a project without a labelled slice (409) and an unknown project (404)', async () => {
    const other = (await stack.call('POST', '/api/projects', { name: 'Empty', classes: PHANTOM_CLASSES }))
      .body.id;
    await stack.call('POST', `/api/projects/${other}/examples`, {
      studyInstanceUID: unlabelled.studyInstanceUID,
      seriesInstanceUID: unlabelled.seriesInstanceUID,
      source: { kind: 'image' },
    });
    const r = await stack.call('GET', `/api/projects/${other}/dataset`);
    expect([r.status, r.body.error.code]).toEqual([409, 'no_labelled_slices']);
    expect((await stack.call('GET', '/api/projects/prj-doesnotexist/dataset')).status).toBe(404);
  });
});
