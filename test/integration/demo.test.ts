import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const bin = resolve(import.meta.dirname, '..', '..', 'server', 'bin', 'nnsam.js');

describe('npm start (nnsam demo)', () => {
  it('starts its own services on loopback, checks them and stops', async () => {
    const { stdout } = await exec(process.execPath, [bin, 'demo', '--check'], { timeout: 60_000 });
    expect(stdout).toMatch(/DICOMweb\):\s+http:\/\/127\.0\.0\.1:\d+\/dicom-web/);
    expect(stdout).toMatch(/demo check passed/);
  });
});
