import type { ProgressEvent } from '../engine/index.js';
import type { JobContext } from '../jobs/types.js';

/**
 * Forwards the engine's progress to a job: stages as progress, iterations and validations as metrics.
 * Iterations are thinned to a few per second (a GPU reports hundreds); validations and stages always pass.
 */
export function engineProgress(ctx: JobContext, minIntervalMs = 250): (e: ProgressEvent) => void {
  let lastIteration = 0;
  let lastStage: string = 'training';
  return (e) => {
    if (e.type === 'stage') {
      lastStage = e.stage;
      ctx.progress({
        stage: e.stage,
        ...(e.done !== undefined ? { done: e.done } : {}),
        ...(e.total !== undefined ? { total: e.total } : {}),
        ...(e.message ? { message: e.message } : {}),
      });
    } else if (e.type === 'iteration') {
      const now = Date.now();
      if (now - lastIteration < minIntervalMs && e.fraction < 1) return;
      lastIteration = now;
      ctx.metrics({
        iteration: e.iteration,
        loss: e.loss,
        lr: e.lr,
        seconds: e.seconds,
        itPerSec: e.itPerSec,
        fraction: e.fraction,
      });
    } else if (e.type === 'validation') {
      ctx.metrics({ iteration: e.iteration, valDice: e.dice });
    } else if (e.type === 'warning') {
      ctx.log.warn(e.message);
      ctx.progress({ stage: lastStage, message: e.message });
    }
  };
}
