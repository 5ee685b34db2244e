/**
 * Load: 20 segment requests and 5 training requests at once, from two users on the same project, against
 * `nnsam serve` (child process, default workers: one training and one segmentation at a time). Every
 * request is accepted at once (202) with an honest state (queued, or running for at most one job per
 * kind), every job completes, the health check stays fast (p95 < 200 ms) and memory stays bounded. The
 * figures go to test-results/reliability/load.json (docs/reliability.md quotes them).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import type { Phantom } from '../../server/src/demo/phantom.js';
import { startOrthanc, type OrthancInstance } from '../../server/src/orthanc/launch.js';
import { storePhantom, TOKEN, waitForJob } from '../support/api.js';
import { percentile, writeReport } from '../support/report.js';
import { spawnServe, type ServeChild } from '../support/serve-child.js';
import { projectWithExample, trainTiny } from '../support/workflow.js';

const SECOND_USER = 'load-test-second-user-token';
const SEGMENTS = 20;
const TRAININGS = 5;

let orthanc: OrthancInstance;
let train: Phantom;
let target: Phantom;
let server: ServeChild;
let dataDir: string;
/** Whether the samplers run (module-wide so that afterAll stops them when the test fails). */
let sampling = false;

beforeAll(async () => {
  orthanc = await startOrthanc();
  [train, target] = await Promise.all([51, 52].map((seed) => storePhantom(orthanc, seed, 8)));
  dataDir = mkdtempSync(join(tmpdir(), 'nnsam-load-'));
  server = await spawnServe({
    dataDir,
    dicomwebUrl: orthanc.dicomWebUrl,
    env: { NNSAM_API_TOKENS: `${TOKEN},${SECOND_USER}` },
  });
}, 120_000);

afterAll(async () => {
  sampling = false;
  await server?.stop();
  await orthanc?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Resident memory (kB) of a process, 0 when it is gone. */
function rssKb(pid: number): number {
  try {
    return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

it(
  `${SEGMENTS} segment and ${TRAININGS} training requests at once: all accepted with honest states, all complete, health p95 < 200 ms`,
  { timeout: 900_000 },
  async () => {
    const projectId = await projectWithExample(server, train, [2, 5]);
    const modelId = await trainTiny(server, projectId, 2);
    const baselineKb = server.memory().currentKb;

    // samplers: health latency every 100 ms; memory of the server and of server + trainer every 250 ms
    const health: number[] = [];
    let peakTreeKb = 0;
    const maxRunning = { train: 0, segment: 0 };
    sampling = true;
    const healthLoop = (async () => {
      while (sampling) {
        const t0 = performance.now();
        const ok = await fetch(`${server.url}/api/health`)
          .then(async (res) => (await res.arrayBuffer(), res.status === 200))
          .catch(() => false);
        health.push(ok ? performance.now() - t0 : Infinity);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const memoryLoop = (async () => {
      while (sampling) {
        const tree = [server.pid, ...server.descendants('')];
        peakTreeKb = Math.max(
          peakTreeKb,
          tree.reduce((sum, pid) => sum + rssKb(pid), 0),
        );
        const running = ((await server.call('GET', '/api/jobs?state=running').catch(() => ({ body: [] })))
          .body ?? []) as { kind: 'train' | 'segment' }[];
        for (const kind of ['train', 'segment'] as const)
          maxRunning[kind] = Math.max(maxRunning[kind], running.filter((j) => j.kind === kind).length);
        await new Promise((r) => setTimeout(r, 250));
      }
    })();

    const started = Date.now();
    const user = (n: number): Record<string, string> =>
      n % 2 ? { authorization: `Bearer ${SECOND_USER}` } : {};
    const requests = [
      ...Array.from({ length: TRAININGS }, (_, n) =>
        server.call(
          'POST',
          `/api/projects/${projectId}/train`,
          { minutes: 5, maxIterations: 2, encoder: 'none', seed: n },
          user(n),
        ),
      ),
      ...Array.from({ length: SEGMENTS }, (_, n) =>
        server.call(
          'POST',
          '/api/segment',
          {
            modelId,
            studyInstanceUID: target.studyInstanceUID,
            seriesInstanceUID: target.seriesInstanceUID,
            store: n % 4 === 0,
            returnSeg: n % 4 !== 0,
            tta: false,
          },
          user(n),
        ),
      ),
    ];
    const accepted = await Promise.all(requests);
    const acceptMs = Date.now() - started;
    expect(accepted.map((r) => r.status)).toEqual(accepted.map(() => 202));
    const ids = accepted.map((r) => r.body.id as string);
    // honest status: a job is queued or (one per kind) running, right after acceptance
    const states = await Promise.all(
      ids.map(async (id) => (await server.call('GET', `/api/jobs/${id}`)).body),
    );
    for (const s of states) expect(['queued', 'running', 'succeeded']).toContain(s.state);
    for (const kind of ['train', 'segment'])
      expect(states.filter((s) => s.kind === kind && s.state === 'running').length).toBeLessThanOrEqual(1);
    expect(states.filter((s) => s.state === 'queued').length).toBeGreaterThan(0);

    const done = await Promise.all(ids.map((id) => waitForJob(server, id, ['succeeded', 'failed'], 800_000)));
    const totalSeconds = (Date.now() - started) / 1000;
    sampling = false;
    await Promise.all([healthLoop, memoryLoop]);

    expect(done.filter((j) => j.state !== 'succeeded').map((j) => j.error)).toEqual([]);
    // five trainings of the same project by two users: five distinct models
    const models = done.filter((j) => j.kind === 'train').map((j) => j.result.modelId);
    expect(new Set(models).size).toBe(TRAININGS);
    expect(maxRunning.train).toBeLessThanOrEqual(1);
    expect(maxRunning.segment).toBeLessThanOrEqual(1);

    const memory = server.memory();
    const figures = {
      machine: `${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown CPU'}`,
      requests: { segment: SEGMENTS, train: TRAININGS, acceptedAllMs: acceptMs },
      totalSeconds,
      serverRssKb: { baseline: baselineKb, peak: memory.peakKb, end: memory.currentKb },
      peakServerPlusTrainerRssKb: peakTreeKb,
      healthMs: {
        samples: health.length,
        p50: percentile(health, 50),
        p95: percentile(health, 95),
        p99: percentile(health, 99),
        max: Math.max(...health),
      },
      maxRunning,
    };
    writeReport('load', figures);
    console.log(JSON.stringify(figures, null, 2));

    expect(health.length).toBeGreaterThan(50);
    expect(figures.healthMs.p95).toBeLessThan(200);
    // bounded memory: the server stays well under 2 GiB however many jobs wait
    expect(memory.peakKb).toBeLessThan(2 * 1024 * 1024);
  },
);
