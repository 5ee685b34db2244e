import { randomBytes } from 'node:crypto';

/** Short random identifiers with a readable prefix (prj-, ex-, mdl-, job-, rule-, tok-): never path-like. */
export function newId(prefix: string): string {
  return `${prefix}-${randomBytes(9)
    .toString('base64url')
    .replace(/[^A-Za-z0-9]/g, 'x')}`;
}

export function now(): string {
  return new Date().toISOString();
}
