/**
 * Screenshots from the browser tests. Every run writes them to test-results/screenshots/; with
 * NNSAM_UPDATE_SCREENSHOTS=1 they also replace the README's pictures in docs/images/, reduced to a
 * 128-colour palette (about half the size) with Pillow from the trainer's environment. Look at them
 * before committing.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

import type { Page } from 'playwright-core';

const repo = resolve(import.meta.dirname, '..', '..');
const exec = promisify(execFile);

const QUANTIZE = `
import sys
from PIL import Image
src, dst = sys.argv[1], sys.argv[2]
im = Image.open(src).convert('RGB')
im.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(dst, optimize=True)
`;

export async function saveScreenshot(page: Page, name: string): Promise<string> {
  const dir = join(repo, 'test-results', 'screenshots');
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  await page.screenshot({ path });
  if (process.env.NNSAM_UPDATE_SCREENSHOTS === '1') {
    const target = join(repo, 'docs', 'images', name);
    await mkdir(join(repo, 'docs', 'images'), { recursive: true });
    const python = join(repo, 'server', '.venv', 'bin', 'python');
    if (existsSync(python)) await exec(python, ['-c', QUANTIZE, path, target]);
    else await copyFile(path, target);
  }
  return path;
}
