import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

import { serverRoot } from '../util/paths.js';

const exec = promisify(execFile);
const bin = join(serverRoot, 'bin', 'nnsam.js');

async function nnsam(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [bin, ...args]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('nnsam command line (built bin)', () => {
  it('lists its subcommands in --help', async () => {
    const r = await nnsam('--help');
    expect(r.code).toBe(0);
    for (const sub of ['serve', 'train', 'predict', 'seg', 'volume', 'encoder', 'demo', 'orthanc']) {
      expect(r.stdout).toMatch(new RegExp(`^\\s+${sub}\\b`, 'm'));
    }
  });

  it('rejects an unknown subcommand with a non-zero exit and a message', async () => {
    const r = await nnsam('segmentify');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unknown command 'segmentify'/);
  });

  it('prints its version', async () => {
    const r = await nnsam('--version');
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
