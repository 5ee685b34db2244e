/**
 * Where browser tests save screenshots: test-results/screenshots/ on every run, or docs/images/ (the
 * README's pictures, committed) when NNSAM_UPDATE_SCREENSHOTS=1. Look at them after updating.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '..', '..');

export async function screenshotPath(name: string): Promise<string> {
  const dir =
    process.env.NNSAM_UPDATE_SCREENSHOTS === '1'
      ? join(repo, 'docs', 'images')
      : join(repo, 'test-results', 'screenshots');
  await mkdir(dir, { recursive: true });
  return join(dir, name);
}
