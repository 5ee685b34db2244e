import type { Request, Response } from 'express';

import { TERMINAL_STATES, type JobEvent } from '../api/index.js';
import type { Store } from '../store/index.js';

/**
 * Streams a job's events as Server-Sent Events: first what the client missed (after `afterSeq`), then live
 * events, in sequence order, each with its seq as the SSE id. The stream ends after a final state.
 */
export function streamJobEvents(
  store: Store,
  jobId: string,
  afterSeq: number,
  req: Request,
  res: Response,
): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
  let last = afterSeq;
  let closed = false;
  const send = (e: JobEvent) => {
    if (closed || e.seq <= last) return;
    last = e.seq;
    res.write(`id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
    if (e.type === 'state' && TERMINAL_STATES.includes(e.state)) close();
  };
  const close = () => {
    if (closed) return;
    closed = true;
    unsubscribe();
    clearInterval(heartbeat);
    res.end();
  };
  // subscribe before replaying so nothing falls between the replay and the live stream
  const buffered: JobEvent[] = [];
  let replaying = true;
  const unsubscribe = store.jobs.subscribe((id, e) => {
    if (id !== jobId) return;
    if (replaying) buffered.push(e);
    else send(e);
  });
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  req.on('close', close);
  for (const e of store.jobs.eventsSince(jobId, afterSeq)) send(e);
  replaying = false;
  for (const e of buffered) send(e);
}
