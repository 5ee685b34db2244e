import { createServer, type Server } from 'node:http';

import type { JobEvent } from '@nnsam/server/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ViewerError } from '../errors.js';
import { NnsamApi } from './client.js';
import { followJob, SseParser } from './sse.js';

describe('SseParser', () => {
  it('splits messages across chunk boundaries, joins data lines, drops comments and data-less blocks', () => {
    const parser = new SseParser();
    expect(parser.push(': keep-alive\n\nid: 1\nevent: state\nda')).toEqual([]);
    expect(parser.push('ta: {"a":1}\n\nid: 2\r\ndata: x\r\ndata:y\r\n\r\nevent: only\n\n')).toEqual([
      { id: '1', event: 'state', data: '{"a":1}' },
      { id: '2', data: 'x\ny' },
    ]);
    expect(parser.push('data: tail')).toEqual([]);
    expect(parser.push('\n\n')).toEqual([{ data: 'tail' }]);
  });
});

// A real HTTP server that plays a job's event stream the way the nnSAM server does, and drops the
// connection after the second event the first time, to make the client resume with Last-Event-ID.
const time = '2026-01-01T00:00:00Z';
const EVENTS: JobEvent[] = [
  { seq: 1, time, type: 'state', state: 'queued' },
  { seq: 2, time, type: 'state', state: 'running' },
  { seq: 3, time, type: 'metrics', metrics: { iteration: 1, loss: 0.9, fraction: 0.5 } },
  { seq: 4, time, type: 'state', state: 'succeeded' },
];
let server: Server;
let base: string;
const requests: Array<{ lastEventId: string | undefined; authorization: string | undefined }> = [];
beforeAll(async () => {
  let dropped = false;
  server = createServer((req, res) => {
    requests.push({
      lastEventId: req.headers['last-event-id'] as string | undefined,
      authorization: req.headers.authorization,
    });
    if (req.url === '/api/jobs/gone/events') {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'not_found', message: 'No job gone.' } }));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.flushHeaders();
    const after = Number(req.headers['last-event-id'] ?? 0);
    const pending = EVENTS.filter((e) => e.seq > after);
    const write = (e: JobEvent) =>
      res.write(`id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
    if (!dropped) {
      dropped = true;
      // half an event after two whole ones, then the connection breaks
      pending.slice(0, 2).forEach(write);
      res.write('id: 3\nevent: metrics\ndata: {"seq":3');
      setTimeout(() => res.destroy(), 20);
      return;
    }
    res.write(': keep-alive\n\n');
    pending.forEach(write);
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}/api`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('followJob over a real connection', () => {
  it('resumes after a dropped connection with Last-Event-ID: every event once, in order', async () => {
    const api = new NnsamApi(base, { authorization: async () => 'Bearer abc' });
    const seen: number[] = [];
    const final = await followJob((after, signal) => api.jobEvents('j1', after, signal), {
      onEvent: (e) => seen.push(e.seq),
      backoffMs: [10],
    });
    expect(final).toBe('succeeded');
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(requests.map((r) => r.lastEventId)).toEqual([undefined, '2']);
    expect(requests.every((r) => r.authorization === 'Bearer abc')).toBe(true);
  });

  it('stops at once on a 4xx (nothing a reconnection fixes)', async () => {
    const api = new NnsamApi(base);
    const before = requests.length;
    await expect(
      followJob((after, signal) => api.jobEvents('gone', after, signal), { onEvent: () => undefined }),
    ).rejects.toMatchObject({ code: 'not_found', status: 404 });
    expect(requests.length - before).toBe(1);
  });

  it('gives up on a server that stays away, saying that the job goes on', async () => {
    const api = new NnsamApi('http://127.0.0.1:9/api');
    const error = await followJob((after, signal) => api.jobEvents('j', after, signal), {
      onEvent: () => undefined,
      backoffMs: [1],
      maxFailures: 3,
    }).catch((e: unknown) => e as ViewerError);
    expect(error).toBeInstanceOf(ViewerError);
    expect((error as ViewerError).code).toBe('events_lost');
    expect((error as ViewerError).hint).toMatch(/goes on on the server/);
  });
});
