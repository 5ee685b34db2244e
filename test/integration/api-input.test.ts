/**
 * Every endpoint against bad input and missing credentials, on a real server with a real Orthanc behind it:
 * always a 4xx with a message, never a 500, and nothing stored.
 */
import { request } from 'node:http';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { apiRoutes } from '../../server/src/http/app.js';
import { startApiStack, TOKEN, type ApiStack } from '../support/api.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the OpenAPI document, read field by field
type Json = any;

let stack: ApiStack;

beforeAll(async () => {
  stack = await startApiStack({
    env: { NNSAM_CORS_ORIGINS: 'http://viewer.example', NNSAM_JOBS_PER_MINUTE: '3' },
  });
}, 60_000);
afterAll(async () => stack?.stop());

/** Concrete paths for every declared route (with ids that exist nowhere). */
function routes() {
  return apiRoutes(stack.server.api.ctx).map((r) => ({
    ...r,
    concrete:
      '/api' +
      r.path.replace(/:([A-Za-z]+)/g, (_m, name: string) => `${name.replace(/Id$/, '')}-doesnotexist`),
  }));
}

describe('authentication on every endpoint', () => {
  it('refuses every non-public endpoint without a token, with 401 and a hint', async () => {
    const all = routes();
    expect(all.length).toBeGreaterThan(20);
    for (const r of all) {
      const res = await fetch(`${stack.url}${r.concrete}`, {
        method: r.method.toUpperCase(),
        headers: { 'content-type': 'application/json' },
        ...(r.method === 'get' ? {} : { body: '{}' }),
      });
      if (r.public) {
        expect(res.status, `${r.method} ${r.path}`).toBeLessThan(500);
        continue;
      }
      expect(res.status, `${r.method} ${r.path}`).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      const body = (await res.json()) as { error: { code: string; hint?: string } };
      expect(body.error.code).toBe('unauthorized');
      expect(body.error.hint).toBeTruthy();
    }
  });

  it('refuses a wrong token', async () => {
    const r = await stack.call('GET', '/api/projects', undefined, { authorization: 'Bearer not-the-token' });
    expect(r.status).toBe(401);
  });
});

describe('bad input on every endpoint', () => {
  const garbage: unknown[] = [
    null,
    [],
    'just a string',
    { unknown: 1 },
    { name: 42, classes: 'x' },
    { studyInstanceUID: '../../etc/passwd', seriesInstanceUID: '1.2', source: { kind: 'labelmap' } },
    { modelId: '../x', studyInstanceUID: '1.2', seriesInstanceUID: '1.3' },
    { minutes: -1 },
    { name: '\u0000\ud83d\ude00 unicode', classes: [{ value: 0, name: '' }] },
  ];

  it('answers 4xx with a message for garbage bodies and path-like ids, never 500', async () => {
    for (const r of routes()) {
      for (const body of r.method === 'get' || r.method === 'delete' ? [undefined] : garbage) {
        const res = await stack.call(
          r.method.toUpperCase(),
          r.concrete,
          body === undefined ? undefined : JSON.stringify(body),
        );
        // listings without parameters have no bad input to send
        if (r.method === 'get' && !r.path.includes(':')) {
          expect(res.status, `${r.method} ${r.path}`).toBe(200);
          continue;
        }
        expect(res.status, `${r.method} ${r.path} ${JSON.stringify(body)}`).toBeGreaterThanOrEqual(400);
        expect(res.status, `${r.method} ${r.path} ${JSON.stringify(body)}`).toBeLessThan(500);
        if (r.raw && res.status === 404) continue;
        expect(typeof res.body?.error?.message, `${r.method} ${r.path}`).toBe('string');
      }
    }
    for (const bad of ['..%2F..%2Fetc', '%00', 'a'.repeat(65), 'x y']) {
      const res = await stack.call('GET', `/api/projects/${bad}`);
      expect(res.status, bad).toBeGreaterThanOrEqual(400);
      expect(res.status, bad).toBeLessThan(500);
    }
    expect((await stack.call('GET', '/api/projects')).body).toEqual([]);
  });

  it('says where a validation problem is', async () => {
    const r = await stack.call('POST', '/api/projects', {
      name: 'ok',
      classes: [
        { value: 1, name: 'a' },
        { value: 1, name: 'b' },
      ],
    });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/class values must be unique/);
    const unknown = await stack.call('POST', '/api/projects', {
      name: 'ok',
      classes: [{ value: 1, name: 'a' }],
      colour: 'red',
    });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body.error.issues)).toContain('colour');
  });

  it('keeps unicode names intact', async () => {
    const name = 'Herz – Ventrikel 心臓 🫀';
    const r = await stack.call('POST', '/api/projects', {
      name,
      classes: [{ value: 1, name: 'Ventrikel lösen' }],
    });
    expect(r.status).toBe(201);
    expect((await stack.call('GET', `/api/projects/${r.body.id}`)).body.name).toBe(name);
    expect((await stack.call('DELETE', `/api/projects/${r.body.id}`)).status).toBe(204);
  });

  it('refuses names that are not valid Unicode (an unpaired surrogate) instead of storing something else', async () => {
    const projects = (await stack.call('GET', '/api/projects')).body.length;
    for (const body of [
      { name: 'x\ud800', classes: [{ value: 1, name: 'a' }] },
      { name: 'ok', classes: [{ value: 1, name: '\udc00' }] },
      { name: 'ok', description: 'a\ud83d', classes: [{ value: 1, name: 'a' }] },
    ]) {
      const r = await stack.call('POST', '/api/projects', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.message).toMatch(/valid Unicode text/);
    }
    expect((await stack.call('GET', '/api/projects')).body.length).toBe(projects);
  });

  it('rejects malformed JSON and oversized bodies', async () => {
    const bad = await stack.call('POST', '/api/projects', '{"name": ');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_json');
    await stack.restart({ NNSAM_MAX_BODY_BYTES: '2048', NNSAM_CORS_ORIGINS: 'http://viewer.example' });
    const big = await stack.call('POST', '/api/projects', {
      name: 'x'.repeat(5000),
      classes: [{ value: 1, name: 'a' }],
    });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('payload_too_large');
  });

  it('answers a method a path does not declare with 405 and Allow, an unknown path with 404', async () => {
    // fetch refuses TRACE: node:http sends it as any client would
    const trace = await new Promise<{ status?: number; allow?: string }>((resolve, reject) =>
      request(`${stack.url}/api/health`, { method: 'TRACE' }, (res) => {
        res.resume();
        resolve({ status: res.statusCode, allow: res.headers.allow });
      })
        .on('error', reject)
        .end(),
    );
    expect(trace).toEqual({ status: 405, allow: 'GET, HEAD' });
    const del = await stack.call('DELETE', '/api/health');
    expect([del.status, del.body.error.code]).toEqual([405, 'method_not_allowed']);
    // the literal path wins over /models/{modelId}: GET /models/import is not a model called "import"
    const get = await fetch(`${stack.url}/api/models/import`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect([get.status, get.headers.get('allow')]).toEqual([405, 'POST']);
    const put = await stack.call('PUT', '/api/projects/prj-doesnotexist', {});
    expect([put.status, put.body.error.message]).toEqual([
      405,
      'PUT is not a method of /api/projects/prj-doesnotexist; it accepts GET, HEAD, DELETE.',
    ]);
    expect((await stack.call('GET', '/api/models/mdl-doesnotexist')).status).toBe(404);
  });

  it('states in its OpenAPI document what the server enforces', async () => {
    const doc = (await (await fetch(`${stack.url}/api/openapi.json`)).json()) as Json;
    expect(doc.openapi).toBe('3.1.0');
    const body = (path: string) => doc.paths[path].post.requestBody;
    expect(body('/api/rules').content['application/json'].schema.oneOf).toEqual([
      { required: ['modelId'] },
      { required: ['projectId'] },
    ]);
    const { source } = body('/api/projects/{projectId}/examples').content['application/json'].schema
      .properties;
    const segmentMap = source.oneOf.find((s: Json) => s.properties.kind.const === 'seg').properties
      .segmentMap;
    expect(segmentMap.propertyNames).toEqual({ type: 'string', pattern: '^\\d+$' });
    expect(Object.keys(body('/api/models/import').content)).toEqual([
      'application/gzip',
      'application/octet-stream',
    ]);
    expect(body('/api/projects').content['application/json'].schema.properties.classes.description).toMatch(
      /unique/,
    );
    expect(doc.paths['/api/projects'].post.responses['400'].description).toMatch(/share a value/);
  });

  it('answers unknown endpoints with a JSON 404', async () => {
    const r = await stack.call('GET', '/api/nothing/here');
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('not_found');
  });
});

describe('CORS and rate limits', () => {
  it('allows only the configured origins', async () => {
    const pre = (origin: string) =>
      fetch(`${stack.url}/api/projects`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization',
        },
      });
    const ok = await pre('http://viewer.example');
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('http://viewer.example');
    const evil = await pre('http://evil.example');
    expect(evil.status).toBe(403);
    const simple = await fetch(`${stack.url}/api/health`, { headers: { origin: 'http://evil.example' } });
    expect(simple.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('limits job creation per client', async () => {
    const statuses: number[] = [];
    for (let n = 0; n < 5; n++) {
      statuses.push(
        (await stack.call('POST', '/api/projects/prj-doesnotexist/train', { minutes: 1 })).status,
      );
    }
    expect(statuses.slice(0, 3)).toEqual([404, 404, 404]);
    expect(statuses.slice(3)).toEqual([429, 429]);
    const r = await stack.call('POST', '/api/projects/prj-doesnotexist/train', { minutes: 1 });
    expect(r.body.error.code).toBe('rate_limited');
  });
});

it('uses the token only as a bearer credential (logs never contain it)', () => {
  expect(stack.logs.join('\n')).not.toContain(TOKEN);
});
