import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

import { DEMO_LABELLED_SLICES } from '../../server/src/demo/labels-seg.js';
import { PHANTOM_LABELS, uidFor } from '../../server/src/demo/phantom.js';
import { startDemo } from '../../server/src/demo/start.js';
import { startOrthanc } from '../../server/src/orthanc/launch.js';

const exec = promisify(execFile);
const bin = resolve(import.meta.dirname, '..', '..', 'server', 'bin', 'nnsam.js');
const nnsam = (...args: string[]) => exec(process.execPath, [bin, ...args], { timeout: 90_000 });

describe('npm start (nnsam demo)', () => {
  it('starts Orthanc with the phantom study and the viewer on loopback, checks every part and stops', async () => {
    const { stdout } = await nnsam('demo', '--check');
    expect(stdout).toMatch(/DICOMweb\):\s+http:\/\/127\.0\.0\.1:\d+\/dicom-web/);
    expect(stdout).toMatch(/OHIF viewer:\s+http:\/\/127\.0\.0\.1:\d+\//);
    // the URL that opens the demo study directly in the nnSAM mode
    expect(stdout).toContain(`/nnsam?StudyInstanceUIDs=${uidFor(1, 'study')}`);
    expect(stdout).toMatch(/Demo labels:\s+a SEG labelling slices 3, 8, 13, 18/);
    expect(stdout).toMatch(/demo check passed/);
  });

  it('ships labelled slices: the demo SEG becomes a training example with those slices and all classes', async () => {
    const demo = await startDemo({ port: 0, demoLabels: true });
    try {
      const api = async (path: string, body: unknown) => {
        const res = await fetch(`${demo.viewerUrl}/api${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        expect(res.status, await res.clone().text()).toBe(201);
        return res.json() as Promise<Record<string, unknown>>;
      };
      const classes = Object.entries(PHANTOM_LABELS).map(([value, name]) => ({ value: Number(value), name }));
      const project = await api('/projects', { name: 'Demo', classes });
      const example = await api(`/projects/${String(project.id)}/examples`, {
        studyInstanceUID: demo.phantom!.studyInstanceUID,
        seriesInstanceUID: demo.phantom!.seriesInstanceUID,
        source: { kind: 'seg', segSeriesInstanceUID: demo.demoLabelsSeriesUID },
      });
      expect(example.labelledSlices).toEqual(DEMO_LABELLED_SLICES);
      expect(example.classesPresent).toEqual([1, 2, 3]);
    } finally {
      await demo.stop();
    }
  });

  it('uses an existing DICOMweb server with --dicomweb, without storing anything there unasked', async () => {
    const pacs = await startOrthanc();
    try {
      const { stdout } = await nnsam('demo', '--check', '--dicomweb', pacs.dicomWebUrl);
      expect(stdout).toContain(`DICOMweb server:     ${pacs.dicomWebUrl}`);
      expect(stdout).not.toMatch(/Orthanc \(DICOMweb\)|Demo study/);
      expect(stdout).toMatch(/demo check passed/);
      const studies = await (await fetch(`${pacs.dicomWebUrl}/studies`)).json();
      expect(studies).toEqual([]);
    } finally {
      await pacs.stop();
    }
  });

  it('refuses a DICOMweb URL it cannot use, naming it', async () => {
    const failure = await nnsam('demo', '--check', '--dicomweb', 'pacs:8042').catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(failure).toMatchObject({ code: 1 });
    expect((failure as { stderr: string }).stderr).toMatch(/"pacs:8042" uses pacs:; only http and https/);
  });

  it('exports the phantom for researchers: DICOM files and image/label NIfTI', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nnsam-export-'));
    try {
      const { stdout } = await nnsam('demo', '--export-phantom', dir);
      expect(stdout).toContain(`Study ${uidFor(1, 'study')}`);
      expect((await readdir(join(dir, 'dicom'))).length).toBe(20);
      expect((await readdir(dir)).sort()).toEqual(['dicom', 'image.nii.gz', 'labels.nii.gz']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
