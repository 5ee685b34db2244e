import { describe, expect, it } from 'vitest';

import { resolveConfig } from './config.js';

describe('resolveConfig', () => {
  it('prefers the extension configuration, then app-config.js, then the defaults', () => {
    expect(resolveConfig({ apiBaseUrl: 'https://a/api/' }, { nnsam: { apiBaseUrl: '/x' } }).apiBaseUrl).toBe(
      'https://a/api',
    );
    expect(resolveConfig({}, { nnsam: { apiBaseUrl: '/nnsam/api' } }).apiBaseUrl).toBe('/nnsam/api');
    expect(resolveConfig(undefined, undefined)).toEqual({
      apiBaseUrl: '/api',
      useOhifUserToken: true,
      training: { minutes: 5, encoder: 'auto' },
      // test-time augmentation left to the server (per device)
      segmentation: {},
    });
  });

  it('reads the token, the token hook and the training and segmentation defaults', () => {
    const getToken = () => 'x';
    const config = resolveConfig(
      { getToken },
      {
        nnsam: {
          token: ' abc ',
          useOhifUserToken: false,
          training: { minutes: 2, maxIterations: 40, encoder: 'none' },
          segmentation: { tta: false },
        },
      },
    );
    expect(config).toMatchObject({
      token: 'abc',
      getToken,
      useOhifUserToken: false,
      training: { minutes: 2, maxIterations: 40, encoder: 'none' },
      segmentation: { tta: false },
    });
  });

  it('refuses bad values, naming the key and saying what it got', () => {
    expect(() => resolveConfig({ apiBaseUrl: 42 }, {})).toThrow(
      /apiBaseUrl must be a non-empty string, got 42/,
    );
    expect(() => resolveConfig({ apiBaseUrl: ' ' }, {})).toThrow(/got " "/);
    expect(() => resolveConfig({ token: 7 }, {})).toThrow(/token must be a non-empty string when set, got 7/);
    expect(() => resolveConfig({ getToken: 'abc' }, {})).toThrow(/getToken must be a function/);
    expect(() => resolveConfig({ training: { maxIterations: 2.5 } }, {})).toThrow(
      /training.maxIterations must be a positive whole number, got 2.5/,
    );
    expect(() => resolveConfig({ training: { minutes: 0 } }, {})).toThrow(/training.minutes/);
    expect(() => resolveConfig({ segmentation: { tta: 'yes' } }, {})).toThrow(/segmentation.tta/);
    expect(() => resolveConfig({ useOhifUserToken: 'no' }, {})).toThrow(
      /useOhifUserToken must be true or false/,
    );
  });
});
