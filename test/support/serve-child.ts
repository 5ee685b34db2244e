/**
 * `nnsam serve` as a child process — the real binary, as an operator runs it — for tests that must do to
 * the server what cannot be done in-process: kill it with SIGKILL, read its peak memory (VmHWM), find its
 * trainer child, or run it with a small tmpfs as its data directory (a full disk). The tmpfs lives in a
 * private mount namespace (`unshare --user --map-root-user --mount`), so no root is needed and nothing is
 * mounted on the host; the test reaches the files through /proc/<pid>/root.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { freePort, waitFor } from '../../server/src/util/net.js';
import { callApi, TOKEN } from './api.js';
import { nnsamBin } from './cli.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export interface ServeChildOptions {
  dataDir: string;
  dicomwebUrl: string;
  env?: NodeJS.ProcessEnv;
  /** Mount a tmpfs of this many bytes on dataDir, in a private mount namespace. */
  tmpfsBytes?: number;
  port?: number;
}

export interface ServeChild {
  url: string;
  /** The server's (node's) process id. */
  pid: number;
  process: ChildProcess;
  dataDir: string;
  /** dataDir as this process sees it (through /proc/<pid>/root when the server has its own mounts). */
  visibleDataDir: string;
  /** Every line the server printed: stderr (structured JSON logs) and stdout (its banner). */
  logs: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  call<T = Json>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: T }>;
  /** Peak and current resident memory of the server process, kB (from /proc/<pid>/status). */
  memory(): { peakKb: number; currentKb: number };
  /** Process ids of the server's descendants whose command line contains `text`. */
  descendants(text: string): number[];
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (graceful) and wait for the exit. */
  stop(): Promise<void>;
}

export async function spawnServe(options: ServeChildOptions): Promise<ServeChild> {
  const port = options.port ?? (await freePort());
  const serveArgs = [nnsamBin, 'serve', '--port', String(port), '--data', options.dataDir];
  serveArgs.push('--dicomweb', options.dicomwebUrl, '--no-viewer');
  let command = process.execPath;
  let args = serveArgs;
  if (options.tmpfsBytes) {
    // sh -c 'mount ... "$0" && exec "$@"' DATA node nnsam.js serve ...: exec keeps the pid (no fork)
    command = 'unshare';
    args = [
      '--user',
      '--map-root-user',
      '--mount',
      'sh',
      '-c',
      `mount -t tmpfs -o size=${options.tmpfsBytes} nnsam-test "$0" && exec "$@"`,
      options.dataDir,
      process.execPath,
      ...serveArgs,
    ];
  }
  const child = spawn(command, args, {
    env: {
      ...process.env,
      NNSAM_API_TOKENS: TOKEN,
      NNSAM_THREADS: '2',
      NNSAM_LOG_FORMAT: 'json',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  let partial = '';
  child.stderr!.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop()!;
    logs.push(...lines);
  });
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    logs.push(...d.toString().split('\n').filter(Boolean));
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let gone = false;
  void exited.then(() => (gone = true));
  const url = `http://127.0.0.1:${port}`;
  const up = await waitFor(
    async () => gone || (await fetch(`${url}/api/health`)).status === 200,
    90_000,
    100,
  );
  if (!up || gone) {
    child.kill('SIGKILL');
    throw new Error(
      `nnsam serve did not start (${gone ? 'it exited' : 'no health answer'}):\n${stdout}\n${logs.join('\n')}`,
    );
  }
  const pid = child.pid!;

  const server: ServeChild = {
    url,
    pid,
    process: child,
    dataDir: options.dataDir,
    visibleDataDir: options.tmpfsBytes ? join(`/proc/${pid}/root`, options.dataDir) : options.dataDir,
    logs,
    exited,
    call: (method, path, body, headers) => callApi(url, method, path, body, headers),
    memory() {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
      return { peakKb: kb('VmHWM'), currentKb: kb('VmRSS') };
    },
    descendants(text) {
      return descendantsOf(pid).filter((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ').includes(text);
        } catch {
          return false;
        }
      });
    },
    async kill(signal) {
      if (!gone) child.kill(signal);
      return exited;
    },
    async stop() {
      if (gone) return;
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
  return server;
}

/** Every descendant process of `pid` (from /proc/<pid>/task/<tid>/children). */
export function descendantsOf(pid: number): number[] {
  const out: number[] = [];
  const visit = (p: number) => {
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const t of tasks) {
      let children = '';
      try {
        children = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const c of children.split(/\s+/).filter(Boolean).map(Number)) {
        out.push(c);
        visit(c);
      }
    }
  };
  visit(pid);
  return out;
}
