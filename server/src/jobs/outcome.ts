import { fromSystemError, isNnsamError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { Store } from '../store/index.js';
import type { JobOutcome } from './types.js';

/** Records how a job ended; shared by every queue backend so they cannot disagree on states. */
export function recordSuccess(store: Store, jobId: string, outcome: JobOutcome): void {
  store.db.transaction(() => {
    if (outcome.model) store.models.add(outcome.model);
    store.jobs.transition(jobId, ['running'], 'succeeded', { result: outcome.result });
  })();
}

export type Ending = 'cancelled' | 'interrupted' | 'failed';

export function recordFailure(
  store: Store,
  jobId: string,
  thrown: unknown,
  ending: Ending,
  log: Logger,
): void {
  const error = fromSystemError(thrown);
  const body =
    ending === 'cancelled'
      ? { code: 'cancelled', message: 'The job was cancelled.' }
      : ending === 'interrupted'
        ? {
            code: 'interrupted',
            message: 'The server stopped while the job was running.',
            hint: 'Retry it with POST /api/jobs/{id}/retry.',
          }
        : isNnsamError(error)
          ? { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) }
          : {
              code: 'internal_error',
              message: 'The job failed unexpectedly; the server log has the details.',
            };
  if (ending === 'failed' && !isNnsamError(error)) log.error('job failed', { jobId, error });
  store.jobs.transition(jobId, ['running', 'queued'], ending, { error: body });
}
