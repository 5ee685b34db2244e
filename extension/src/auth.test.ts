import { describe, expect, it } from 'vitest';

import { authorizationProvider } from './auth.js';

const ohif = (header?: Record<string, string>) => () => ({ getAuthorizationHeader: () => header });

describe('authorizationProvider', () => {
  it('asks the hook first (sync or async), then the window hook, then the fixed token, then OHIF', async () => {
    const base = { useOhifUserToken: true };
    const user = ohif({ Authorization: 'Bearer oidc-user' });
    expect(await authorizationProvider({ ...base, getToken: async () => 'h', token: 't' }, user)()).toBe(
      'Bearer h',
    );
    expect(await authorizationProvider({ ...base, token: 't' }, user, { nnsamGetToken: () => 'w' })()).toBe(
      'Bearer w',
    );
    expect(await authorizationProvider({ ...base, token: 't' }, user, {})()).toBe('Bearer t');
    expect(await authorizationProvider(base, user, {})()).toBe('Bearer oidc-user');
    expect(await authorizationProvider({ useOhifUserToken: false }, user, {})()).toBeUndefined();
    expect(await authorizationProvider(base, ohif(undefined), {})()).toBeUndefined();
    expect(await authorizationProvider(base, () => undefined, {})()).toBeUndefined();
  });

  it('keeps a value that names its scheme; a hook that returns nothing sends nothing', async () => {
    expect(await authorizationProvider({ useOhifUserToken: true, token: 'Basic dXNlcg==' }, ohif())()).toBe(
      'Basic dXNlcg==',
    );
    expect(
      await authorizationProvider(
        { useOhifUserToken: true, getToken: () => null },
        ohif({ Authorization: 'x' }),
      )(),
    ).toBeUndefined();
  });

  it('says so when the hook returns something that is not a token', async () => {
    const bad = authorizationProvider(
      { useOhifUserToken: true, getToken: (() => 42) as unknown as () => string },
      ohif(),
    );
    await expect(bad()).rejects.toThrow(/getToken must return a string, got number/);
  });
});
