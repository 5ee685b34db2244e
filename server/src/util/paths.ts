import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { NnsamError } from './errors.js';

/** The server package's root folder (holds package.json, trainer/, .venv/). Works from src/ and dist/. */
export const serverRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The repository root (the monorepo holding server/, extension/, mode/). */
export const repoRoot = resolve(serverRoot, '..');

/** Python interpreter of the trainer's virtual environment (override: NNSAM_PYTHON). */
export function trainerPython(): string {
  const configured = process.env.NNSAM_PYTHON;
  if (configured) return configured;
  const venv = join(serverRoot, '.venv', 'bin', 'python');
  if (!existsSync(venv)) {
    throw new NnsamError('trainer_not_installed', `The trainer's Python environment is missing (${venv}).`, {
      status: 503,
      hint: 'Run `npm run setup` in the repository root, or set NNSAM_PYTHON to a Python with the trainer installed.',
    });
  }
  return venv;
}

/** Folder of the Python training package (put on PYTHONPATH when the trainer is spawned). */
export const trainerDir = join(serverRoot, 'trainer');

/**
 * The read-only shared data set (../shared/data next to the repository, or NNSAM_SHARED_DATA).
 * Tests and benchmarks that need it call this and fail with a clear message when it is absent.
 */
export function sharedDataDir(...parts: string[]): string {
  const base = process.env.NNSAM_SHARED_DATA ?? resolve(repoRoot, '..', 'shared', 'data');
  const full = join(base, ...parts);
  if (!existsSync(full)) {
    throw new Error(
      `Shared test data not found: ${full}. The tests and benchmarks read real data from ../shared/data ` +
        '(next to the repository) or from NNSAM_SHARED_DATA; see docs/testing.md.',
    );
  }
  return full;
}
