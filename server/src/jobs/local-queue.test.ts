import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { Store } from '../store/index.js';
import { NnsamError } from '../util/errors.js';
import { createLogger } from '../util/logger.js';
import { LocalQueue } from './local-queue.js';
import type { JobContext, JobHandlers } from './types.js';

const log = createLogger({}, { sink: () => undefined });
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function tempStore(dir?: string): Store {
  const d = dir ?? mkdtempSync(join(tmpdir(), 'nnsam-queue-'));
  if (!dir) dirs.push(d);
  return new Store(d);
}

/** A handler that runs until released or aborted, so tests control when jobs end. */
function controllable() {
  const started: string[] = [];
  const release = new Map<string, () => void>();
  const handler = (_payload: unknown, ctx: JobContext) =>
    new Promise<{ result: { modelId: string } }>((resolve, reject) => {
      started.push(ctx.jobId);
      ctx.progress({ stage: 'working', done: 1, total: 2 });
      release.set(ctx.jobId, () => resolve({ result: { modelId: `mdl-${ctx.jobId}` } }));
      ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
    });
  return { started, release, handler };
}

const until = async (cond: () => boolean) => {
  for (let n = 0; n < 200 && !cond(); n++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
};

describe('LocalQueue', () => {
  it('runs jobs in order, at most N per kind, and records progress and results', async () => {
    const store = tempStore();
    const c = controllable();
    const q = new LocalQueue(
      store,
      { train: c.handler, segment: c.handler },
      { workers: { train: 1, segment: 1 } },
      log,
    );
    await q.start();
    const a = store.jobs.create('train', {}, {});
    const b = store.jobs.create('train', {}, {});
    await q.enqueue(a.id);
    await q.enqueue(b.id);
    await until(() => c.started.length === 1);
    expect(c.started).toEqual([a.id]);
    expect(store.jobs.get(b.id).state).toBe('queued');
    c.release.get(a.id)!();
    await until(() => c.started.length === 2);
    expect(store.jobs.get(a.id)).toMatchObject({
      state: 'succeeded',
      result: { modelId: `mdl-${a.id}` },
      attempts: 1,
    });
    const types = store.jobs.eventsSince(a.id, 0).map((e) => (e.type === 'state' ? e.state : e.type));
    expect(types).toEqual(['queued', 'running', 'progress', 'succeeded']);
    c.release.get(b.id)!();
    await until(() => store.jobs.get(b.id).state === 'succeeded');
    await q.shutdown();
    store.close();
  });

  it('cancels queued and running jobs; a running handler sees the abort', async () => {
    const store = tempStore();
    const c = controllable();
    const q = new LocalQueue(
      store,
      { train: c.handler, segment: c.handler },
      { workers: { train: 1, segment: 0 } },
      log,
    );
    await q.start();
    const running = store.jobs.create('train', {}, {});
    const waiting = store.jobs.create('train', {}, {});
    await q.enqueue(running.id);
    await until(() => c.started.length === 1);
    await q.cancel(waiting.id);
    expect(store.jobs.get(waiting.id).state).toBe('cancelled');
    await q.cancel(running.id);
    expect(store.jobs.get(running.id)).toMatchObject({ state: 'cancelled', error: { code: 'cancelled' } });
    expect(c.started).toEqual([running.id]);
    await q.shutdown();
    store.close();
  });

  it('keeps the code and hint of a handler error; hides unexpected ones', async () => {
    const store = tempStore();
    const handlers: JobHandlers = {
      train: async () => {
        throw new NnsamError('pacs_unreachable', 'Orthanc at http://x is down', {
          status: 503,
          hint: 'start it',
        });
      },
      segment: async () => {
        throw new TypeError('secret internal detail');
      },
    };
    const q = new LocalQueue(store, handlers, { workers: { train: 1, segment: 1 } }, log);
    await q.start();
    const t = store.jobs.create('train', {}, {});
    const s = store.jobs.create('segment', {}, {});
    await q.enqueue(t.id);
    await until(() => store.jobs.get(t.id).state === 'failed' && store.jobs.get(s.id).state === 'failed');
    expect(store.jobs.get(t.id).error).toEqual({
      code: 'pacs_unreachable',
      message: 'Orthanc at http://x is down',
      hint: 'start it',
    });
    expect(store.jobs.get(s.id).error?.code).toBe('internal_error');
    expect(JSON.stringify(store.jobs.get(s.id).error)).not.toContain('secret');
    await q.shutdown();
    store.close();
  });

  it('survives a restart: running jobs become interrupted and can be retried, queued jobs resume', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nnsam-queue-'));
    dirs.push(dir);
    let store = tempStore(dir);
    const c = controllable();
    let q = new LocalQueue(
      store,
      { train: c.handler, segment: c.handler },
      { workers: { train: 1, segment: 1 } },
      log,
    );
    await q.start();
    const first = store.jobs.create('train', {}, {});
    const second = store.jobs.create('train', {}, {});
    await q.enqueue(first.id);
    await until(() => c.started.length === 1);
    // a crash: the process dies without shutting the queue down
    store.close();

    store = tempStore(dir);
    const c2 = controllable();
    q = new LocalQueue(
      store,
      { train: c2.handler, segment: c2.handler },
      { workers: { train: 1, segment: 1 } },
      log,
    );
    await q.start();
    expect(store.jobs.get(first.id)).toMatchObject({ state: 'interrupted', error: { code: 'interrupted' } });
    await until(() => c2.started.includes(second.id));
    c2.release.get(second.id)!();
    await until(() => store.jobs.get(second.id).state === 'succeeded');
    expect(store.jobs.transition(first.id, ['failed', 'cancelled', 'interrupted'], 'queued')).toBe(true);
    await q.enqueue(first.id);
    await until(() => c2.started.includes(first.id));
    c2.release.get(first.id)!();
    await until(() => store.jobs.get(first.id).state === 'succeeded');
    expect(store.jobs.get(first.id).attempts).toBe(2);
    await q.shutdown();
    store.close();
  });

  it('marks jobs running at shutdown as interrupted', async () => {
    const store = tempStore();
    const c = controllable();
    const q = new LocalQueue(
      store,
      { train: c.handler, segment: c.handler },
      { workers: { train: 1, segment: 1 } },
      log,
    );
    await q.start();
    const j = store.jobs.create('segment', {}, {});
    await q.enqueue(j.id);
    await until(() => c.started.length === 1);
    await q.shutdown();
    expect(store.jobs.get(j.id).state).toBe('interrupted');
    store.close();
  });
});
