import { NnsamError } from '../util/errors.js';

export function cancelledError(what: string): NnsamError {
  return new NnsamError('cancelled', `${what} was cancelled`, { status: 409 });
}

export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw cancelledError(what);
}
