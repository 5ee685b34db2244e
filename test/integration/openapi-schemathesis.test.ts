/**
 * The OpenAPI document tells the truth: schemathesis (test/python-requirements.lock) generates requests from
 * /api/openapi.json, valid and invalid ones, sends them to a real server with a real Orthanc behind it and
 * checks every answer against the document (status codes, bodies, media types, 405 + Allow for undeclared
 * methods, schema-valid requests accepted, invalid ones refused). Bounded by cases per operation and time.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { testToolsPython } from '../support/dicom-tools.js';
import { startApiStack, TOKEN, type ApiStack } from '../support/api.js';

let stack: ApiStack;
let reportDir: string;

beforeAll(async () => {
  // a high job limit: 429s are declared, but the checks should see the routes themselves answer
  stack = await startApiStack({ env: { NNSAM_JOBS_PER_MINUTE: '100000' } });
  reportDir = await mkdtemp(join(tmpdir(), 'nnsam-schemathesis-'));
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  if (reportDir) await rm(reportDir, { recursive: true, force: true });
});

function run(
  cmd: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // in the report folder: schemathesis keeps a .schemathesis/ cache in its working directory
    const env = { ...process.env, NO_COLOR: '1', COLUMNS: '160' };
    const child = spawn(cmd, args, { cwd: reportDir, env });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('the OpenAPI document against the running server (schemathesis)', () => {
  it('reports no failure: every answer as documented, valid requests accepted, undeclared methods 405', async () => {
    const schemathesis = join(testToolsPython(), '..', 'schemathesis');
    const { code, output } = await run(
      schemathesis,
      [
        '--config-file',
        join(import.meta.dirname, 'schemathesis.toml'),
        'run',
        `${stack.url}/api/openapi.json`,
        '--header',
        `Authorization: Bearer ${TOKEN}`,
        '--checks',
        'all',
        '--exclude-checks',
        'ensure_resource_availability', // why: schemathesis.toml
        '--max-examples',
        '15',
        '--max-time',
        '70',
        '--seed',
        '14',
        '--workers',
        '1',
        '--request-timeout',
        '20',
        '--report',
        'junit',
        '--report-junit-path',
        join(reportDir, 'junit.xml'),
      ],
      110_000,
    );
    expect(code, output).toBe(0);
    const junit = await readFile(join(reportDir, 'junit.xml'), 'utf8');
    // it did test the operations: one test case per operation, none failed
    expect((junit.match(/<testcase /g) ?? []).length).toBeGreaterThan(25);
    expect(junit).not.toMatch(/<failure|<error/);
    // and the server is still healthy afterwards
    expect((await stack.call('GET', '/api/health')).status).toBe(200);
  }, 150_000);
});
