/**
 * Property-based fuzzing (fast-check) of every JSON endpoint of a real server (real Orthanc behind it): wrong
 * types, unknown fields, near-valid bodies whose parts are swapped for junk, path-like and unicode strings,
 * labelmaps of the wrong size or with damaged RLE. Whatever arrives, the answer is a 2xx or a 4xx with an
 * error body that has a message — never a 5xx — and the server keeps answering. Also the labelmap RLE
 * decoder against arbitrary bytes. Runs are bounded by count and by time (FUZZ_RUNS, FUZZ_SECONDS).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { decodeLabelSlice, encodeLabelSlice } from '../../server/src/api/labelmap.js';
import { labelmapToVolume } from '../../server/src/services/labelmap.js';
import { writeSeg } from '../../server/src/dicom/seg-write.js';
import { stowInstances } from '../../server/src/demo/stow.js';
import { loadSeriesFromBuffers, type DicomSeries } from '../../server/src/dicom/series.js';
import type { Phantom } from '../../server/src/demo/phantom.js';
import { apiRoutes } from '../../server/src/http/app.js';
import { isNnsamError } from '../../server/src/util/errors.js';
import { startApiStack, storePhantom, type ApiStack } from '../support/api.js';
import { writeReport } from '../support/report.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SECONDS = Number(process.env.FUZZ_SECONDS ?? 15);
const limits = { numRuns: RUNS, interruptAfterTimeLimit: SECONDS * 1000, markInterruptAsFailure: false };

let stack: ApiStack;
let phantom: Phantom;
let series: DicomSeries;
let projectId: string;
let segSeriesInstanceUID: string;
const tried: Record<
  string,
  { runs: number; statuses: Record<number, number>; codes: Record<string, number> }
> = {};

beforeAll(async () => {
  stack = await startApiStack({ env: { NNSAM_JOBS_PER_MINUTE: '100000' } });
  phantom = await storePhantom(stack.orthanc, 31, 4);
  series = await loadSeriesFromBuffers(
    phantom.instances.map((i) => ({ bytes: i.bytes, where: `slice ${i.slice}` })),
    'phantom',
  );
  // a SEG of the phantom in the PACS, so fuzzed SEG sources get as far as reading it
  const seg = writeSeg(
    phantom.labels,
    series,
    { 1: 'Right ventricle', 2: 'Myocardium', 3: 'Aorta' },
    {
      name: 'fuzz',
      version: '1',
    },
  );
  await stowInstances(stack.orthanc.dicomWebUrl, [seg.bytes]);
  segSeriesInstanceUID = seg.seriesInstanceUID;
  const project = await stack.call('POST', '/api/projects', {
    name: 'Fuzz',
    classes: [
      { value: 1, name: 'Right ventricle' },
      { value: 2, name: 'Myocardium' },
      { value: 3, name: 'Left ventricle' },
    ],
  });
  projectId = project.body.id;
}, 120_000);

afterAll(async () => {
  writeReport('api-fuzz', { runsPerProperty: RUNS, secondsPerProperty: SECONDS, tried });
  await stack?.stop();
});

/** Sends one request and checks the contract: never 5xx; 4xx carry { error: { code, message } }. */
async function send(name: string, method: string, path: string, body?: unknown): Promise<number> {
  const res = await stack.call(method, path, body === undefined ? undefined : JSON.stringify(body));
  const t = (tried[name] ??= { runs: 0, statuses: {}, codes: {} });
  t.runs++;
  t.statuses[res.status] = (t.statuses[res.status] ?? 0) + 1;
  const code = String(res.body?.error?.code ?? res.status);
  t.codes[code] = (t.codes[code] ?? 0) + 1;
  const where = `${method} ${path} ${JSON.stringify(body)?.slice(0, 300)} -> ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`;
  expect(res.status, where).toBeLessThan(500);
  if (res.status >= 400) {
    expect(typeof res.body?.error?.code, where).toBe('string');
    expect(typeof res.body?.error?.message, where).toBe('string');
    expect(res.body.error.message.length, where).toBeGreaterThan(0);
  }
  return res.status;
}

// --- building blocks ------------------------------------------------------------------------------
const nasty = fc.constantFrom(
  '../../etc/passwd',
  '..%2F..%2Fetc',
  '/etc/passwd',
  '\u0000',
  'a'.repeat(10_000),
  '💥🫀',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
  '\ud800',
  '<script>alert(1)</script>',
  "'; DROP TABLE jobs; --",
  '1.2.840.10008.1.2',
  '',
  ' ',
);
const anyString = fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), nasty);
const junk = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  anyString,
  fc.double(),
  fc.integer(),
  fc.constant(null),
  fc.constant(undefined),
);
/** A valid value most of the time, junk otherwise (so that whole bodies are often valid up to one part). */
const maybe = <T>(valid: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: valid, weight: 12 }, { arbitrary: junk as fc.Arbitrary<unknown>, weight: 1 });
/** Names as people type them: any script, emoji, combining marks. */
const name = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 });
/** An object with an unknown field now and then. */
const withExtra = (obj: fc.Arbitrary<Record<string, unknown>>) =>
  fc
    .tuple(obj, fc.option(fc.tuple(anyString, junk), { freq: 5 }))
    .map(([o, extra]) => (extra ? { ...o, [extra[0] || 'x']: extra[1] } : o));

const classDef = fc.record(
  {
    value: maybe(
      fc.oneof({ arbitrary: fc.integer({ min: 1, max: 255 }), weight: 5 }, fc.integer({ min: -5, max: 300 })),
    ),
    name: maybe(fc.oneof({ arbitrary: name, weight: 5 }, anyString)),
    color: maybe(
      fc.oneof(
        { arbitrary: fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255)), weight: 5 },
        fc.array(fc.integer({ min: -1, max: 256 }), { maxLength: 4 }),
      ),
    ),
  },
  { requiredKeys: ['value', 'name'] },
);
const projectBody = withExtra(
  fc.record(
    {
      name: maybe(fc.oneof({ arbitrary: name, weight: 5 }, anyString)),
      description: maybe(anyString),
      classes: maybe(fc.array(classDef, { minLength: 1, maxLength: 3 })),
    },
    { requiredKeys: ['name', 'classes'] },
  ),
);

function labelmapArb() {
  const [nx, ny] = phantom.labels.geometry.dims;
  const sops = phantom.instances.map((i) => i.sopInstanceUID);
  const rle = fc.oneof(
    fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('base64')),
    {
      arbitrary: fc
        .tuple(fc.integer({ min: 0, max: 6 }), fc.nat(nx * ny))
        .map(([v, n]) => encodeLabelSlice(new Uint8Array(nx * ny).fill(v, 0, n))),
      weight: 3,
    },
    anyString,
  );
  return fc.record(
    {
      encoding: maybe(fc.constant('rle-u8-v1')),
      studyInstanceUID: maybe(fc.constant(phantom.studyInstanceUID)),
      seriesInstanceUID: maybe(fc.constant(phantom.seriesInstanceUID)),
      rows: maybe(fc.oneof({ arbitrary: fc.constant(ny), weight: 4 }, fc.integer({ min: -1, max: 10_000 }))),
      columns: maybe(
        fc.oneof({ arbitrary: fc.constant(nx), weight: 4 }, fc.integer({ min: -1, max: 10_000 })),
      ),
      slices: maybe(
        fc.array(
          fc.record(
            {
              sopInstanceUID: maybe(fc.oneof({ arbitrary: fc.constantFrom(...sops), weight: 5 }, anyString)),
              frameNumber: maybe(fc.integer({ min: -1, max: 3 })),
              labels: maybe(rle),
            },
            { requiredKeys: ['sopInstanceUID', 'labels'] },
          ),
          { minLength: 1, maxLength: 3 },
        ),
      ),
    },
    { requiredKeys: ['encoding', 'studyInstanceUID', 'seriesInstanceUID', 'rows', 'columns', 'slices'] },
  );
}

// --- the properties -------------------------------------------------------------------------------
describe('fuzzing the JSON endpoints (fast-check)', () => {
  it('POST /projects: arbitrary and near-valid bodies; accepted names come back unchanged', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(projectBody, junk), async (body) => {
        const status = await send('POST /projects', 'POST', '/api/projects', body);
        if (status === 201) {
          const b = body as { name: string };
          const list = await stack.call('GET', '/api/projects');
          const created = list.body.find((p: { name: string }) => p.name === b.name.trim());
          expect(created, `project ${JSON.stringify(b.name)} not listed with its name`).toBeTruthy();
          await stack.call('DELETE', `/api/projects/${created.id}`);
        }
      }),
      limits,
    );
    // the generator reaches past validation: some projects were created, others refused
    expect(tried['POST /projects']!.statuses[201]).toBeGreaterThan(0);
    expect(tried['POST /projects']!.statuses[400]).toBeGreaterThan(0);
  });

  it('POST /projects/{id}/examples: labelmaps of any size, damaged RLE, foreign slices, SEG sources', async () => {
    const sops = phantom.instances.map((i) => i.sopInstanceUID);
    const seg = fc.record(
      {
        kind: fc.constant('seg'),
        segSeriesInstanceUID: maybe(
          fc.oneof(
            { arbitrary: fc.constant(segSeriesInstanceUID), weight: 4 },
            fc.constant('1.2.3'),
            anyString,
          ),
        ),
        segmentMap: maybe(
          fc.dictionary(
            fc.oneof(
              { arbitrary: fc.constantFrom('1', '2', '3', '4'), weight: 4 },
              fc.string({ maxLength: 3 }),
            ),
            fc.oneof(
              { arbitrary: fc.integer({ min: 0, max: 5 }), weight: 4 },
              fc.integer({ min: -1, max: 300 }),
            ),
            { maxKeys: 3 },
          ),
        ),
        labelledSOPInstanceUIDs: maybe(
          fc.array(
            fc.oneof({ arbitrary: fc.constantFrom(...sops), weight: 4 }, fc.constant('1.2.3'), anyString),
            {
              maxLength: 2,
            },
          ),
        ),
      },
      { requiredKeys: ['kind', 'segSeriesInstanceUID'] },
    );
    const body = withExtra(
      fc.record({
        studyInstanceUID: maybe(fc.constant(phantom.studyInstanceUID)),
        seriesInstanceUID: maybe(fc.constant(phantom.seriesInstanceUID)),
        source: maybe(fc.oneof(fc.record({ kind: fc.constant('labelmap'), labelmap: labelmapArb() }), seg)),
      }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof({ arbitrary: body, weight: 5 }, { arbitrary: junk, weight: 1 }),
        async (b) => {
          const status = await send(
            'POST /projects/{id}/examples',
            'POST',
            `/api/projects/${projectId}/examples`,
            b,
          );
          if (status === 201) {
            // a valid example slipped through the fuzzer: fine, but then it must really fit the series
            const list = await stack.call('GET', `/api/projects/${projectId}/examples`);
            for (const e of list.body)
              await stack.call('DELETE', `/api/projects/${projectId}/examples/${e.id}`);
          }
        },
      ),
      limits,
    );
    // bodies got past the schema into the server's checks against the series in the PACS
    const codes = Object.keys(tried['POST /projects/{id}/examples']!.codes);
    const deep = [
      'invalid_labelmap',
      'labelmap_shape_mismatch',
      'label_on_wrong_series',
      'unknown_class',
      'unknown_segment',
      'dicomweb_not_found',
      'no_labelled_slices',
      '201',
    ];
    expect(codes.filter((c) => deep.includes(c)).length, codes.join(', ')).toBeGreaterThanOrEqual(4);
  });

  it('POST /projects/{id}/train, /segment, /rules and the Orthanc hook', async () => {
    const train = withExtra(
      fc.record(
        {
          minutes: maybe(fc.oneof(fc.double(), fc.integer({ min: -10, max: 100_000 }))),
          maxIterations: maybe(fc.integer({ min: -10, max: 2_000_000 })),
          encoder: maybe(
            fc.oneof(
              fc.constantFrom('auto', 'none', 'mobilesam', 'onnx:x.onnx', 'onnx:../x.onnx'),
              anyString,
            ),
          ),
          seed: maybe(fc.integer()),
        },
        { requiredKeys: [] },
      ),
    );
    const segment = withExtra(
      fc.record(
        {
          modelId: maybe(fc.oneof(fc.constant('mdl-nothere'), anyString)),
          studyInstanceUID: maybe(fc.constant(phantom.studyInstanceUID)),
          seriesInstanceUID: maybe(fc.constant(phantom.seriesInstanceUID)),
          store: maybe(fc.boolean()),
          returnSeg: maybe(fc.boolean()),
          tta: maybe(fc.boolean()),
        },
        { requiredKeys: [] },
      ),
    );
    const rule = withExtra(
      fc.record(
        {
          name: maybe(anyString),
          modality: maybe(fc.oneof(fc.constantFrom('MR', 'CT'), anyString)),
          seriesDescription: maybe(fc.oneof(fc.constantFrom('(', 'cine|sax', '.*', '[a-'), anyString)),
          modelId: maybe(fc.constant('mdl-nothere')),
          projectId: maybe(fc.constant(projectId)),
          enabled: maybe(fc.boolean()),
        },
        { requiredKeys: [] },
      ),
    );
    const hook = withExtra(
      fc.record(
        {
          studyInstanceUID: maybe(
            fc.oneof(fc.constant(phantom.studyInstanceUID), fc.constant('1.2.3'), anyString),
          ),
          orthancStudyId: maybe(
            fc.oneof(fc.string({ unit: fc.constantFrom(...'0123456789abcdef-'), maxLength: 20 }), anyString),
          ),
        },
        { requiredKeys: [] },
      ),
    );
    const request = fc.oneof(
      fc.tuple(
        fc.constant('POST /projects/{id}/train'),
        fc.constant(`/api/projects/${projectId}/train`),
        fc.oneof(train, junk),
      ),
      fc.tuple(fc.constant('POST /segment'), fc.constant('/api/segment'), fc.oneof(segment, junk)),
      fc.tuple(fc.constant('POST /rules'), fc.constant('/api/rules'), fc.oneof(rule, junk)),
      fc.tuple(
        fc.constant('POST /hooks/orthanc/stable-study'),
        fc.constant('/api/hooks/orthanc/stable-study'),
        fc.oneof(hook, junk),
      ),
    );
    await fc.assert(
      fc.asyncProperty(request, async ([name, path, body]) => {
        await send(name, 'POST', path, body);
      }),
      { ...limits, numRuns: RUNS * 2 },
    );
    // the project has no examples, so no training job can have been queued
    expect((await stack.call('GET', '/api/jobs')).body).toEqual([]);
    for (const r of (await stack.call('GET', '/api/rules')).body)
      await stack.call('DELETE', `/api/rules/${r.id}`);
  });

  it('every route: arbitrary path parameters, query strings and raw (non-JSON) bodies', async () => {
    const routes = apiRoutes(stack.server.api.ctx)
      .filter((r) => !r.public && !r.path.endsWith('/events')) // an SSE stream of a real job would not end
      .map((r) => ({ method: r.method.toUpperCase(), path: r.path, bodyTypes: r.bodyTypes }));
    /** Percent-encodes a path segment; strings that are not well-formed UTF-16 go out byte by byte. */
    const segment = (id: string) => {
      try {
        return encodeURIComponent(id).replace(/%2F/gi, '/');
      } catch {
        return [...Buffer.from(id, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
      }
    };
    const segmentText = fc.oneof(anyString, fc.constantFrom('prj-x', projectId, '..', '.', '%2e%2e', '%00'));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        segmentText,
        fc.dictionary(fc.constantFrom('state', 'kind', 'projectId', 'limit', 'after', 'x'), anyString, {
          maxKeys: 2,
        }),
        fc.option(fc.string({ unit: 'binary', maxLength: 200 }), { nil: undefined }),
        async (r, id, query, raw) => {
          const path =
            '/api' +
            r.path.replace(/:([A-Za-z]+)/g, () => segment(id)) +
            (Object.keys(query).length ? `?${new URLSearchParams(query as Record<string, string>)}` : '');
          const method = r.method;
          const body = method === 'POST' && !r.bodyTypes ? raw : undefined;
          const res = await stack.call(method, path, body);
          const t = (tried[`${method} ${r.path} (raw)`] ??= { runs: 0, statuses: {}, codes: {} });
          t.runs++;
          t.statuses[res.status] = (t.statuses[res.status] ?? 0) + 1;
          expect(
            res.status,
            `${method} ${path} ${JSON.stringify(body)} -> ${JSON.stringify(res.body)}`,
          ).toBeLessThan(500);
        },
      ),
      { ...limits, numRuns: RUNS * 2 },
    );
  });

  it('POST /models/import: arbitrary bytes are refused as an invalid archive, nothing stored', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 2048 }),
          // gzip magic then junk, and a gzip'd tar-looking header
          fc.uint8Array({ maxLength: 512 }).map((b) => Uint8Array.from([0x1f, 0x8b, 8, 0, ...b])),
        ),
        async (bytes) => {
          const res = await fetch(`${stack.url}/api/models/import`, {
            method: 'POST',
            headers: {
              authorization: 'Bearer integration-test-token',
              'content-type': 'application/octet-stream',
            },
            body: bytes,
          });
          const body = (await res.json()) as { error?: { code: string } };
          const t = (tried['POST /models/import'] ??= { runs: 0, statuses: {}, codes: {} });
          t.runs++;
          t.statuses[res.status] = (t.statuses[res.status] ?? 0) + 1;
          t.codes[String(body.error?.code)] = (t.codes[String(body.error?.code)] ?? 0) + 1;
          expect(res.status).toBe(400);
          expect(body.error?.code).toMatch(/invalid_archive|invalid_request/);
        },
      ),
      limits,
    );
    expect((await stack.call('GET', '/api/models')).body).toEqual([]);
  });

  it('keeps answering health checks afterwards', async () => {
    expect((await fetch(`${stack.url}/api/health`)).status).toBe(200);
  });
});

describe('the labelmap RLE decoder (property tests)', () => {
  it('decodes what it encodes, for any labels', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 5000 }), (labels) => {
        expect(decodeLabelSlice(encodeLabelSlice(labels), labels.length)).toEqual(labels);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('answers arbitrary bytes and strings with the slice or a RangeError, never anything else', () => {
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('base64')),
      fc.string({ unit: 'binary', maxLength: 300 }),
    );
    fc.assert(
      fc.property(input, fc.integer({ min: 0, max: 70_000 }), (encoded, length) => {
        try {
          const out = decodeLabelSlice(encoded, length);
          expect(out.length).toBe(length);
        } catch (e) {
          expect(e).toBeInstanceOf(RangeError);
        }
      }),
      { numRuns: RUNS * 10 },
    );
  });

  it('turns a damaged slice into invalid_labelmap naming the slice, on a real series', () => {
    const [nx, ny] = phantom.labels.geometry.dims;
    const sop = phantom.instances[1]!.sopInstanceUID;
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), (bytes) => {
        const labels = Buffer.from(bytes).toString('base64');
        try {
          labelmapToVolume(
            {
              encoding: 'rle-u8-v1',
              studyInstanceUID: phantom.studyInstanceUID,
              seriesInstanceUID: phantom.seriesInstanceUID,
              rows: ny,
              columns: nx,
              slices: [{ sopInstanceUID: sop, labels }],
            },
            series,
          );
        } catch (e) {
          expect(isNnsamError(e) && e.code).toBe('invalid_labelmap');
          expect((e as Error).message).toContain(sop);
        }
      }),
      { numRuns: RUNS * 2 },
    );
  });
});
