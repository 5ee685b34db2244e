/**
 * Where the MobileSAM image encoder comes from. Weights are never bundled or fetched from a built-in
 * address: the user configures them (docs/encoders.md).
 *
 *   NNSAM_MOBILESAM_ONNX        path or http(s) URL of a ready ONNX export of the image encoder
 *   NNSAM_MOBILESAM_CHECKPOINT  path or http(s) URL of the official `mobile_sam.pt`; exported to ONNX
 *                               once (Python trainer) into the cache, keyed by the checkpoint's sha256
 *   NNSAM_MOBILESAM_SHA256      optional sha256 the configured file must have (checked after a download)
 *
 * When both are set the ONNX file wins (no Python needed). Every file lands in the cache under a
 * temporary name and is renamed when complete, so concurrent callers (threads or processes) never see a
 * partial file; calls in one process share the work.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';

import { NnsamError, errorMessage } from '../../util/errors.js';
import { trainerDir, trainerPython } from '../../util/paths.js';

/** Bump when the exported graph changes, so cached exports of an older exporter are not reused. */
const EXPORT_VERSION = 1;

const SETUP_HINT =
  'Download mobile_sam.pt from the MobileSAM GitHub repository (ChaoningZhang/MobileSAM, folder weights/) ' +
  'and set NNSAM_MOBILESAM_CHECKPOINT to its path or to an http(s) URL that serves it; or set ' +
  'NNSAM_MOBILESAM_ONNX to an ONNX export of its image encoder (`npx nnsam encoder export`). ' +
  'See docs/encoders.md.';

type Progress = (msg: string) => void;

interface EncoderConfig {
  kind: 'onnx' | 'checkpoint';
  variable: 'NNSAM_MOBILESAM_ONNX' | 'NNSAM_MOBILESAM_CHECKPOINT';
  location: string;
  isUrl: boolean;
  sha256?: string;
}

function readConfig(env: NodeJS.ProcessEnv = process.env): EncoderConfig | undefined {
  const onnx = env.NNSAM_MOBILESAM_ONNX?.trim();
  const checkpoint = env.NNSAM_MOBILESAM_CHECKPOINT?.trim();
  const location = onnx || checkpoint;
  if (!location) return undefined;
  const sha = env.NNSAM_MOBILESAM_SHA256?.trim().toLowerCase();
  return {
    kind: onnx ? 'onnx' : 'checkpoint',
    variable: onnx ? 'NNSAM_MOBILESAM_ONNX' : 'NNSAM_MOBILESAM_CHECKPOINT',
    location,
    isUrl: /^https?:\/\//i.test(location),
    sha256: sha || undefined,
  };
}

/** A URL without credentials or query string (those may hold secrets): safe for logs and messages. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

function describe(config: EncoderConfig): string {
  return `${config.kind} ${config.isUrl ? redactUrl(config.location) : resolve(config.location)}`;
}

/** Whether MobileSAM is configured, for the health endpoint. Costs at most one stat. */
export function mobileSamStatus(): { configured: boolean; source?: string } {
  const config = readConfig();
  if (!config) return { configured: false };
  const source = describe(config);
  if (config.sha256 !== undefined && !/^[0-9a-f]{64}$/.test(config.sha256)) {
    return { configured: false, source: `${source} (NNSAM_MOBILESAM_SHA256 is not 64 hex digits)` };
  }
  if (!config.isUrl) {
    try {
      if (!statSync(config.location).isFile()) return { configured: false, source: `${source} (not a file)` };
    } catch {
      return { configured: false, source: `${source} (file not found)` };
    }
  }
  return { configured: true, source };
}

/**
 * The path of an ONNX MobileSAM image encoder (input `image` [N,3,1024,1024], output `embedding`
 * [N,256,64,64]) built from the user's configuration, downloading and exporting on first use.
 */
export async function resolveMobileSamOnnx(options: {
  cacheDir: string;
  onProgress?: (msg: string) => void;
}): Promise<string> {
  const progress = options.onProgress ?? (() => {});
  const config = readConfig();
  if (!config) {
    throw new NnsamError('encoder_unavailable', 'MobileSAM weights are not configured', {
      status: 503,
      hint: SETUP_HINT,
    });
  }
  if (config.sha256 !== undefined && !/^[0-9a-f]{64}$/.test(config.sha256)) {
    throw new NnsamError(
      'encoder_config_invalid',
      `NNSAM_MOBILESAM_SHA256 must be 64 hexadecimal digits, got "${config.sha256.slice(0, 80)}"`,
      { status: 503, hint: 'Set it to the sha256 of the configured file (`sha256sum FILE`), or unset it.' },
    );
  }
  const cacheDir = resolve(options.cacheDir);
  const local = config.isUrl
    ? await downloadOnce(config.location, cacheDir, config.sha256, progress)
    : await localFile(config);
  if (config.kind === 'onnx') return local;

  const sha = await sha256OfFile(local);
  const target = join(cacheDir, `mobilesam-encoder-${sha.slice(0, 16)}-v${EXPORT_VERSION}.onnx`);
  if (await isFile(target)) {
    progress(`using the cached MobileSAM ONNX encoder ${target}`);
    return target;
  }
  return shared(target, async () => {
    await mkdir(cacheDir, { recursive: true });
    progress(`exporting MobileSAM's image encoder from ${basename(local)} to ONNX (once per checkpoint)`);
    await exportMobileSamOnnx({ checkpoint: local, out: target, onProgress: progress });
    return target;
  });
}

async function localFile(config: EncoderConfig): Promise<string> {
  const path = resolve(config.location);
  if (!(await isFile(path))) {
    throw new NnsamError('encoder_not_found', `${config.variable} points to ${path}, which is not a file`, {
      status: 503,
      hint: SETUP_HINT,
    });
  }
  if (config.sha256) await verifySha(path, config.sha256, `${config.variable} (${path})`);
  return path;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** One in-flight job per key in this process: concurrent callers wait for the same result. */
const inFlight = new Map<string, Promise<string>>();

function shared(key: string, job: () => Promise<string>): Promise<string> {
  const running = inFlight.get(key);
  if (running) return running;
  const started = job().finally(() => inFlight.delete(key));
  inFlight.set(key, started);
  return started;
}

const shaMemo = new Map<string, { size: number; mtimeMs: number; sha: string }>();

/** sha256 of a file, remembered while its size and modification time stay the same. */
async function sha256OfFile(path: string): Promise<string> {
  const info = await stat(path);
  const memo = shaMemo.get(path);
  if (memo && memo.size === info.size && memo.mtimeMs === info.mtimeMs) return memo.sha;
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  const sha = hash.digest('hex');
  shaMemo.set(path, { size: info.size, mtimeMs: info.mtimeMs, sha });
  return sha;
}

async function verifySha(path: string, expected: string, what: string): Promise<void> {
  const actual = await sha256OfFile(path);
  if (actual !== expected) {
    throw new NnsamError(
      'encoder_checksum_mismatch',
      `${what} has sha256 ${actual}, but NNSAM_MOBILESAM_SHA256 is ${expected}`,
      {
        status: 503,
        hint: 'Check that the file is the one you meant (and complete), or fix NNSAM_MOBILESAM_SHA256.',
      },
    );
  }
}

/** Downloads `url` into cacheDir/downloads once (reused while it exists and matches `sha256`). */
async function downloadOnce(
  url: string,
  cacheDir: string,
  sha256: string | undefined,
  progress: Progress,
): Promise<string> {
  const shown = redactUrl(url);
  if (!URL.canParse(url)) {
    throw new NnsamError(
      'encoder_config_invalid',
      `The configured MobileSAM URL is not a valid URL: ${shown}`,
      {
        status: 503,
        hint: SETUP_HINT,
      },
    );
  }
  const urlKey = createHash('sha256').update(url).digest('hex').slice(0, 16);
  const name = basename(new URL(url).pathname).replace(/[^\w.-]/g, '_') || 'download';
  const target = join(cacheDir, 'downloads', `${urlKey}-${name}`);
  if (await isFile(target)) {
    if (!sha256 || (await sha256OfFile(target)) === sha256) {
      progress(`using the cached download of ${shown}`);
      return target;
    }
    await rm(target, { force: true }); // the configured checksum changed: fetch again
  }
  return shared(target, async () => {
    await mkdir(join(cacheDir, 'downloads'), { recursive: true });
    const partial = `${target}.${process.pid}-${randomBytes(4).toString('hex')}.part`;
    try {
      const sha = await download(url, shown, partial, progress);
      if (sha256 && sha !== sha256) {
        throw new NnsamError(
          'encoder_checksum_mismatch',
          `the file downloaded from ${shown} has sha256 ${sha}, but NNSAM_MOBILESAM_SHA256 is ${sha256}`,
          {
            status: 503,
            hint: 'Check the URL (and that it serves the whole file), or fix NNSAM_MOBILESAM_SHA256.',
          },
        );
      }
      await rename(partial, target);
      return target;
    } finally {
      await rm(partial, { force: true });
    }
  });
}

/** Streams `url` to `dest`, reporting progress; resolves to the sha256 of what was written. */
async function download(url: string, shown: string, dest: string, progress: Progress): Promise<string> {
  const failed = (why: string, cause?: unknown) =>
    new NnsamError('encoder_download_failed', `Could not download MobileSAM weights from ${shown}: ${why}`, {
      status: 502,
      cause,
      hint:
        'Check the URL and that this machine can reach it, or download the file yourself and point ' +
        'NNSAM_MOBILESAM_CHECKPOINT (or NNSAM_MOBILESAM_ONNX) at its local path.',
    });
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'follow' });
  } catch (e) {
    throw failed(errorMessage((e as { cause?: unknown }).cause ?? e), e);
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw failed(`HTTP ${response.status} ${response.statusText}`.trim());
  }
  const total = Number(response.headers.get('content-length')) || 0;
  const mb = (n: number) => (n / 1e6).toFixed(1);
  progress(`downloading ${shown}${total ? ` (${mb(total)} MB)` : ''}`);
  const hash = createHash('sha256');
  let received = 0;
  let reported = 0;
  const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  body.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    received += chunk.length;
    const step = total ? total / 10 : 8e6;
    if (received - reported >= step) {
      reported = received;
      progress(`downloaded ${mb(received)}${total ? ` of ${mb(total)}` : ''} MB`);
    }
  });
  try {
    await pipeline(body, createWriteStream(dest));
  } catch (e) {
    throw failed(errorMessage(e), e);
  }
  if (total && received !== total) throw failed(`received ${received} of ${total} bytes`);
  progress(`downloaded ${shown} (${mb(received)} MB)`);
  return hash.digest('hex');
}

export interface MobileSamExportResult {
  out: string;
  encoder: string;
  source_sha256: string;
  sha256: string;
  bytes: number;
  parameters: number;
  max_abs_diff?: number;
}

/**
 * Exports the image encoder of a MobileSAM checkpoint to ONNX with the Python trainer
 * (`python -m nnsam_trainer encoder export`), forwarding its progress lines. The trainer writes a
 * temporary file and renames it, so `out` only ever holds a complete, checked export.
 */
export function exportMobileSamOnnx(options: {
  checkpoint: string;
  out: string;
  threads?: number;
  verify?: boolean;
  onProgress?: (msg: string) => void;
}): Promise<MobileSamExportResult> {
  const progress = options.onProgress ?? (() => {});
  const args = ['-m', 'nnsam_trainer', 'encoder', 'export', '--checkpoint', options.checkpoint];
  args.push('--out', options.out);
  if (options.threads) args.push('--threads', String(options.threads));
  if (options.verify === false) args.push('--no-verify');
  const pythonPath = [trainerDir, process.env.PYTHONPATH].filter(Boolean).join(':');
  const child = spawn(trainerPython(), args, {
    env: {
      ...process.env,
      PYTHONPATH: pythonPath,
      PYTHONDONTWRITEBYTECODE: '1',
      ORT_DISABLE_TELEMETRY: process.env.ORT_DISABLE_TELEMETRY || '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let result: MobileSamExportResult | undefined;
  let failure: NnsamError | undefined;
  let stdoutRest = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    const lines = (stdoutRest + text).split('\n');
    stdoutRest = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      let event: { event?: string; message?: string; code?: string } & Record<string, unknown>;
      try {
        event = JSON.parse(line);
      } catch {
        stderr += line + '\n'; // not protocol: keep it for the error report
        continue;
      }
      if (event.event === 'progress' && event.message) progress(event.message);
      else if (event.event === 'result') result = event as unknown as MobileSamExportResult;
      else if (event.event === 'error') {
        failure = new NnsamError(event.code ?? 'encoder_export_failed', event.message ?? 'export failed', {
          status: 503,
          hint:
            event.code === 'encoder_checkpoint_invalid'
              ? 'Point NNSAM_MOBILESAM_CHECKPOINT (or --checkpoint) at the official mobile_sam.pt.'
              : undefined,
        });
      }
    }
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    stderr = (stderr + text).slice(-8000);
  });
  return new Promise((resolvePromise, reject) => {
    child.on('error', (e) =>
      reject(
        new NnsamError('encoder_export_failed', `Could not start the Python trainer: ${e.message}`, {
          status: 503,
        }),
      ),
    );
    child.on('close', (code, signal) => {
      if (code === 0 && result) return resolvePromise(result);
      if (failure) return reject(failure);
      const tail = stderr.trim().split('\n').slice(-12).join('\n');
      reject(
        new NnsamError(
          'encoder_export_failed',
          `Exporting ${options.checkpoint} to ONNX failed (${signal ? `signal ${signal}` : `exit code ${code}`})` +
            (tail ? `:\n${tail}` : ''),
          { status: 500 },
        ),
      );
    });
  });
}
