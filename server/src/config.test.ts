import { describe, expect, it } from 'vitest';

import { loadConfig } from './config.js';

describe('engine settings', () => {
  it('reads test-time augmentation, whole-slice inference and its pixel limit, and refuses bad values by name', () => {
    const base = { NNSAM_DATA: '/tmp/nnsam-config-test' };
    expect(loadConfig({}, base).engine).toMatchObject({ tta: 'auto', wholeSlice: false });
    expect(loadConfig({}, { ...base, NNSAM_WHOLE_SLICE: 'true' }).engine.wholeSlice).toBe(true);
    expect(loadConfig({}, base).engine.maxPixels).toBeUndefined();
    expect(loadConfig({}, { ...base, NNSAM_TTA: 'off', NNSAM_MAX_PIXELS: '262144' }).engine).toMatchObject({
      tta: 'off',
      maxPixels: 262144,
    });
    expect(() => loadConfig({}, { ...base, NNSAM_TTA: 'yes' })).toThrow(/engine\.tta/);
    expect(() => loadConfig({}, { ...base, NNSAM_MAX_PIXELS: '10' })).toThrow(/engine\.maxPixels/);
  });
});
