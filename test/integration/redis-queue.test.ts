/**
 * The distributed mode against a real Redis: the API server only dispatches (no workers of its own) and a
 * separate `nnsam worker` process runs the jobs from the same data directory, reporting through BullMQ.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { encodeLabelSlice } from '../../server/src/api/labelmap.js';
import { readEvents, startApiStack, storePhantom, waitForJob, type ApiStack } from '../support/api.js';
import { startRedis, type RedisInstance } from '../support/redis.js';

const bin = resolve(import.meta.dirname, '..', '..', 'server', 'bin', 'nnsam.js');
let redis: RedisInstance;
let stack: ApiStack;
let worker: ChildProcess;
let workerLog = '';

beforeAll(async () => {
  redis = await startRedis();
  stack = await startApiStack({
    env: { NNSAM_QUEUE: 'redis', NNSAM_REDIS_URL: redis.url, NNSAM_RUN_WORKERS: 'false' },
  });
  worker = spawn(
    process.execPath,
    [bin, 'worker', '--data', stack.dataDir, '--redis', redis.url, '--dicomweb', stack.orthanc.dicomWebUrl],
    {
      env: { ...process.env, NNSAM_THREADS: '2', NNSAM_LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  worker.stdout!.on('data', (d) => (workerLog += d));
  worker.stderr!.on('data', (d) => (workerLog += d));
}, 60_000);

afterAll(async () => {
  if (worker && worker.exitCode === null) {
    const done = new Promise((r) => worker.once('exit', r));
    worker.kill('SIGTERM');
    await done;
  }
  await stack?.stop();
  await redis?.stop();
});

it(
  'trains and segments on a separate worker process, with events in order, and cancels',
  { timeout: 400_000 },
  async () => {
    const phantom = await storePhantom(stack.orthanc, 21, 8);
    const project = await stack.call('POST', '/api/projects', {
      name: 'Redis',
      classes: [
        { value: 1, name: 'Right ventricle' },
        { value: 2, name: 'Myocardium' },
        { value: 3, name: 'Left ventricle' },
      ],
    });
    const [nx, ny] = phantom.labels.geometry.dims;
    const ex = await stack.call('POST', `/api/projects/${project.body.id}/examples`, {
      studyInstanceUID: phantom.studyInstanceUID,
      seriesInstanceUID: phantom.seriesInstanceUID,
      source: {
        kind: 'labelmap',
        labelmap: {
          encoding: 'rle-u8-v1',
          studyInstanceUID: phantom.studyInstanceUID,
          seriesInstanceUID: phantom.seriesInstanceUID,
          rows: ny,
          columns: nx,
          slices: [2, 5].map((k) => ({
            sopInstanceUID: phantom.instances.find((i) => i.slice === k)!.sopInstanceUID,
            labels: encodeLabelSlice(phantom.labels.data.subarray(k * nx * ny, (k + 1) * nx * ny)),
          })),
        },
      },
    });
    expect(ex.status).toBe(201);

    const train = await stack.call('POST', `/api/projects/${project.body.id}/train`, {
      minutes: 2,
      maxIterations: 6,
      encoder: 'none',
    });
    const events = await readEvents(stack, train.body.id);
    expect(events.map((e) => e.seq)).toEqual(events.map((_e, n) => n + 1));
    expect(events.filter((e) => e.type === 'state').map((e) => e.state)).toEqual([
      'queued',
      'running',
      'succeeded',
    ]);
    expect(events.some((e) => e.type === 'metrics')).toBe(true);
    const modelId = (await stack.call('GET', `/api/jobs/${train.body.id}`)).body.result.modelId;
    expect((await stack.call('GET', `/api/models/${modelId}`)).status).toBe(200);

    const seg = await stack.call('POST', '/api/segment', {
      modelId,
      studyInstanceUID: phantom.studyInstanceUID,
      seriesInstanceUID: phantom.seriesInstanceUID,
      tta: false,
    });
    const done = await waitForJob(stack, seg.body.id, ['succeeded', 'failed']);
    expect(done.state).toBe('succeeded');
    expect(done.result.stored).toBe(true);

    // cancel a long training while it runs on the worker
    const long = await stack.call('POST', `/api/projects/${project.body.id}/train`, {
      minutes: 30,
      encoder: 'none',
    });
    await waitForJob(stack, long.body.id, ['running']);
    await new Promise((r) => setTimeout(r, 3000));
    await stack.call('POST', `/api/jobs/${long.body.id}/cancel`);
    const cancelled = await waitForJob(stack, long.body.id, ['cancelled', 'failed', 'succeeded'], 60_000);
    expect(cancelled.state).toBe('cancelled');
    expect(workerLog).toContain('nnSAM worker taking jobs');
  },
);
