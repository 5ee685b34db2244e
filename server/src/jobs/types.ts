import type { Job, JobProgress, Model, TrainMetrics } from '../api/index.js';
import type { Logger } from '../util/logger.js';

/** What a running job can report; the queue turns it into stored state and SSE events. */
export interface JobContext {
  jobId: string;
  signal: AbortSignal;
  progress(p: JobProgress): void;
  metrics(m: TrainMetrics): void;
  log: Logger;
}

/**
 * A job's outcome. Handlers never write to the database (in the Redis mode they run on other machines):
 * they return what happened and the queue records it. A model's files are already in place (atomic rename
 * into the models folder) when `model` is returned.
 */
export interface JobOutcome {
  result: NonNullable<Job['result']>;
  model?: Omit<Model, 'createdAt'>;
}

export type JobHandler = (payload: unknown, ctx: JobContext) => Promise<JobOutcome>;
export type JobHandlers = Record<Job['kind'], JobHandler>;

export interface JobQueue {
  readonly backend: 'local' | 'redis';
  /** Starts dispatching (and reconciles jobs left over from a previous run). */
  start(): Promise<void>;
  /** A job row was created in the store in state queued: dispatch it. */
  enqueue(jobId: string): Promise<void>;
  /** Cancels a queued or running job; resolves when the request has been recorded. */
  cancel(jobId: string): Promise<void>;
  /** Stops taking work; running jobs are aborted and marked interrupted (they can be retried). */
  shutdown(): Promise<void>;
}
