/**
 * The real API stack for integration tests: a private Orthanc with the phantom studies the test asks for,
 * and the nnSAM server (`serve`, exactly what `nnsam serve` runs) on a free loopback port with a fresh data
 * directory and a bearer token. `call` sends authenticated JSON requests.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { serve, type RunningServer } from '../../server/src/api-server.js';
import { loadConfig } from '../../server/src/config.js';
import { makePhantom, type Phantom } from '../../server/src/demo/phantom.js';
import { stowInstances } from '../../server/src/demo/stow.js';
import { startOrthanc, type OrthancInstance, type OrthancOptions } from '../../server/src/orthanc/launch.js';
import { createLogger, type Logger } from '../../server/src/util/logger.js';

/** Response bodies of many shapes: tests read fields and assert on them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export const TOKEN = 'integration-test-token';

/** One API request with the test token; the body comes back parsed when it is JSON, else as text. */
export async function callApi(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: never }> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (e.g. a 204 or a file)
  }
  return { status: res.status, body: parsed as never };
}

export interface ApiStack {
  orthanc: OrthancInstance;
  server: RunningServer;
  url: string;
  dataDir: string;
  logs: string[];

  call<T = Json>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: T }>;
  /** Restarts the server on the same data directory (what a crash-and-restart looks like to the store). */
  restart(env?: NodeJS.ProcessEnv): Promise<void>;
  stop(): Promise<void>;
}

export interface ApiStackOptions {
  env?: NodeJS.ProcessEnv;
  orthanc?: OrthancOptions;
  /** Start Orthanc on this port (the hook test needs to know it before the server starts). */
  orthancPort?: number;
  /** Server port (default: a free one). */
  port?: number;
  /** The DICOMweb URL the server uses (default: Orthanc's; e.g. a fault proxy in front of it). */
  dicomweb?: (orthanc: OrthancInstance) => string | Promise<string>;
}

export function quietLogger(logs: string[]): Logger {
  return createLogger({}, { sink: (line) => logs.push(line), json: true, level: 'debug' });
}

export async function startApiStack(options: ApiStackOptions = {}): Promise<ApiStack> {
  const orthanc = await startOrthanc({
    ...options.orthanc,
    ...(options.orthancPort ? { port: options.orthancPort } : {}),
  });
  const dataDir = await mkdtemp(join(tmpdir(), 'nnsam-api-'));
  const logs: string[] = [];
  const dicomweb = options.dicomweb ? await options.dicomweb(orthanc) : orthanc.dicomWebUrl;
  const configFor = (env?: NodeJS.ProcessEnv) =>
    loadConfig(
      { data: dataDir, dicomweb, port: options.port ?? 0 },
      { NNSAM_API_TOKENS: TOKEN, NNSAM_THREADS: '2', ...options.env, ...env },
    );
  let server = await serve(configFor(), quietLogger(logs));
  const stack: ApiStack = {
    orthanc,
    get server() {
      return server;
    },
    get url() {
      return server.url;
    },
    dataDir,
    logs,
    call: (method, path, body, headers) => callApi(server.url, method, path, body, headers),
    async restart(env) {
      await server.close();
      server = await serve(configFor(env), quietLogger(logs));
    },
    async stop() {
      await server.close().catch(() => undefined);
      await orthanc.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return stack;
}

/** Makes a phantom study and stores it in Orthanc. */
export async function storePhantom(orthanc: OrthancInstance, seed: number, slices = 12): Promise<Phantom> {
  const phantom = makePhantom({ seed, slices, size: 128 });
  await stowInstances(
    orthanc.dicomWebUrl,
    phantom.instances.map((i) => i.bytes),
  );
  return phantom;
}

/** Waits until a job reaches one of the states (polling its status). */
export async function waitForJob(
  stack: Pick<ApiStack, 'call'>,
  jobId: string,
  states: string[],
  timeoutMs = 240_000,
): Promise<Json> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await stack.call('GET', `/api/jobs/${jobId}`);
    if (states.includes(body.state)) return body;
    if (Date.now() > deadline)
      throw new Error(`job ${jobId} is still ${body.state} after ${timeoutMs} ms: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Reads a job's SSE stream to its end (the server closes it after the final state). */
export async function readEvents(stack: Pick<ApiStack, 'url'>, jobId: string, after = 0): Promise<Json[]> {
  const res = await fetch(`${stack.url}/api/jobs/${jobId}/events`, {
    headers: { authorization: `Bearer ${TOKEN}`, ...(after ? { 'last-event-id': String(after) } : {}) },
  });
  if (!res.ok || !res.body) throw new Error(`events: HTTP ${res.status}`);
  const text = await res.text();
  return text
    .split('\n\n')
    .map((block) => block.split('\n').find((l) => l.startsWith('data: ')))
    .filter((l): l is string => Boolean(l))
    .map((l) => JSON.parse(l.slice(6)));
}
