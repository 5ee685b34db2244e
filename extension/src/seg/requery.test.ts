import { describe, expect, it } from 'vitest';

import type { DataSource } from '../ohif/types.js';
import { studyCacheKeys } from './requery.js';

const source = (name?: string) => ({ getConfig: () => (name ? { name } : {}) }) as unknown as DataSource;

describe('studyCacheKeys', () => {
  it("covers the bare UID and OHIF 3.13.2's '<name>:<uid>' cache key", () => {
    expect(studyCacheKeys(source('nnsam'), '1.2.3')).toEqual(['1.2.3', 'nnsam:1.2.3']);
    expect(studyCacheKeys(source(), '1.2.3')).toEqual(['1.2.3']);
  });
});
