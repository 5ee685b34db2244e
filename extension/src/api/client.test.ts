import { createServer, type Server } from 'node:http';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ViewerError } from '../errors.js';
import { NnsamApi } from './client.js';

// A real HTTP server on loopback answering the way the nnSAM API does (and the ways it can fail).
let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/ok/health') return json(200, { status: 'ok', version: '1.2.3' });
    if (req.url === '/wrong/health') return json(200, { status: 'fine' });
    if (req.url === '/html/health') {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      return res.end('<html>OHIF</html>');
    }
    if (req.url === '/down/health') {
      return json(503, {
        error: { code: 'busy', message: 'The server is starting.', hint: 'Wait a minute.' },
      });
    }
    json(404, { nope: true });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const failure = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return e as ViewerError;
  }
  throw new Error('expected a failure');
};

describe('NnsamApi.health', () => {
  it('returns the Health body of a server that answers', async () => {
    await expect(new NnsamApi(`${base}/ok/`).health()).resolves.toEqual({ status: 'ok', version: '1.2.3' });
  });

  it("turns the server's error body into a ViewerError with its code, message and hint", async () => {
    const e = await failure(new NnsamApi(`${base}/down`).health());
    expect(e).toBeInstanceOf(ViewerError);
    expect([e.code, e.message, e.hint, e.status]).toEqual([
      'busy',
      'The server is starting.',
      'Wait a minute.',
      503,
    ]);
  });

  it('says the server is unreachable when nothing listens or nothing answers at that path', async () => {
    const closed = await failure(new NnsamApi('http://127.0.0.1:9/api').health());
    expect(closed.code).toBe('server_unreachable');
    expect(closed.message).toBe('The nnSAM server at http://127.0.0.1:9/api did not answer.');
    expect(closed.hint).toMatch(/npm start/);
    const missing = await failure(new NnsamApi(`${base}/nothing`).health());
    expect(missing.code).toBe('server_unreachable');
    expect(missing.message).toMatch(/answered 404/);
  });

  it('refuses answers that are not the contract', async () => {
    expect((await failure(new NnsamApi(`${base}/wrong`).health())).code).toBe('bad_response');
    const html = await failure(new NnsamApi(`${base}/html`).health());
    expect(html.code).toBe('bad_response');
    expect(html.hint).toMatch(/apiBaseUrl/);
  });
});
