/**
 * The distributed queue: the same jobs, carried by BullMQ on Redis so that several worker machines (GPU
 * hosts) share the load. The API server stays the only writer of its SQLite store; workers report through
 * BullMQ (progress events and a tagged return value) and never touch the database. Workers and the API
 * server share the data directory (models, example labelmaps), e.g. over NFS: see docs/server.md.
 */
import { Queue, QueueEvents, Worker, type Job as BullJob } from 'bullmq';
import { Redis } from 'ioredis';

import type { Job, JobProgress, TrainMetrics } from '../api/index.js';
import type { Store } from '../store/index.js';
import { fromSystemError, isNnsamError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { recordFailure, recordSuccess, type Ending } from './outcome.js';
import type { JobHandlers, JobOutcome, JobQueue } from './types.js';

const KINDS: Job['kind'][] = ['train', 'segment'];
const queueName = (kind: Job['kind']) => `nnsam-${kind}`;
const CANCEL_CHANNEL = 'nnsam:cancel';

interface WireJob {
  jobId: string;
  payload: unknown;
}

/** What a worker reports while it runs, as BullMQ progress data. */
type WireProgress =
  | { type: 'running' }
  | { type: 'progress'; progress: JobProgress }
  | { type: 'metrics'; metrics: TrainMetrics };

/** How a job ended, as the BullMQ return value (workers never throw, so errors keep their code and hint). */
type WireResult =
  | { status: 'succeeded'; outcome: JobOutcome }
  | { status: Ending; error: { code: string; message: string; hint?: string } };

function connect(url: string): Redis {
  // BullMQ needs maxRetriesPerRequest: null for blocking connections
  return new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
}

/** API-server side: dispatches jobs to Redis and records what workers report. */
export class RedisQueue implements JobQueue {
  readonly backend = 'redis' as const;
  private readonly connection: Redis;
  private readonly publisher: Redis;
  private readonly queues: Map<Job['kind'], Queue>;
  private readonly events: QueueEvents[] = [];
  private readonly extra: Redis[] = [];

  constructor(
    private readonly store: Store,
    private readonly redisUrl: string,
    private readonly log: Logger,
  ) {
    this.connection = connect(redisUrl);
    this.publisher = connect(redisUrl);
    this.queues = new Map(KINDS.map((k) => [k, new Queue(queueName(k), { connection: this.connection })]));
  }

  async start(): Promise<void> {
    for (const kind of KINDS) {
      const connection = connect(this.redisUrl);
      this.extra.push(connection);
      const events = new QueueEvents(queueName(kind), { connection });
      events.on('progress', ({ jobId, data }) => this.onProgress(jobId, data as WireProgress));
      events.on('completed', ({ jobId, returnvalue }) => this.onCompleted(jobId, returnvalue as unknown));
      events.on('failed', ({ jobId, failedReason }) => {
        // only infrastructure failures land here (a stalled or killed worker): the work may be half done
        this.log.warn('worker lost a job', { jobId, reason: failedReason });
        recordFailure(this.store, jobId, undefined, 'interrupted', this.log);
      });
      await events.waitUntilReady();
      this.events.push(events);
    }
    await this.reconcile();
  }

  async enqueue(jobId: string): Promise<void> {
    const job = this.store.jobs.get(jobId);
    const wire: WireJob = { jobId, payload: job.payload };
    await this.queues.get(job.kind)!.add(job.kind, wire, {
      jobId,
      attempts: 1,
      removeOnComplete: { age: 3600 },
      removeOnFail: { age: 24 * 3600 },
    });
  }

  async cancel(jobId: string): Promise<void> {
    const job = this.store.jobs.get(jobId);
    const bull = await this.queues.get(job.kind)!.getJob(jobId);
    const state = bull ? await bull.getState() : 'unknown';
    if (state === 'waiting' || state === 'delayed' || state === 'prioritized' || state === 'unknown') {
      await bull?.remove().catch(() => undefined);
      recordFailure(this.store, jobId, undefined, 'cancelled', this.log);
      return;
    }
    // running on some worker: every worker listens, the one running it aborts and reports 'cancelled'
    await this.publisher.publish(CANCEL_CHANNEL, jobId);
  }

  async shutdown(): Promise<void> {
    await Promise.all(this.events.map((e) => e.close()));
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    for (const c of [this.connection, this.publisher, ...this.extra]) c.disconnect();
  }

  /** After a restart of the API server: resubmit queued jobs Redis lost, and settle jobs that ended meanwhile. */
  private async reconcile(): Promise<void> {
    for (const state of ['queued', 'running'] as const) {
      for (const job of this.store.jobs.list({ state, limit: 10_000 })) {
        const bull = await this.queues.get(job.kind)!.getJob(job.id);
        if (!bull) {
          if (state === 'queued') await this.enqueue(job.id);
          else recordFailure(this.store, job.id, undefined, 'interrupted', this.log);
          continue;
        }
        const bullState = await bull.getState();
        if (bullState === 'completed') this.onCompleted(job.id, bull.returnvalue);
        else if (bullState === 'failed')
          recordFailure(this.store, job.id, undefined, 'interrupted', this.log);
        else if (bullState === 'active') this.store.jobs.markRunning(job.id);
      }
    }
  }

  private onProgress(jobId: string, data: WireProgress): void {
    if (data.type === 'running') this.store.jobs.markRunning(jobId);
    else if (data.type === 'progress') this.store.jobs.setProgress(jobId, data.progress);
    else if (data.type === 'metrics')
      this.store.jobs.appendEvent(jobId, { type: 'metrics', metrics: data.metrics });
  }

  private onCompleted(jobId: string, value: unknown): void {
    const result = (typeof value === 'string' ? JSON.parse(value) : value) as WireResult;
    this.store.jobs.markRunning(jobId); // a job can finish before its 'running' progress event is read
    if (result.status === 'succeeded') recordSuccess(this.store, jobId, result.outcome);
    else
      this.store.jobs.transition(jobId, ['running', 'queued'], result.status, {
        error: result.error,
      });
  }
}

/** Worker side (`nnsam worker`, or inside the API server): runs jobs from Redis with the given handlers. */
export class RedisWorkers {
  private readonly workers: Worker[] = [];
  private readonly running = new Map<string, AbortController>();
  private readonly connections: Redis[] = [];
  private subscriber: Redis | undefined;
  private stopping = false;

  constructor(
    private readonly redisUrl: string,
    private readonly handlers: JobHandlers,
    private readonly concurrency: Record<Job['kind'], number>,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.subscriber = connect(this.redisUrl);
    await this.subscriber.subscribe(CANCEL_CHANNEL);
    this.subscriber.on('message', (_channel, jobId: string) =>
      this.running.get(jobId)?.abort(new Error('cancelled')),
    );
    for (const kind of KINDS) {
      if (this.concurrency[kind] < 1) continue;
      const connection = connect(this.redisUrl);
      this.connections.push(connection);
      const worker = new Worker<WireJob, WireResult>(queueName(kind), (job) => this.process(kind, job), {
        connection,
        concurrency: this.concurrency[kind],
        // training holds a job for minutes: renew the lock well within BullMQ's stall check
        lockDuration: 60_000,
        stalledInterval: 30_000,
        maxStalledCount: 0,
      });
      worker.on('error', (e) => this.log.error('redis worker error', { error: e }));
      await worker.waitUntilReady();
      this.workers.push(worker);
    }
  }

  /** Stops taking jobs; running ones are aborted and reported as interrupted (they can be retried). */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const c of this.running.values()) c.abort(new Error('shutdown'));
    await Promise.all(this.workers.map((w) => w.close()));
    this.subscriber?.disconnect();
    for (const c of this.connections) c.disconnect();
  }

  private async process(kind: Job['kind'], job: BullJob<WireJob, WireResult>): Promise<WireResult> {
    const { jobId, payload } = job.data;
    const controller = new AbortController();
    this.running.set(jobId, controller);
    const log = this.log.child({ jobId, kind });
    // progress goes out in order, and all of it before the result
    let sent: Promise<unknown> = Promise.resolve();
    const report = (p: WireProgress) => {
      sent = sent.then(() => job.updateProgress(p as unknown as object)).catch(() => undefined);
    };
    try {
      report({ type: 'running' });
      const outcome = await this.handlers[kind](payload, {
        jobId,
        signal: controller.signal,
        progress: (progress) => report({ type: 'progress', progress }),
        metrics: (metrics) => report({ type: 'metrics', metrics }),
        log,
      });
      await sent;
      return { status: 'succeeded', outcome };
    } catch (thrown) {
      const e = fromSystemError(thrown);
      const ending: Ending = controller.signal.aborted
        ? this.stopping
          ? 'interrupted'
          : 'cancelled'
        : 'failed';
      if (!isNnsamError(e) && ending === 'failed') log.error('job failed', { error: e });
      const error = isNnsamError(e)
        ? { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) }
        : ending === 'failed'
          ? {
              code: 'internal_error',
              message: 'The job failed unexpectedly; the worker log has the details.',
            }
          : {
              code: ending,
              message:
                ending === 'cancelled'
                  ? 'The job was cancelled.'
                  : 'The worker stopped while the job was running.',
            };
      await sent;
      return { status: ending, error };
    } finally {
      this.running.delete(jobId);
    }
  }
}
