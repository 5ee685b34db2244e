/**
 * Who is calling. Local mode (NNSAM_AUTH=none, loopback only) lets everyone in. Otherwise every request
 * except health and the OpenAPI document needs `Authorization: Bearer <token>` where the token is either a
 * static API token (compared by SHA-256 hash; configured or created with `nnsam token create`) or a JWT
 * signed by the configured OIDC issuer (checked against its JWKS: signature, issuer, audience, expiry).
 */
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';

import type { ServerConfig } from '../config.js';
import { hashToken, TokenRepo, type Store } from '../store/index.js';
import { NnsamError } from '../util/errors.js';

export interface Principal {
  kind: 'local' | 'token' | 'jwt';
  /** Token id or JWT subject: safe to log (never the token itself). */
  id: string;
}

const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

export type Authenticator = (authorization: string | undefined) => Promise<Principal>;

export function createAuthenticator(config: ServerConfig, store: Store): Authenticator {
  if (config.auth.mode === 'none') return async () => ({ kind: 'local', id: 'local' });

  const configured = TokenRepo.hashesOf(config.auth.tokens);
  const oidc = config.auth.oidc;
  let keys: Promise<JWTVerifyGetKey> | undefined;
  const jwks = () =>
    (keys ??= (async () => {
      const url = oidc!.jwksUrl ?? (await discoverJwks(oidc!.issuer));
      return createRemoteJWKSet(new URL(url), { timeoutDuration: 5000, cooldownDuration: 30_000 });
    })().catch((e) => {
      keys = undefined; // try discovery again on the next request
      throw e;
    }));

  return async (authorization) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match) throw unauthorized('This endpoint needs an Authorization: Bearer <token> header.');
    const token = match[1]!;
    const hash = hashToken(token);
    if (configured.has(hash)) return { kind: 'token', id: `config:${hash.slice(0, 8)}` };
    const stored = store.tokens.verify(token);
    if (stored) return { kind: 'token', id: stored.id };
    if (oidc && token.split('.').length === 3) {
      try {
        const { payload } = await jwtVerify(token, await jwks(), {
          issuer: oidc.issuer,
          audience: oidc.audience,
          algorithms: ASYMMETRIC,
          clockTolerance: 30,
        });
        return { kind: 'jwt', id: String(payload.sub ?? 'unknown') };
      } catch (e) {
        if (e instanceof NnsamError) throw e;
        throw unauthorized(`The bearer JWT was rejected: ${(e as Error).message}`);
      }
    }
    throw unauthorized('The bearer token is not valid.');
  };
}

async function discoverJwks(issuer: string): Promise<string> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  } catch (e) {
    throw new NnsamError(
      'oidc_unreachable',
      `Cannot reach the OIDC issuer at ${url}: ${(e as Error).message}`,
      { status: 503 },
    );
  }
  const body = (await res.json().catch(() => ({}))) as { jwks_uri?: string };
  if (!res.ok || !body.jwks_uri) {
    throw new NnsamError(
      'oidc_unreachable',
      `The OIDC discovery document at ${url} has no jwks_uri (HTTP ${res.status}).`,
      {
        status: 503,
      },
    );
  }
  return body.jwks_uri;
}

function unauthorized(message: string): NnsamError {
  return new NnsamError('unauthorized', message, {
    status: 401,
    hint: 'Send a valid API token (nnsam token create) or an access token from the configured OIDC issuer.',
  });
}
