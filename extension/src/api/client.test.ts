import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Example, Info, Job, Project } from '../../../server/src/api/index.js';
import { serve, type RunningServer } from '../../../server/src/api-server.js';
import { loadConfig } from '../../../server/src/config.js';
import { createLogger } from '../../../server/src/util/logger.js';
import { authorizationProvider } from '../auth.js';
import { ViewerError } from '../errors.js';
import { NnsamApi } from './client.js';

// A real HTTP server on loopback answering the way the nnSAM API does (and the ways it can fail).
let server: Server;
let base: string;
const seenAuthorization: Array<string | undefined> = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    seenAuthorization.push(req.headers.authorization);
    if (req.url === '/ok/health') return json(200, { status: 'ok', version: '1.2.3' });
    if (req.url === '/wrong/health') return json(200, { status: 'fine', version: '1' });
    if (req.url === '/wrong/projects') return json(200, [{ id: 'p1', name: 'x' }]);
    if (req.url === '/html/health') {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      return res.end('<html>OHIF</html>');
    }
    if (req.url === '/down/health') {
      return json(503, {
        error: { code: 'busy', message: 'The server is starting.', hint: 'Wait a minute.' },
      });
    }
    if (req.url === '/proxy/health') return json(502, { nope: true });
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

describe('NnsamApi against answers of every kind', () => {
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
    const proxy = await failure(new NnsamApi(`${base}/proxy`).health());
    expect(proxy.hint).toMatch(/proxy .* could not reach it/);
  });

  it('refuses answers that are not the contract, naming the field', async () => {
    const wrong = await failure(new NnsamApi(`${base}/wrong`).health());
    expect(wrong.code).toBe('bad_response');
    const project = await failure(new NnsamApi(`${base}/wrong`).projects());
    expect(project.message).toMatch(/\/projects .*"classes" should be array/);
    const html = await failure(new NnsamApi(`${base}/html`).health());
    expect(html.code).toBe('bad_response');
    expect(html.hint).toMatch(/apiBaseUrl/);
  });

  it('sends the Authorization header the provider gives, asked before each request', async () => {
    let n = 0;
    const api = new NnsamApi(`${base}/ok`, {
      authorization: authorizationProvider(
        { getToken: () => `t${++n}`, useOhifUserToken: true },
        () => undefined,
      ),
    });
    seenAuthorization.length = 0;
    await api.health();
    await api.health();
    expect(seenAuthorization).toEqual(['Bearer t1', 'Bearer t2']);
  });
});

describe('NnsamApi against the real nnSAM server (bearer tokens)', () => {
  const TOKEN = 'viewer-client-test-token';
  let running: RunningServer;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nnsam-client-'));
    const config = loadConfig(
      { data: dataDir, dicomweb: 'http://127.0.0.1:9/dicom-web', port: 0 },
      { NNSAM_API_TOKENS: TOKEN, NNSAM_THREADS: '1' },
    );
    running = await serve(config, createLogger({}, { sink: () => undefined, json: true, level: 'error' }));
  });
  afterAll(async () => {
    await running?.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  const withToken = (token?: string) =>
    new NnsamApi(`${running.url}/api`, {
      authorization: authorizationProvider({ token, useOhifUserToken: false }, () => undefined),
    });

  it('reads info, creates and lists projects, lists examples and jobs: answers match the contract', async () => {
    const api = withToken(TOKEN);
    expect(Info.parse(await api.info()).auth).toBe('bearer');
    const created = await api.createProject({
      name: 'Heart',
      classes: [
        { value: 1, name: 'RV', color: [0, 0, 255] },
        { value: 2, name: 'LV', color: [255, 0, 0] },
      ],
    });
    expect(Project.parse(created)).toMatchObject({ name: 'Heart', latestModelId: null, exampleCount: 0 });
    const projects = await api.projects();
    expect(projects.map((p) => Project.parse(p).id)).toEqual([created.id]);
    expect((await api.examples(created.id)).map((e) => Example.parse(e))).toEqual([]);
    expect(
      (await api.jobs({ projectId: created.id, kind: 'train', limit: 1 })).map((j) => Job.parse(j)),
    ).toEqual([]);
  });

  it("passes the server's refusals on: no token, a duplicate class, training without examples", async () => {
    const noToken = await failure(withToken().projects());
    expect([noToken.code, noToken.status]).toEqual(['unauthorized', 401]);
    expect(noToken.hint).toMatch(/nnsam\.token or nnsam\.getToken/);
    expect((await failure(withToken('wrong').info())).status).toBe(401);

    const api = withToken(TOKEN);
    const duplicate = await failure(
      api.createProject({ name: 'x', classes: [1, 1].map((value) => ({ value, name: `c${value}` })) }),
    );
    expect([duplicate.code, duplicate.status]).toEqual(['invalid_request', 400]);
    expect(duplicate.message).toMatch(/class values must be unique/);

    const project = await api.createProject({ name: 'Empty', classes: [{ value: 1, name: 'Liver' }] });
    const untrained = await failure(api.train(project.id, { minutes: 1, encoder: 'none' }));
    expect([untrained.code, untrained.status]).toEqual(['no_examples', 409]);
    expect(untrained.hint).toMatch(/Add labelled slices/);

    const events = withToken(TOKEN).jobEvents('job-that-does-not-exist');
    const missing = await failure(events.next());
    expect(missing.status).toBe(404);
  });
});
