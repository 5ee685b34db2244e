/**
 * A server job as a panel section shows it (training and segmentation runs extend it), and the small
 * facts about job states both sections need.
 */
import type { JobProgress, JobState } from '@nnsam/server/api';

import { TERMINAL } from '../api/sse.js';
import type { ErrorText } from '../errors.js';

/** `starting`: the request is on its way. */
export interface JobRun {
  jobId: string | null;
  state: JobState | 'starting';
  progress: JobProgress | null;
  /** 0..1 of the current stage (training: of the budget), when known */
  fraction: number | null;
  error: ErrorText | null;
}

export function isOver(state: JobRun['state']): boolean {
  return state !== 'starting' && TERMINAL.includes(state);
}

/** done / total of a progress report, at most 1; null when the stage has no total. */
export function progressFraction(progress: JobProgress): number | null {
  return progress.total ? Math.min(1, (progress.done ?? 0) / progress.total) : null;
}
