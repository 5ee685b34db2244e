import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { NnsamError } from '../../util/errors.js';
import { trainerDir, trainerPython } from '../../util/paths.js';
import { mobileSamStatus, resolveMobileSamOnnx } from './mobilesam.js';

const exec = promisify(execFile);

let work: string;
let checkpoint: string;
let checkpointSha: string;
let server: Server;
let baseUrl: string;
const served = new Map<string, string>(); // URL path -> file
const requests: string[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'nnsam-mobilesam-'));
  checkpoint = join(work, 'mobile_sam.pt');
  // random weights in the official layout: the real mobile_sam.pt cannot be downloaded here
  const { stdout } = await exec(
    trainerPython(),
    ['-m', 'nnsam_trainer', 'encoder', 'make-random-checkpoint', '--out', checkpoint, '--seed', '11'],
    { env: { ...process.env, PYTHONPATH: trainerDir } },
  );
  checkpointSha = JSON.parse(stdout.trim().split('\n').pop()!).sha256;
  served.set('/weights/mobile_sam.pt', checkpoint);
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const file = served.get((req.url ?? '').split('?')[0]!);
    if (!file) {
      res.writeHead(404).end('not here');
      return;
    }
    void stat(file).then((info) => {
      res.writeHead(200, { 'content-length': info.size, 'content-type': 'application/octet-stream' });
      createReadStream(file).pipe(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await rm(work, { recursive: true, force: true });
});

afterEach(() => {
  vi.unstubAllEnvs();
});

function configure(vars: Record<string, string | undefined>): void {
  for (const name of ['NNSAM_MOBILESAM_ONNX', 'NNSAM_MOBILESAM_CHECKPOINT', 'NNSAM_MOBILESAM_SHA256']) {
    vi.stubEnv(name, vars[name] ?? '');
  }
}

async function rejection(p: Promise<unknown>): Promise<NnsamError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(NnsamError);
  return e as NnsamError;
}

async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

describe('MobileSAM encoder resolution', () => {
  it('says plainly when nothing is configured', async () => {
    configure({});
    expect(mobileSamStatus()).toEqual({ configured: false });
    const e = await rejection(resolveMobileSamOnnx({ cacheDir: join(work, 'cache-none') }));
    expect(e.code).toBe('encoder_unavailable');
    expect(e.status).toBe(503);
    expect(e.message).toBe('MobileSAM weights are not configured');
    expect(e.hint).toMatch(/NNSAM_MOBILESAM_CHECKPOINT/);
    expect(e.hint).toMatch(/NNSAM_MOBILESAM_ONNX/);
    expect(e.hint).toMatch(/mobile_sam\.pt/);
  });

  it('names a configured path that does not exist', async () => {
    const missing = join(work, 'nowhere', 'mobile_sam.pt');
    configure({ NNSAM_MOBILESAM_CHECKPOINT: missing });
    expect(mobileSamStatus()).toEqual({
      configured: false,
      source: `checkpoint ${missing} (file not found)`,
    });
    const e = await rejection(resolveMobileSamOnnx({ cacheDir: join(work, 'cache-missing') }));
    expect(e.code).toBe('encoder_not_found');
    expect(e.message).toContain(missing);
  });

  it('downloads a checkpoint URL, exports it once for concurrent callers, then reuses the cache', async () => {
    const cacheDir = join(work, 'cache-url');
    const url = `${baseUrl}/weights/mobile_sam.pt?token=secret`;
    configure({ NNSAM_MOBILESAM_CHECKPOINT: url, NNSAM_MOBILESAM_SHA256: checkpointSha });
    expect(mobileSamStatus()).toEqual({
      configured: true,
      source: `checkpoint ${baseUrl}/weights/mobile_sam.pt`,
    });

    const messages: string[] = [];
    const onProgress = (m: string) => messages.push(m);
    const before = requests.length;
    const [a, b] = await Promise.all([
      resolveMobileSamOnnx({ cacheDir, onProgress }),
      resolveMobileSamOnnx({ cacheDir, onProgress }),
    ]);
    expect(a).toBe(b);
    expect(a).toBe(join(cacheDir, `mobilesam-encoder-${checkpointSha.slice(0, 16)}-v1.onnx`));
    expect(requests.length - before).toBe(1);
    expect(messages.filter((m) => m.startsWith('downloading '))).toHaveLength(1);
    expect(messages.filter((m) => m.startsWith('exporting to ONNX'))).toHaveLength(1);
    expect(messages.some((m) => /max abs difference PyTorch vs onnxruntime/.test(m))).toBe(true);
    expect(messages.join('\n')).not.toContain('secret');

    // the export is a complete ONNX file made from this checkpoint; nothing temporary is left behind
    const bytes = await readFile(a);
    expect(bytes.includes(Buffer.from(checkpointSha))).toBe(true);
    expect(bytes.includes(Buffer.from('embedding'))).toBe(true);
    expect((await readdir(cacheDir)).filter((f) => f.startsWith('.'))).toEqual([]);
    expect(await readdir(join(cacheDir, 'downloads'))).toHaveLength(1);

    const later: string[] = [];
    expect(await resolveMobileSamOnnx({ cacheDir, onProgress: (m) => later.push(m) })).toBe(a);
    expect(requests.length - before).toBe(1);
    expect(later.some((m) => m.startsWith('exporting'))).toBe(false);
    expect(later.some((m) => m.startsWith('using the cached MobileSAM ONNX encoder'))).toBe(true);

    // a ready ONNX file, by path or by URL, is used as it is
    configure({ NNSAM_MOBILESAM_ONNX: a, NNSAM_MOBILESAM_CHECKPOINT: join(work, 'ignored.pt') });
    expect(await resolveMobileSamOnnx({ cacheDir: join(work, 'cache-onnx') })).toBe(a);
    expect(mobileSamStatus()).toEqual({ configured: true, source: `onnx ${a}` });
    served.set('/models/encoder.onnx', a);
    configure({ NNSAM_MOBILESAM_ONNX: `${baseUrl}/models/encoder.onnx` });
    const fetched = await resolveMobileSamOnnx({ cacheDir: join(work, 'cache-onnx') });
    expect(fetched).not.toBe(a);
    expect(await sha256(fetched)).toBe(await sha256(a));
  });

  it('refuses a download whose sha256 differs and keeps nothing of it', async () => {
    const cacheDir = join(work, 'cache-bad-sha');
    configure({
      NNSAM_MOBILESAM_CHECKPOINT: `${baseUrl}/weights/mobile_sam.pt`,
      NNSAM_MOBILESAM_SHA256: '0'.repeat(64),
    });
    const e = await rejection(resolveMobileSamOnnx({ cacheDir }));
    expect(e.code).toBe('encoder_checksum_mismatch');
    expect(e.message).toContain(checkpointSha);
    expect(await readdir(join(cacheDir, 'downloads'))).toEqual([]);
  });

  it('reports a failed download with the HTTP status', async () => {
    configure({ NNSAM_MOBILESAM_CHECKPOINT: `${baseUrl}/weights/missing.pt` });
    const e = await rejection(resolveMobileSamOnnx({ cacheDir: join(work, 'cache-404') }));
    expect(e.code).toBe('encoder_download_failed');
    expect(e.message).toMatch(/missing\.pt: HTTP 404/);
  });

  it('rejects a malformed NNSAM_MOBILESAM_SHA256', async () => {
    configure({ NNSAM_MOBILESAM_CHECKPOINT: checkpoint, NNSAM_MOBILESAM_SHA256: 'abc' });
    expect(mobileSamStatus().configured).toBe(false);
    const e = await rejection(resolveMobileSamOnnx({ cacheDir: join(work, 'cache-sha-format') }));
    expect(e.code).toBe('encoder_config_invalid');
  });

  it('checks a local checkpoint against NNSAM_MOBILESAM_SHA256', async () => {
    configure({ NNSAM_MOBILESAM_CHECKPOINT: checkpoint, NNSAM_MOBILESAM_SHA256: 'f'.repeat(64) });
    const e = await rejection(resolveMobileSamOnnx({ cacheDir: join(work, 'cache-local-sha') }));
    expect(e.code).toBe('encoder_checksum_mismatch');
  });

  it('passes on the trainer’s explanation for a file that is not a MobileSAM checkpoint', async () => {
    const bogus = join(work, 'bogus.pt');
    await writeFile(bogus, 'not a checkpoint');
    const cacheDir = join(work, 'cache-bogus');
    configure({ NNSAM_MOBILESAM_CHECKPOINT: bogus });
    const e = await rejection(resolveMobileSamOnnx({ cacheDir }));
    expect(e.code).toBe('encoder_checkpoint_invalid');
    expect(e.message).toContain('bogus.pt is not a readable PyTorch checkpoint');
    expect(await readdir(cacheDir)).toEqual([]);
  });
});
