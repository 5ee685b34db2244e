/**
 * Output files that are either complete or absent: bytes go to a temporary file in the same folder, which
 * is renamed over the target only once fully written (a crash or an error leaves no half-written SEG or
 * NIfTI behind).
 */
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { NnsamError } from '../util/errors.js';

export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, bytes, { flag: 'wx' });
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new NnsamError('write_failed', `Cannot write ${path}: ${(e as Error).message}`);
  }
}
