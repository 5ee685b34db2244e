import type { Job, JobEvent, JobProgress, JobState } from '../api/index.js';
import { NnsamError } from '../util/errors.js';
import type { Db } from './db.js';
import { newId, now } from './ids.js';

interface JobRow {
  id: string;
  kind: Job['kind'];
  state: JobState;
  project_id: string | null;
  model_id: string | null;
  payload: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  progress: string | null;
  error: string | null;
  result: string | null;
  attempts: number;
}

export type StoredJob = Job & { payload: unknown };

const parse = <T>(s: string | null): T | null => (s === null ? null : (JSON.parse(s) as T));

function toJob(r: JobRow): StoredJob {
  // the row's kind tags its result: a job's handler (by kind) produced it, so the pair is read back as one
  return {
    id: r.id,
    kind: r.kind,
    state: r.state,
    projectId: r.project_id,
    modelId: r.model_id,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    progress: parse<JobProgress>(r.progress),
    error: parse<Job['error']>(r.error),
    result: parse<Job['result']>(r.result),
    attempts: r.attempts,
    payload: JSON.parse(r.payload),
  } as StoredJob;
}

export function publicJob(j: StoredJob): Job {
  const { payload: _payload, ...rest } = j;
  return rest;
}

type EventBody = JobEvent extends infer E ? (E extends JobEvent ? Omit<E, 'seq' | 'time'> : never) : never;

/**
 * Jobs and their event log. State changes are compare-and-set (`UPDATE ... WHERE state IN (...)`), so a
 * cancel racing a finish, or two workers racing for one job, can never both win.
 */
export class JobRepo {
  private readonly listeners = new Set<(jobId: string, e: JobEvent) => void>();

  constructor(private readonly db: Db) {}

  create(
    kind: Job['kind'],
    payload: unknown,
    refs: { projectId?: string | null; modelId?: string | null },
  ): StoredJob {
    const id = newId('job');
    this.db
      .prepare(
        `INSERT INTO jobs (id, kind, state, project_id, model_id, payload, created_at) VALUES (?, ?, 'queued', ?, ?, ?, ?)`,
      )
      .run(id, kind, refs.projectId ?? null, refs.modelId ?? null, JSON.stringify(payload), now());
    this.appendEvent(id, { type: 'state', state: 'queued' });
    return this.get(id);
  }

  find(id: string): StoredJob | undefined {
    const row = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
    return row && toJob(row);
  }

  get(id: string): StoredJob {
    const j = this.find(id);
    if (!j) throw new NnsamError('job_not_found', `No job with id ${id}.`, { status: 404 });
    return j;
  }

  list(
    filter: { state?: JobState; kind?: Job['kind']; projectId?: string; limit?: number } = {},
  ): StoredJob[] {
    const where: string[] = [];
    const args: unknown[] = [];
    for (const [column, value] of [
      ['state', filter.state],
      ['kind', filter.kind],
      ['project_id', filter.projectId],
    ] as const) {
      if (value === undefined) continue;
      where.push(`${column} = ?`);
      args.push(value);
    }
    const sql = `SELECT * FROM jobs ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY created_at DESC, rowid DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, filter.limit ?? 100) as JobRow[]).map(toJob);
  }

  /** Oldest queued job of these kinds, atomically moved to running; undefined when none is waiting. */
  claimNext(kinds: Job['kind'][]): StoredJob | undefined {
    if (!kinds.length) return undefined;
    const claimed = this.db.transaction(() => {
      const row = this.db
        .prepare(
          `SELECT id FROM jobs WHERE state = 'queued' AND kind IN (${kinds.map(() => '?').join(',')})
           ORDER BY created_at, rowid LIMIT 1`,
        )
        .get(...kinds) as { id: string } | undefined;
      if (!row) return undefined;
      this.db
        .prepare(
          `UPDATE jobs SET state = 'running', started_at = ?, attempts = attempts + 1, error = NULL WHERE id = ?`,
        )
        .run(now(), row.id);
      return row.id;
    })();
    if (!claimed) return undefined;
    this.appendEvent(claimed, { type: 'state', state: 'running' });
    return this.get(claimed);
  }

  /** Marks a specific queued job running (the Redis backend claims jobs itself). */
  markRunning(id: string): boolean {
    const changed = this.db
      .prepare(
        `UPDATE jobs SET state = 'running', started_at = ?, attempts = attempts + 1, error = NULL WHERE id = ? AND state = 'queued'`,
      )
      .run(now(), id).changes;
    if (changed) this.appendEvent(id, { type: 'state', state: 'running' });
    return changed > 0;
  }

  /** Moves a job from one of `from` to `to`; false when it was in another state (someone else won). */
  transition(
    id: string,
    from: JobState[],
    to: JobState,
    fields: { error?: Job['error']; result?: Job['result'] } = {},
  ): boolean {
    const terminal = to !== 'queued' && to !== 'running';
    const changed = this.db
      .prepare(
        `UPDATE jobs SET state = ?, finished_at = ?, error = COALESCE(?, error), result = COALESCE(?, result)
         WHERE id = ? AND state IN (${from.map(() => '?').join(',')})`,
      )
      .run(
        to,
        terminal ? now() : null,
        fields.error ? JSON.stringify(fields.error) : null,
        fields.result ? JSON.stringify(fields.result) : null,
        id,
        ...from,
      ).changes;
    if (changed)
      this.appendEvent(id, { type: 'state', state: to, ...(fields.error ? { error: fields.error } : {}) });
    return changed > 0;
  }

  setProgress(id: string, progress: JobProgress): void {
    this.db.prepare('UPDATE jobs SET progress = ? WHERE id = ?').run(JSON.stringify(progress), id);
    this.appendEvent(id, { type: 'progress', progress });
  }

  appendEvent(jobId: string, body: EventBody): JobEvent {
    const event = this.db.transaction(() => {
      const { seq } = this.db
        .prepare('SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM job_events WHERE job_id = ?')
        .get(jobId) as {
        seq: number;
      };
      const e = { seq, time: now(), ...body } as JobEvent;
      this.db
        .prepare('INSERT INTO job_events (job_id, seq, event) VALUES (?, ?, ?)')
        .run(jobId, seq, JSON.stringify(e));
      return e;
    })();
    for (const l of this.listeners) l(jobId, event);
    return event;
  }

  eventsSince(jobId: string, afterSeq: number): JobEvent[] {
    return (
      this.db
        .prepare('SELECT event FROM job_events WHERE job_id = ? AND seq > ? ORDER BY seq')
        .all(jobId, afterSeq) as {
        event: string;
      }[]
    ).map((r) => JSON.parse(r.event) as JobEvent);
  }

  /** Live events of every job (SSE endpoints filter by job). Returns the unsubscribe function. */
  subscribe(listener: (jobId: string, e: JobEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Jobs of a model that are queued or running (a model in use must not be deleted). */
  activeForModel(modelId: string): StoredJob[] {
    return (
      this.db
        .prepare(`SELECT * FROM jobs WHERE model_id = ? AND state IN ('queued', 'running')`)
        .all(modelId) as JobRow[]
    ).map(toJob);
  }

  activeForProject(projectId: string, kind: Job['kind']): StoredJob[] {
    return (
      this.db
        .prepare(`SELECT * FROM jobs WHERE project_id = ? AND kind = ? AND state IN ('queued', 'running')`)
        .all(projectId, kind) as JobRow[]
    ).map(toJob);
  }
}
