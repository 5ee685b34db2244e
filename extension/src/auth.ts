/**
 * Which credentials the extension sends to the nnSAM API, asked before every request (access tokens expire
 * and get refreshed). In order:
 *  1. `getToken` from the extension configuration or app-config.js (`nnsam.getToken`), a function that
 *     returns the token (or a promise of it);
 *  2. `window.nnsamGetToken`, the same hook set by a page script (deployments whose app-config is JSON);
 *  3. `token` (a fixed API token from `nnsam token create`, for kiosks and demos);
 *  4. the OHIF user's own access token when OHIF runs with OIDC login (userAuthenticationService), so a
 *     server that verifies the same issuer (NNSAM_OIDC_ISSUER) knows the user; off with
 *     `useOhifUserToken: false`.
 * Nothing configured: no Authorization header (the server's local mode, `nnsam demo`).
 */
import type { NnsamViewerConfig, TokenHook } from './config.js';

export interface UserAuthenticationService {
  getAuthorizationHeader?: () => Record<string, string> | undefined;
}

/** Resolves to the value of the Authorization header, or undefined for none. */
export type AuthorizationProvider = () => Promise<string | undefined>;

export function authorizationProvider(
  config: Pick<NnsamViewerConfig, 'token' | 'getToken' | 'useOhifUserToken'>,
  ohifAuth: () => UserAuthenticationService | undefined,
  win: { nnsamGetToken?: unknown } | undefined = typeof window === 'undefined'
    ? undefined
    : (window as unknown as { nnsamGetToken?: unknown }),
): AuthorizationProvider {
  return async () => {
    const hook =
      config.getToken ??
      (typeof win?.nnsamGetToken === 'function' ? (win.nnsamGetToken as TokenHook) : undefined);
    if (hook) {
      const token = await hook();
      if (token !== undefined && token !== null && typeof token !== 'string') {
        throw new TypeError(`nnSAM extension: getToken must return a string, got ${typeof token}`);
      }
      return token ? asHeader(token) : undefined;
    }
    if (config.token) return asHeader(config.token);
    if (!config.useOhifUserToken) return undefined;
    const header = ohifAuth()?.getAuthorizationHeader?.();
    const value = header?.Authorization ?? header?.authorization;
    return value || undefined;
  };
}

/** A bare token becomes "Bearer <token>"; a value that already names its scheme is kept. */
function asHeader(token: string): string {
  const t = token.trim();
  return /^[A-Za-z][\w-]*\s+\S/.test(t) ? t : `Bearer ${t}`;
}
