/**
 * The embedded queue: jobs live in SQLite, a fixed number of workers per kind run them in this process
 * (training itself runs in a Python child process the handler spawns). On start, jobs a crashed or stopped
 * server left running are marked interrupted; queued jobs simply resume.
 */
import type { Job } from '../api/index.js';
import type { Store } from '../store/index.js';
import type { Logger } from '../util/logger.js';
import { recordFailure, recordSuccess } from './outcome.js';
import type { JobHandlers, JobQueue } from './types.js';

export interface LocalQueueOptions {
  workers: Record<Job['kind'], number>;
}

export class LocalQueue implements JobQueue {
  readonly backend = 'local' as const;
  private readonly running = new Map<
    string,
    { kind: Job['kind']; controller: AbortController; done: Promise<void> }
  >();
  private stopping = false;

  constructor(
    private readonly store: Store,
    private readonly handlers: JobHandlers,
    private readonly options: LocalQueueOptions,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    for (const job of this.store.jobs.list({ state: 'running', limit: 10_000 })) {
      recordFailure(this.store, job.id, undefined, 'interrupted', this.log);
      this.log.warn('job interrupted by a server restart', { jobId: job.id, kind: job.kind });
    }
    this.pump();
  }

  async enqueue(_jobId: string): Promise<void> {
    this.pump();
  }

  async cancel(jobId: string): Promise<void> {
    if (
      this.store.jobs.transition(jobId, ['queued'], 'cancelled', {
        error: { code: 'cancelled', message: 'The job was cancelled.' },
      })
    )
      return;
    const run = this.running.get(jobId);
    if (run) {
      run.controller.abort(new Error('cancelled'));
      await run.done;
    }
  }

  async shutdown(): Promise<void> {
    this.stopping = true;
    for (const run of this.running.values()) run.controller.abort(new Error('shutdown'));
    await Promise.all([...this.running.values()].map((r) => r.done));
  }

  private busy(kind: Job['kind']): number {
    let n = 0;
    for (const r of this.running.values()) if (r.kind === kind) n++;
    return n;
  }

  /** Starts as many queued jobs as there are free workers. */
  private pump(): void {
    if (this.stopping) return;
    for (;;) {
      const free = (Object.keys(this.options.workers) as Job['kind'][]).filter(
        (k) => this.busy(k) < this.options.workers[k],
      );
      const job = this.store.jobs.claimNext(free);
      if (!job) return;
      const controller = new AbortController();
      const done = this.execute(job.id, job.kind, job.payload, controller).finally(() => {
        this.running.delete(job.id);
        this.pump();
      });
      this.running.set(job.id, { kind: job.kind, controller, done });
    }
  }

  private async execute(
    jobId: string,
    kind: Job['kind'],
    payload: unknown,
    controller: AbortController,
  ): Promise<void> {
    const log = this.log.child({ jobId, kind });
    log.info('job started');
    const started = Date.now();
    try {
      const outcome = await this.handlers[kind](payload, {
        jobId,
        signal: controller.signal,
        progress: (p) => this.store.jobs.setProgress(jobId, p),
        metrics: (m) => this.store.jobs.appendEvent(jobId, { type: 'metrics', metrics: m }),
        log,
      });
      // a cancel that arrives after the work is complete changes nothing: the result is kept
      recordSuccess(this.store, jobId, outcome);
      log.info('job succeeded', { seconds: (Date.now() - started) / 1000 });
    } catch (e) {
      const ending = controller.signal.aborted ? (this.stopping ? 'interrupted' : 'cancelled') : 'failed';
      recordFailure(this.store, jobId, e, ending, log);
      log.info(`job ${ending}`, { seconds: (Date.now() - started) / 1000 });
    }
  }
}
