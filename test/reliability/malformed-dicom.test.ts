/**
 * The malformed-DICOM corpus (test/support/malformed-dicom.ts) through both doors: the command line
 * (`nnsam volume`, `nnsam seg read`) and the API (stored in a real Orthanc with STOW-RS, then a training
 * example that loads it). Every case ends in a clear message naming what is wrong and where (a CLI error or
 * a 4xx), or, where Orthanc itself refuses or repairs the input at STOW, in a documented outcome; the
 * server answers /api/health after every case and stores nothing for refused input.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { encodeLabelSlice } from '../../server/src/api/labelmap.js';
import { stowInstances } from '../../server/src/demo/stow.js';
import { startApiStack, type ApiStack } from '../support/api.js';
import { cliError, runNnsam } from '../support/cli.js';
import {
  malformedSegs,
  malformedSeries,
  manyFrameObject,
  type CorpusCase,
  type SegCase,
} from '../support/malformed-dicom.js';
import { writeReport } from '../support/report.js';

const work = mkdtempSync(join(tmpdir(), 'nnsam-corpus-'));
const series = malformedSeries();
const many = manyFrameObject(10_000);
let segCorpus: Awaited<ReturnType<typeof malformedSegs>>;
let stack: ApiStack;
let projectId: string;
const report: Record<string, unknown>[] = [];

function writeCase(c: CorpusCase): string {
  const dir = join(work, c.id);
  mkdirSync(dir, { recursive: true });
  for (const f of c.files) writeFileSync(join(dir, f.name), f.bytes);
  return dir;
}

function oneSliceLabelmap(c: CorpusCase) {
  const labels = new Uint8Array(c.rows * c.columns);
  labels.fill(1, 0, Math.min(labels.length, 20));
  return {
    encoding: 'rle-u8-v1',
    studyInstanceUID: c.studyInstanceUID,
    seriesInstanceUID: c.seriesInstanceUID,
    rows: c.rows,
    columns: c.columns,
    slices: [{ ...c.labelSlice, labels: encodeLabelSlice(labels) }],
  };
}

async function healthy(): Promise<void> {
  const res = await fetch(`${stack.url}/api/health`);
  expect(res.status).toBe(200);
}

/** STOW-RS as any modality would send it (no client-side checks): Orthanc's verdict. */
async function stowRaw(files: Uint8Array[]): Promise<string> {
  try {
    await stowInstances(stack.orthanc.dicomWebUrl, files);
    return 'stored';
  } catch (e) {
    return `refused: ${(e as Error).message}`;
  }
}

beforeAll(async () => {
  segCorpus = await malformedSegs();
  stack = await startApiStack();
  const project = await stack.call('POST', '/api/projects', {
    name: 'Corpus',
    classes: [
      { value: 1, name: 'Right ventricle' },
      { value: 2, name: 'Myocardium' },
      { value: 3, name: 'Left ventricle' },
    ],
  });
  projectId = project.body.id;
  await stowInstances(
    stack.orthanc.dicomWebUrl,
    segCorpus.phantom.instances.map((i) => i.bytes),
  );
}, 120_000);

afterAll(async () => {
  writeReport('malformed-dicom', report);
  await stack?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('malformed image series', () => {
  it.each(series.map((c) => [c.id, c] as const))(
    '%s: the CLI names the problem and the file; the API answers 4xx or the PACS refused it',
    async (_id, c) => {
      const dir = writeCase(c);
      const out = join(work, `${c.id}.nii.gz`);
      const cli = await runNnsam(['volume', '--series', dir, '--out', out, '--missing-uids', 'reject']);
      const cliMessage = cliError(cli);
      expect(cli.code, cli.stderr).toBe(1);
      expect(cliMessage, cli.stderr).toMatch(c.expect);
      // names the file (or, when nothing in the folder is DICOM, the folder)
      expect(cliMessage).toContain(dir);
      expect(readdirSync(work)).not.toContain(`${c.id}.nii.gz`); // all or nothing

      const stow = await stowRaw(c.files.map((f) => f.bytes));
      const api = await stack.call('POST', `/api/projects/${projectId}/examples`, {
        studyInstanceUID: c.studyInstanceUID,
        seriesInstanceUID: c.seriesInstanceUID,
        source: { kind: 'labelmap', labelmap: oneSliceLabelmap(c) },
      });
      report.push({
        case: c.id,
        defect: c.defect,
        cli: cliMessage,
        stow,
        api: { status: api.status, code: api.body?.error?.code, message: api.body?.error?.message },
      });
      await healthy();

      if (c.id === 'duplicate-sop-uid' && api.status === 201) {
        // Orthanc keeps the first instance of a SOP Instance UID and drops the second: the series it serves
        // has 5 consistent images, and the label lands on the image it names
        expect(stow).toBe('stored');
        expect(api.body.labelledSOPInstanceUIDs).toEqual([c.labelSlice.sopInstanceUID]);
        await stack.call('DELETE', `/api/projects/${projectId}/examples/${api.body.id}`);
        return;
      }
      if (c.id === 'truncated' && api.status === 201) {
        // Orthanc refuses the truncated instance and stores the 5 others: a series with a gap, loaded as
        // acquired (uneven spacing, warned); the truncated bytes never reach the server
        expect(stow).toMatch(/^refused/);
        expect(api.body.labelledSlices).toEqual([0]);
        await stack.call('DELETE', `/api/projects/${projectId}/examples/${api.body.id}`);
        return;
      }
      expect(api.status, JSON.stringify(api.body)).toBeGreaterThanOrEqual(400);
      expect(api.status, JSON.stringify(api.body)).toBeLessThan(500);
      if (stow === 'stored' && c.id !== 'empty-uids') {
        // the server itself found the problem and says where (the instance of the series)
        expect(api.body.error.message).toMatch(c.expect);
        expect(api.body.error.message).toContain(c.seriesInstanceUID);
      } else {
        // the PACS refused it (or filed it under other UIDs): the series is not there
        expect(api.body.error.code).toBe('dicomweb_not_found');
        expect(api.body.error.message).toContain(c.seriesInstanceUID);
      }
    },
  );

  it('empty UIDs: the default policy derives them (and says so), the reject policy names the attribute', async () => {
    const c = series.find((s) => s.id === 'empty-uids')!;
    const derived = await runNnsam([
      'volume',
      '--series',
      join(work, c.id),
      '--out',
      join(work, 'derived.nii.gz'),
    ]);
    expect(derived.code, derived.stderr).toBe(0);
    expect(derived.stdout).toMatch(/note: SeriesInstanceUID was empty: using 2\.25\.\d+/);
  });

  it('stores nothing for refused examples', async () => {
    const examples = await stack.call('GET', `/api/projects/${projectId}/examples`);
    expect(examples.body).toEqual([]);
    expect(readdirSync(join(stack.dataDir, 'examples'))).toEqual([]);
  });
});

describe('a 10,000-frame object', () => {
  it('loads through the CLI and the API within bounded time, the server staying up', async () => {
    const dir = writeCase(many);
    const cli = await runNnsam(['volume', '--series', dir, '--out', join(work, 'many.nii.gz')]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain('8x8x10000 voxels');

    expect(await stowRaw(many.files.map((f) => f.bytes))).toBe('stored');
    const started = Date.now();
    const api = await stack.call('POST', `/api/projects/${projectId}/examples`, {
      studyInstanceUID: many.studyInstanceUID,
      seriesInstanceUID: many.seriesInstanceUID,
      source: { kind: 'labelmap', labelmap: oneSliceLabelmap(many) },
    });
    report.push({
      case: many.id,
      defect: many.defect,
      cli: cli.stdout.split('\n')[0],
      stow: 'stored',
      api: { status: api.status, ms: Date.now() - started },
    });
    expect(api.status, JSON.stringify(api.body)).toBe(201);
    expect(api.body.labelledSlices).toEqual([0]);
    await healthy();
    // a label on a frame the object does not have is refused, naming the frame
    const bad = oneSliceLabelmap(many);
    bad.slices[0]!.frameNumber = 10_001;
    const refused = await stack.call('POST', `/api/projects/${projectId}/examples`, {
      studyInstanceUID: many.studyInstanceUID,
      seriesInstanceUID: many.seriesInstanceUID,
      source: { kind: 'labelmap', labelmap: bad },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toContain('frame 10001');
    await stack.call('DELETE', `/api/projects/${projectId}/examples/${api.body.id}`);
  });
});

describe('malformed SEGs', () => {
  it.each([0, 1, 2, 3].map((n) => [n] as const))('SEG case %i: CLI and API name the problem', async (n) => {
    const s: SegCase = segCorpus.segs[n]!;
    const seriesDir = join(work, 'seg-series');
    mkdirSync(seriesDir, { recursive: true });
    for (const i of segCorpus.phantom.instances) writeFileSync(join(seriesDir, `s${i.slice}.dcm`), i.bytes);
    const file = join(work, `${s.id}.dcm`);
    writeFileSync(file, s.bytes);
    const cli = await runNnsam([
      'seg',
      'read',
      '--seg',
      file,
      '--series',
      seriesDir,
      '--out',
      join(work, `${s.id}.nii.gz`),
    ]);
    expect(cli.code, cli.stderr).toBe(1);
    expect(cliError(cli)).toMatch(s.expect);
    expect(cliError(cli)).toContain(file);

    const stow = await stowRaw([s.bytes]);
    expect(stow).toBe('stored'); // Orthanc does not check a SEG's content
    const api = await stack.call('POST', `/api/projects/${projectId}/examples`, {
      studyInstanceUID: segCorpus.phantom.studyInstanceUID,
      seriesInstanceUID: segCorpus.phantom.seriesInstanceUID,
      source: { kind: 'seg', segSeriesInstanceUID: s.seriesInstanceUID },
    });
    report.push({
      case: `seg-${s.id}`,
      defect: s.defect,
      cli: cliError(cli),
      stow,
      api: { status: api.status, code: api.body?.error?.code, message: api.body?.error?.message },
    });
    expect(api.status).toBe(400);
    expect(api.body.error.message).toMatch(s.expect);
    await healthy();
  });
});
