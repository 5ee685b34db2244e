/**
 * Privacy and containment over a full run (example, training, segmentation stored with STOW and kept for
 * download) of `nnsam serve` as a child process, at debug log level: no log line names the patient (name
 * or ID of the fixture) or carries the API token, and the server and its trainer write files only under
 * the data directory — HOME and TMPDIR, pointed at empty folders, stay empty, and the repository gains no
 * file.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { PHANTOM_PATIENT, type Phantom } from '../../server/src/demo/phantom.js';
import { startOrthanc, type OrthancInstance } from '../../server/src/orthanc/launch.js';
import { storePhantom, TOKEN, waitForJob } from '../support/api.js';
import { spawnServe, type ServeChild } from '../support/serve-child.js';
import { projectWithExample, trainTiny } from '../support/workflow.js';

const repo = resolve(import.meta.dirname, '..', '..');
let orthanc: OrthancInstance;
let train: Phantom;
let target: Phantom;
let root: string;
let server: ServeChild;

/** Every file below a folder (relative paths), recursively. */
function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => !e.isDirectory())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

/**
 * Untracked and ignored paths of the repository (git collapses a folder that is entirely new or ignored
 * into one line, so a new file inside an already ignored folder such as node_modules/ does not show),
 * except the reports and default caches that other test files write meanwhile.
 */
function repoExtras(): string[] {
  return (
    execFileSync('git', ['status', '--porcelain', '--ignored'], {
      cwd: repo,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    })
      .split('\n')
      .filter((l) => (l.startsWith('??') || l.startsWith('!!')) && !l.includes('test-results/'))
      // the command-line engine tests running next to this one create these (their default cache root)
      .filter((l) => !/^!! \.(data|cache)\//.test(l))
      .sort()
  );
}

beforeAll(async () => {
  orthanc = await startOrthanc();
  [train, target] = await Promise.all([61, 62].map((seed) => storePhantom(orthanc, seed, 8)));
  root = mkdtempSync(join(tmpdir(), 'nnsam-privacy-'));
  for (const d of ['home', 'tmp', 'data']) mkdirSync(join(root, d));
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await orthanc?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

it(
  'a full run logs no patient name or ID and no token, and writes only under the data directory',
  { timeout: 400_000 },
  async () => {
    const repoBefore = repoExtras();
    const home = join(root, 'home');
    const tmp = join(root, 'tmp');
    server = await spawnServe({
      dataDir: join(root, 'data'),
      dicomwebUrl: orthanc.dicomWebUrl,
      env: {
        HOME: home,
        TMPDIR: tmp,
        XDG_CACHE_HOME: '',
        XDG_DATA_HOME: '',
        XDG_CONFIG_HOME: '',
        NNSAM_LOG_LEVEL: 'debug',
        // whatever the caller's environment says: the server itself must keep Python from writing
        // __pycache__ and onnxruntime from keeping a telemetry id in ~/.cache
        PYTHONDONTWRITEBYTECODE: '',
        ORT_DISABLE_TELEMETRY: '',
      },
    });
    const projectId = await projectWithExample(server, train, [2, 5]);
    const modelId = await trainTiny(server, projectId, 2);
    const job = await server.call('POST', '/api/segment', {
      modelId,
      studyInstanceUID: target.studyInstanceUID,
      seriesInstanceUID: target.seriesInstanceUID,
      returnSeg: true,
      tta: false,
    });
    const done = await waitForJob(server, job.body.id, ['succeeded', 'failed'], 120_000);
    expect(done.state).toBe('succeeded');
    expect(done.result.stored).toBe(true);
    // a failed request and an export are part of a full run too
    expect((await server.call('GET', '/api/models/mdl-none')).status).toBe(404);
    expect((await server.call('GET', `/api/models/${modelId}/export`)).status).toBe(200);
    await server.stop();

    const logs = server.logs.join('\n');
    expect(server.logs.length).toBeGreaterThan(20);
    expect(logs).toContain('job'); // the log is there, and says what happened
    for (const secret of [
      PHANTOM_PATIENT.name,
      PHANTOM_PATIENT.id,
      PHANTOM_PATIENT.name.replace('^', ' '),
      TOKEN,
    ]) {
      expect(logs.toLowerCase(), `logs contain "${secret}"`).not.toContain(secret.toLowerCase());
    }

    expect(listFiles(home), 'files written under HOME').toEqual([]);
    expect(listFiles(tmp), 'files written under TMPDIR').toEqual([]);
    expect(repoExtras(), 'files written in the repository').toEqual(repoBefore);
    const data = listFiles(join(root, 'data'));
    expect(data).toContain('nnsam.sqlite');
    expect(data.some((f) => f.startsWith(`models/${modelId}/`))).toBe(true);
  },
);
