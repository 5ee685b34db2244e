/**
 * Turns: at most one piece of work at a time, in the order asked for. Inference uses it on a CPU so the SAM
 * encoder's onnxruntime session and the network's do not run at once: each has a pool of as many threads as
 * the machine has cores, and two pools on the same cores slow each other down more than they overlap
 * (docs/benchmarks.md, 2026-12-06 evening).
 */
export class Turns {
  private last: Promise<unknown> = Promise.resolve();

  /** Runs `work` once every piece asked for before it has settled; its result or error is the caller's. */
  take<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.last.then(work);
    // the next turn waits for this one to settle, whether it succeeded or not
    this.last = turn.catch(() => undefined);
    return turn;
  }
}

/** `work` in a turn when there are turns to take, else at once. */
export function inTurn<T>(turns: Turns | null, work: () => Promise<T>): Promise<T> {
  return turns ? turns.take(work) : work();
}
