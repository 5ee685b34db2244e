/** Runs the real `nnsam` command line (server/bin/nnsam.js, the compiled CLI) as a child process. */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

export const nnsamBin = resolve(import.meta.dirname, '..', '..', 'server', 'bin', 'nnsam.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runNnsam(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 120_000,
): Promise<CliResult> {
  return new Promise((resolvePromise) => {
    execFile(
      process.execPath,
      [nnsamBin, ...args],
      { env: { ...process.env, NNSAM_LOG_FORMAT: 'json', ...env }, timeout: timeoutMs, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolvePromise({ code, stdout, stderr });
      },
    );
  });
}

/** The CLI's own error line ("nnsam: <message>"), or undefined when it printed none. */
export function cliError(r: CliResult): string | undefined {
  return r.stderr
    .split('\n')
    .find((l) => l.startsWith('nnsam: '))
    ?.slice('nnsam: '.length);
}
