/**
 * Faults of the server's own processes and machine, on `nnsam serve` run as a child process (the real
 * binary): the trainer killed with SIGKILL, the trainer out of memory (NNSAM_TRAINER_MEMORY_MB, an
 * RLIMIT_AS cap), the server itself killed with SIGKILL during training and during a queue of segment jobs,
 * the data directory's disk full while a model is written (a small tmpfs in a private mount namespace), and
 * deleting a model or project while a job uses it. Every job ends in a defined state with a message, and
 * nothing half-written stays in the data directory.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Phantom } from '../../server/src/demo/phantom.js';
import { startOrthanc, type OrthancInstance } from '../../server/src/orthanc/launch.js';
import { storePhantom, waitForJob } from '../support/api.js';
import { spawnServe, type ServeChild } from '../support/serve-child.js';
import { projectWithExample, trainTiny, waitForStage } from '../support/workflow.js';

let orthanc: OrthancInstance;
let train: Phantom;
let target: Phantom;
let dataDir: string;
let server: ServeChild;
let projectId: string;
let modelId: string;
const dirs: string[] = [];

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

beforeAll(async () => {
  orthanc = await startOrthanc();
  [train, target] = await Promise.all([41, 42].map((seed) => storePhantom(orthanc, seed, 8)));
  dataDir = tempDir('nnsam-faults-');
  server = await spawnServe({ dataDir, dicomwebUrl: orthanc.dicomWebUrl });
  projectId = await projectWithExample(server, train, [2, 5]);
  modelId = await trainTiny(server, projectId);
}, 240_000);

afterAll(async () => {
  await server?.kill('SIGKILL');
  await orthanc?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Nothing a failed or killed training run leaves: only finished model folders, an empty tmp/. */
function expectNoLeftovers(dir: string, models: string[]) {
  expect(readdirSync(join(dir, 'models')).sort()).toEqual([...models].sort());
  expect(readdirSync(join(dir, 'tmp'))).toEqual([]);
  expect(readdirSync(join(dir, 'results')).filter((n) => n.endsWith('.tmp'))).toEqual([]);
}

const modelIds = async (s: ServeChild) =>
  ((await s.call('GET', '/api/models')).body as { id: string }[]).map((m) => m.id);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function startTraining(s: ServeChild): Promise<{ id: string; modelId: string }> {
  const job = await s.call('POST', `/api/projects/${projectId}/train`, { minutes: 10, encoder: 'none' });
  expect(job.status).toBe(202);
  await waitForStage(s, job.body.id, ['training']);
  return job.body;
}

async function trainerOf(s: ServeChild): Promise<number> {
  for (let n = 0; n < 100; n++) {
    const [pid] = s.descendants('nnsam_trainer train');
    if (pid) return pid;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no trainer process');
}

describe('process and machine faults (nnsam serve as a child process)', () => {
  it(
    'the trainer killed with SIGKILL: the job fails saying so, nothing is stored',
    { timeout: 180_000 },
    async () => {
      const job = await startTraining(server);
      process.kill(await trainerOf(server), 'SIGKILL');
      const done = await waitForJob(server, job.id, ['failed', 'succeeded', 'cancelled'], 60_000);
      expect(done.state).toBe('failed');
      expect(done.error.code).toBe('trainer_killed');
      expect(done.error.message).toMatch(/killed by SIGKILL.*out of memory/);
      expect(await modelIds(server)).toEqual([modelId]);
      expectNoLeftovers(dataDir, [modelId]);
    },
  );

  it(
    'the server killed with SIGKILL during training and a queue of segment jobs: on restart training is interrupted, the queue resumes, the trainer did not outlive it',
    { timeout: 400_000 },
    async () => {
      await server.stop();
      // this server runs no segment jobs, so they stay queued
      server = await spawnServe({
        dataDir,
        dicomwebUrl: orthanc.dicomWebUrl,
        env: { NNSAM_SEGMENT_WORKERS: '0' },
      });
      const training = await startTraining(server);
      const queued: string[] = [];
      for (let n = 0; n < 3; n++) {
        const r = await server.call('POST', '/api/segment', {
          modelId,
          studyInstanceUID: target.studyInstanceUID,
          seriesInstanceUID: target.seriesInstanceUID,
          store: n === 0,
          returnSeg: true,
          tta: false,
        });
        expect(r.status).toBe(202);
        queued.push(r.body.id as string);
      }
      // deleting a model that queued jobs need, or the project being trained, is refused
      const del = await server.call('DELETE', `/api/models/${modelId}`);
      expect(del.status).toBe(409);
      expect(del.body.error).toMatchObject({
        code: 'model_in_use',
        message: expect.stringContaining(queued[0]),
      });
      expect((await server.call('DELETE', `/api/projects/${projectId}`)).status).toBe(409);

      const trainer = await trainerOf(server);
      // what a killed run leaves: the trainer's input (in the data dir) and the model under a temporary name
      expect(readdirSync(join(dataDir, 'tmp')).length).toBeGreaterThan(0);
      expect(readdirSync(join(dataDir, 'models')).some((n) => n.includes('.partial-'))).toBe(true);
      const killed = await server.kill('SIGKILL');
      expect(killed.signal).toBe('SIGKILL');
      // the orphaned trainer notices its closed pipe at its next progress line and exits
      const deadline = Date.now() + 30_000;
      while (alive(trainer) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(alive(trainer)).toBe(false);

      // restarted first without segment workers, so the queue cannot write files while the data dir is checked
      server = await spawnServe({
        dataDir,
        dicomwebUrl: orthanc.dicomWebUrl,
        env: { NNSAM_SEGMENT_WORKERS: '0' },
      });
      const interrupted = (await server.call('GET', `/api/jobs/${training.id}`)).body;
      expect(interrupted).toMatchObject({ state: 'interrupted', error: { code: 'interrupted' } });
      // the half-written model folder and the trainer's input were removed at start
      expectNoLeftovers(dataDir, [modelId]);
      expect(server.logs.join('\n')).toContain('removed files left by jobs of a stopped server');
      for (const id of queued)
        expect((await server.call('GET', `/api/jobs/${id}`)).body.state).toBe('queued');
      await server.stop();
      server = await spawnServe({ dataDir, dicomwebUrl: orthanc.dicomWebUrl });
      for (const id of queued) {
        const done = await waitForJob(server, id, ['succeeded', 'failed'], 120_000);
        expect(done.state).toBe('succeeded');
      }
      expect(readdirSync(join(dataDir, 'results')).sort()).toEqual(queued.map((id) => `${id}.dcm`).sort());
      expect(await modelIds(server)).toEqual([modelId]);
    },
  );

  it(
    'the trainer out of memory (NNSAM_TRAINER_MEMORY_MB): the job fails with out_of_memory and a hint, nothing is stored',
    { timeout: 180_000 },
    async () => {
      await server.stop();
      // 256 MiB of address space: less than PyTorch itself maps, so the next allocation fails (a tensor,
      // or a library loaded on first use)
      server = await spawnServe({
        dataDir,
        dicomwebUrl: orthanc.dicomWebUrl,
        env: { NNSAM_TRAINER_MEMORY_MB: '256' },
      });
      const job = await server.call('POST', `/api/projects/${projectId}/train`, {
        minutes: 5,
        maxIterations: 4,
        encoder: 'none',
      });
      const done = await waitForJob(server, job.body.id, ['failed', 'succeeded'], 120_000);
      expect(done.state).toBe('failed');
      expect(done.error).toMatchObject({ code: 'out_of_memory' });
      expect(done.error.message).toMatch(/ran out of memory.*NNSAM_TRAINER_MEMORY_MB=256/s);
      expect(done.error.hint).toMatch(/NNSAM_TRAINER_MEMORY_MB/);
      expect(await modelIds(server)).toEqual([modelId]);
      expectNoLeftovers(dataDir, [modelId]);
      await server.stop();
      server = await spawnServe({ dataDir, dicomwebUrl: orthanc.dicomWebUrl });
    },
  );

  it(
    'the disk full while a model is written (tmpfs data directory): disk_full (507), nothing stored, the server keeps working',
    { timeout: 240_000 },
    async () => {
      // room for the database and the example, not for a model (measured: see the first model's size)
      const modelBytes = Number(
        execFileSync('du', ['-sb', join(dataDir, 'models', modelId)], { encoding: 'utf8' }).split('\t')[0],
      );
      const small = tempDir('nnsam-full-');
      const full = await spawnServe({
        dataDir: small,
        dicomwebUrl: orthanc.dicomWebUrl,
        tmpfsBytes: 2 * 1024 * 1024 + Math.floor(modelBytes / 2),
      });
      try {
        const dir = full.visibleDataDir;
        const project = await projectWithExample(full, train, [2, 5]);
        const job = await full.call('POST', `/api/projects/${project}/train`, {
          minutes: 5,
          maxIterations: 4,
          encoder: 'none',
        });
        const done = await waitForJob(full, job.body.id, ['failed', 'succeeded'], 180_000);
        expect(done.state).toBe('failed');
        expect(done.error).toMatchObject({ code: 'disk_full' });
        expect(done.error.message).toMatch(/space left/i);
        expect(done.error.hint).toMatch(/Free disk space/);
        expectNoLeftovers(dir, []);
        expect(await modelIds(full)).toEqual([]);
        // the database still takes writes (space was freed by removing the partial model)
        const another = await full.call('POST', '/api/projects', {
          name: 'after',
          classes: [{ value: 1, name: 'x', color: [1, 2, 3] }],
        });
        expect(another.status).toBe(201);
        expect((await fetch(`${full.url}/api/health`)).status).toBe(200);
        expect(existsSync(join(small, 'nnsam.sqlite'))).toBe(false); // it was all on the tmpfs
      } finally {
        await full.kill('SIGKILL');
      }
    },
  );

  it('deleting a model after its jobs ended works, and removes its files', async () => {
    const del = await server.call('DELETE', `/api/models/${modelId}`);
    expect(del.status).toBe(204);
    expect(existsSync(join(dataDir, 'models', modelId))).toBe(false);
    const again = await server.call('POST', '/api/segment', {
      modelId,
      studyInstanceUID: target.studyInstanceUID,
      seriesInstanceUID: target.seriesInstanceUID,
    });
    expect(again.status).toBe(404);
  });
});
