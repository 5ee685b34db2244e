/**
 * PACS faults, injected by a TCP proxy between the server and a real Orthanc: Orthanc stopped in the middle
 * of fetching a training series and in the middle of a STOW-RS, and Orthanc stalled (accepts, never answers).
 * Each time the job is retried by the DICOMweb client, then ends in a defined state with a message naming the
 * PACS, and nothing half-written is stored (no model, no result file, no SEG in the PACS).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DicomwebClient } from '../../server/src/dicom/index.js';
import type { Phantom } from '../../server/src/demo/phantom.js';
import { startApiStack, storePhantom, waitForJob, type ApiStack } from '../support/api.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { projectWithExample } from '../support/workflow.js';

let stack: ApiStack;
let proxy: FaultProxy;
let train: Phantom;
let target: Phantom;
let projectId: string;
let modelId: string;

const TIMEOUT_MS = 1500;
const RETRIES = 2;

beforeAll(async () => {
  stack = await startApiStack({
    env: { NNSAM_DICOMWEB_TIMEOUT_MS: String(TIMEOUT_MS), NNSAM_DICOMWEB_RETRIES: String(RETRIES) },
    dicomweb: async (orthanc) => {
      proxy = await startFaultProxy(orthanc.port);
      return `${proxy.url}/dicom-web`;
    },
  });
  [train, target] = await Promise.all([31, 32].map((seed) => storePhantom(stack.orthanc, seed, 8)));
  projectId = await projectWithExample(stack, train, [2, 5]);
}, 120_000);

afterAll(async () => {
  await proxy?.close();
  await stack?.stop();
});

/** SEG series of a study, asked of Orthanc directly (not through the proxy). */
async function segSeries(p: Phantom): Promise<string[]> {
  const client = new DicomwebClient({ url: stack.orthanc.dicomWebUrl });
  const series = await client.searchForSeries(p.studyInstanceUID, { Modality: 'SEG' });
  return series.map((s) => String((s['0020000E'] as { Value: string[] }).Value[0]));
}

const retryLogs = () => stack.logs.filter((l) => l.includes('DICOMweb request failed; retrying')).length;
const resultFiles = () => readdirSync(join(stack.dataDir, 'results'));

describe('PACS faults (real Orthanc behind a fault-injecting proxy)', () => {
  it(
    'Orthanc stopped mid-fetch of a training series: retried, then failed with a message; a retry after it is back trains',
    { timeout: 300_000 },
    async () => {
      let gets = 0;
      // Orthanc stops after sending the first 64 KiB of the series (of ~270 KiB)
      proxy.rule = (line) =>
        line.startsWith('GET') && line.includes(train.seriesInstanceUID) && ++gets === 1
          ? 'down-mid-response'
          : 'pass';
      const retriesBefore = retryLogs();
      const started = Date.now();
      const job = await stack.call('POST', `/api/projects/${projectId}/train`, {
        minutes: 5,
        maxIterations: 4,
        encoder: 'none',
        seed: 1,
      });
      expect(job.status).toBe(202);
      const failed = await waitForJob(stack, job.body.id, ['failed', 'succeeded'], 60_000);
      expect(failed.state).toBe('failed');
      expect(failed.error.code).toBe('dicomweb_unreachable');
      expect(failed.error.message).toContain(proxy.url);
      expect(retryLogs() - retriesBefore).toBeGreaterThanOrEqual(RETRIES);
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(gets).toBeGreaterThanOrEqual(1);
      // nothing stored: no model record, no model folder, no trainer files
      expect((await stack.call('GET', `/api/models?projectId=${projectId}`)).body).toEqual([]);
      expect(readdirSync(join(stack.dataDir, 'models'))).toEqual([]);
      expect(readdirSync(join(stack.dataDir, 'tmp'))).toEqual([]);
      // the health check never depended on the PACS
      expect((await fetch(`${stack.url}/api/health`)).status).toBe(200);

      proxy.rule = () => 'pass';
      await proxy.up();
      expect((await stack.call('POST', `/api/jobs/${job.body.id}/retry`)).status).toBe(202);
      const done = await waitForJob(stack, job.body.id, ['failed', 'succeeded']);
      expect(done).toMatchObject({ state: 'succeeded', attempts: 2 });
      modelId = done.result.modelId;
    },
  );

  it('a connection cut during the first STOW-RS is retried: the SEG is stored exactly once', async () => {
    let posts = 0;
    proxy.rule = (line) => (line.startsWith('POST') && ++posts === 1 ? 'cut' : 'pass');
    const job = await stack.call('POST', '/api/segment', {
      modelId,
      studyInstanceUID: target.studyInstanceUID,
      seriesInstanceUID: target.seriesInstanceUID,
      tta: false,
    });
    const done = await waitForJob(stack, job.body.id, ['failed', 'succeeded'], 120_000);
    expect(done.state).toBe('succeeded');
    expect(posts).toBe(2);
    expect(await segSeries(target)).toEqual([done.result.segSeriesInstanceUID]);
  });

  it(
    'Orthanc stopped mid-STOW: retried, then failed with a message; no SEG in the PACS, no result file',
    { timeout: 120_000 },
    async () => {
      const before = await segSeries(target);
      proxy.rule = (line) => (line.startsWith('POST') ? 'down' : 'pass');
      const job = await stack.call('POST', '/api/segment', {
        modelId,
        studyInstanceUID: target.studyInstanceUID,
        seriesInstanceUID: target.seriesInstanceUID,
        tta: false,
        returnSeg: true,
      });
      const failed = await waitForJob(stack, job.body.id, ['failed', 'succeeded'], 120_000);
      expect(failed.state).toBe('failed');
      expect(failed.error.code).toBe('dicomweb_unreachable');
      expect(failed.error.message).toContain(proxy.url);
      expect(failed.progress.stage).toBe('storing');
      proxy.rule = () => 'pass';
      await proxy.up();
      expect(await segSeries(target)).toEqual(before);
      // the SEG written for download went with the failed STOW
      expect(resultFiles()).toEqual([]);
      expect((await stack.call('GET', `/api/jobs/${job.body.id}/seg`)).status).toBe(404);
    },
  );

  it(
    'a stalled Orthanc (accepts, never answers): each request times out, retries, then the job fails with 504-style dicomweb_timeout',
    { timeout: 120_000 },
    async () => {
      proxy.mode = 'stall';
      try {
        const started = Date.now();
        const job = await stack.call('POST', '/api/segment', {
          modelId,
          studyInstanceUID: target.studyInstanceUID,
          seriesInstanceUID: target.seriesInstanceUID,
          tta: false,
        });
        expect(job.status).toBe(202);
        // health stays fast while the job waits on the PACS
        const t0 = performance.now();
        expect((await fetch(`${stack.url}/api/health`)).status).toBe(200);
        expect(performance.now() - t0).toBeLessThan(200);
        const failed = await waitForJob(stack, job.body.id, ['failed', 'succeeded'], 60_000);
        const seconds = (Date.now() - started) / 1000;
        expect(failed.state).toBe('failed');
        expect(failed.error.code).toBe('dicomweb_timeout');
        expect(failed.error.message).toMatch(new RegExp(`sent nothing for ${TIMEOUT_MS} ms`));
        expect(failed.error.hint).toMatch(/timeout/);
        // (retries + 1) timeouts plus back-off: bounded, not hanging
        expect(seconds).toBeGreaterThanOrEqual(((RETRIES + 1) * TIMEOUT_MS) / 1000);
        expect(seconds).toBeLessThan(20);
        // a project example cannot be added either, with the same message and nothing stored
        const examples = (await stack.call('GET', `/api/projects/${projectId}/examples`)).body.length;
        const refused = await stack.call('POST', `/api/projects/${projectId}/examples`, {
          studyInstanceUID: target.studyInstanceUID,
          seriesInstanceUID: target.seriesInstanceUID,
          source: { kind: 'seg', segSeriesInstanceUID: '1.2.3' },
        });
        expect(refused.status).toBe(504);
        expect(refused.body.error.code).toBe('dicomweb_timeout');
        expect((await stack.call('GET', `/api/projects/${projectId}/examples`)).body).toHaveLength(examples);
      } finally {
        proxy.mode = 'pass';
      }
      expect(existsSync(join(stack.dataDir, 'results'))).toBe(true);
      expect(resultFiles()).toEqual([]);
    },
  );
});
