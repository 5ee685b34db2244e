import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

import { NnsamError } from '../util/errors.js';
import type { Db } from './db.js';
import { newId, now } from './ids.js';

/** API tokens are shown once at creation and stored only as SHA-256 hashes. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export interface TokenInfo {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

export class TokenRepo {
  constructor(private readonly db: Db) {}

  /** Creates a token; the plain value is returned once and never stored. */
  create(name: string): { token: string; info: TokenInfo } {
    const token = `nnsam_${randomBytes(24).toString('base64url')}`;
    const id = newId('tok');
    this.db
      .prepare('INSERT INTO api_tokens (id, name, hash, created_at) VALUES (?, ?, ?, ?)')
      .run(id, name, hashToken(token), now());
    return { token, info: { id, name, createdAt: now(), lastUsedAt: null } };
  }

  /** The token's record when the presented value matches a stored hash. */
  verify(presented: string): TokenInfo | undefined {
    const hash = hashToken(presented);
    const row = this.db
      .prepare('SELECT id, name, hash, created_at, last_used_at FROM api_tokens WHERE hash = ?')
      .get(hash) as
      { id: string; name: string; hash: string; created_at: string; last_used_at: string | null } | undefined;
    if (!row || !timingSafeEqual(Buffer.from(row.hash, 'hex'), Buffer.from(hash, 'hex'))) return undefined;
    this.db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?').run(now(), row.id);
    return { id: row.id, name: row.name, createdAt: row.created_at, lastUsedAt: row.last_used_at };
  }

  list(): TokenInfo[] {
    return (
      this.db
        .prepare('SELECT id, name, created_at, last_used_at FROM api_tokens ORDER BY created_at')
        .all() as {
        id: string;
        name: string;
        created_at: string;
        last_used_at: string | null;
      }[]
    ).map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at, lastUsedAt: r.last_used_at }));
  }

  revoke(id: string): void {
    if (!this.db.prepare('DELETE FROM api_tokens WHERE id = ?').run(id).changes) {
      throw new NnsamError('token_not_found', `No API token with id ${id}.`, { status: 404 });
    }
  }

  /** Hashes of plain tokens given in configuration (NNSAM_API_TOKENS), also never kept in clear. */
  static hashesOf(plain: string[]): Set<string> {
    return new Set(plain.filter(Boolean).map(hashToken));
  }
}
