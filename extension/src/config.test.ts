import { describe, expect, it } from 'vitest';

import { resolveConfig } from './config.js';

describe('resolveConfig', () => {
  it('prefers the extension configuration, then app-config.js, then /api', () => {
    expect(resolveConfig({ apiBaseUrl: 'https://a/api/' }, { nnsam: { apiBaseUrl: '/x' } })).toEqual({
      apiBaseUrl: 'https://a/api',
    });
    expect(resolveConfig({}, { nnsam: { apiBaseUrl: '/nnsam/api' } })).toEqual({ apiBaseUrl: '/nnsam/api' });
    expect(resolveConfig(undefined, undefined)).toEqual({ apiBaseUrl: '/api' });
  });

  it('refuses a base URL that is not a non-empty string, saying what it got', () => {
    expect(() => resolveConfig({ apiBaseUrl: 42 }, {})).toThrow(
      /apiBaseUrl must be a non-empty string, got 42/,
    );
    expect(() => resolveConfig({ apiBaseUrl: ' ' }, {})).toThrow(/got " "/);
  });
});
