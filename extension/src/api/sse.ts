/**
 * Server-Sent Events over `fetch` (not EventSource, which cannot send an Authorization header): a parser
 * for the text/event-stream format, and `followJob`, which reads a job's events to its final state and
 * reconnects after a dropped connection with Last-Event-ID, so no event is lost or repeated.
 */
import type { JobEvent, JobState } from '@nnsam/server/api';

import { ViewerError } from '../errors.js';

export interface SseMessage {
  id?: string;
  event?: string;
  data: string;
}

/**
 * Incremental parser: feed it decoded text as it arrives; it returns the complete messages so far and keeps
 * the incomplete tail. Comments (`: keep-alive`) and messages without data are dropped (as browsers do).
 */
export class SseParser {
  private buffer = '';

  push(text: string): SseMessage[] {
    this.buffer += text;
    const out: SseMessage[] = [];
    for (;;) {
      const end = /\r\n\r\n|\n\n|\r\r/.exec(this.buffer);
      if (!end) break;
      const block = this.buffer.slice(0, end.index);
      this.buffer = this.buffer.slice(end.index + end[0].length);
      const message = parseBlock(block);
      if (message) out.push(message);
    }
    return out;
  }
}

function parseBlock(block: string): SseMessage | undefined {
  const data: string[] = [];
  let id: string | undefined;
  let event: string | undefined;
  for (const line of block.split(/\r\n|\n|\r/)) {
    if (!line || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'id') id = value;
    else if (field === 'event') event = value;
  }
  if (!data.length) return undefined;
  return {
    ...(id !== undefined ? { id } : {}),
    ...(event !== undefined ? { event } : {}),
    data: data.join('\n'),
  };
}

export const TERMINAL: readonly JobState[] = ['succeeded', 'failed', 'cancelled', 'interrupted'];

/** Opens one events stream after `afterSeq`; yields each event until the server ends the stream. */
export type OpenEvents = (afterSeq: number, signal: AbortSignal) => AsyncIterable<JobEvent>;

export interface FollowOptions {
  /** resume after this sequence number (0: from the start, the whole history) */
  afterSeq?: number;
  onEvent: (event: JobEvent) => void;
  signal?: AbortSignal;
  /** waits between reconnections, in ms; the last one repeats (default 0.5 s, 1 s, 2 s, 4 s) */
  backoffMs?: number[];
  /** give up after this many connections in a row that bring no event (default 6) */
  maxFailures?: number;
}

/**
 * Follows a job's events until its final state and resolves to that state. A stream that ends early or
 * fails is reopened after the last event seen (the server sends the missed events first). An error that
 * reconnecting cannot fix (HTTP 4xx: no such job, not allowed) rejects at once; a server that stays away
 * rejects after `maxFailures` attempts with what to do.
 */
export async function followJob(open: OpenEvents, options: FollowOptions): Promise<JobState> {
  const backoff = options.backoffMs ?? [500, 1000, 2000, 4000];
  const maxFailures = options.maxFailures ?? 6;
  const signal = options.signal ?? new AbortController().signal;
  let last = options.afterSeq ?? 0;
  let failures = 0;
  let lastError: unknown;
  for (;;) {
    signal.throwIfAborted();
    let progressed = false;
    try {
      for await (const event of open(last, signal)) {
        if (event.seq <= last) continue; // already seen (the server resumes after Last-Event-ID)
        last = event.seq;
        progressed = true;
        options.onEvent(event);
        if (event.type === 'state' && TERMINAL.includes(event.state)) return event.state;
      }
    } catch (e) {
      if (signal.aborted) throw e;
      if (e instanceof ViewerError && e.status !== undefined && e.status >= 400 && e.status < 500) throw e;
      lastError = e;
    }
    failures = progressed ? 0 : failures + 1;
    if (failures >= maxFailures) {
      const reason = lastError instanceof Error ? ` (${lastError.message})` : '';
      throw new ViewerError(
        'events_lost',
        `Lost the connection to the nnSAM server while following the job${reason}.`,
        {
          hint: 'The job goes on on the server. Check that the server is running, then reopen the panel to follow it again.',
          cause: lastError,
        },
      );
    }
    if (failures > 0) await sleep(backoff[Math.min(failures - 1, backoff.length - 1)]!, signal);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
