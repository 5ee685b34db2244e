/**
 * Light checks of the server's answers. The types come from the contract (`import type` from
 * `@nnsam/server/api`); its zod schemas stay on the server, so the viewer bundle carries no schema library.
 * These checks catch the failures that matter in a browser (a proxy's HTML page, an older server, a wrong
 * base URL) by testing the fields the viewer relies on; client.test.ts checks real server answers against
 * the full schemas.
 */
import { ViewerError } from '../errors.js';

type Kind = 'string' | 'number' | 'boolean' | 'object' | 'array' | 'string|null' | 'object|null';

function is(value: unknown, kind: Kind): boolean {
  switch (kind) {
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'string|null':
      return value === null || typeof value === 'string';
    case 'object|null':
      return value === null || is(value, 'object');
    default:
      return typeof value === kind;
  }
}

export function mismatch(path: string, detail: string): ViewerError {
  return new ViewerError(
    'bad_response',
    `The nnSAM server's answer to ${path} does not match this viewer (${detail}).`,
    {
      hint: 'Update the viewer plugins and the server to the same nnSAM version.',
    },
  );
}

/** Checks that `body` is an object whose listed fields have the listed kinds; returns it typed. */
export function shaped<T>(body: unknown, path: string, fields: Record<string, Kind>): T {
  if (!is(body, 'object'))
    throw mismatch(path, `expected an object, got ${body === null ? 'null' : typeof body}`);
  const record = body as Record<string, unknown>;
  for (const [key, kind] of Object.entries(fields)) {
    if (!is(record[key], kind)) throw mismatch(path, `"${key}" should be ${kind}`);
  }
  return body as T;
}

/** The same for a list of such objects. */
export function listOf<T>(body: unknown, path: string, fields: Record<string, Kind>): T[] {
  if (!Array.isArray(body)) throw mismatch(path, 'expected a list');
  return body.map((item) => shaped<T>(item, path, fields));
}

export const PROJECT_FIELDS = {
  id: 'string',
  name: 'string',
  classes: 'array',
  latestModelId: 'string|null',
} as const;
export const EXAMPLE_FIELDS = {
  id: 'string',
  seriesInstanceUID: 'string',
  labelledSlices: 'array',
  classesPresent: 'array',
} as const;
export const JOB_FIELDS = { id: 'string', kind: 'string', state: 'string', result: 'object|null' } as const;
export const MODEL_FIELDS = { id: 'string', name: 'string', metrics: 'object', classes: 'array' } as const;
export const INFO_FIELDS = {
  version: 'string',
  devices: 'object',
  encoders: 'array',
  mobileSam: 'object',
  auth: 'string',
} as const;
