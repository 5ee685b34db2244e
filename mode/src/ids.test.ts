import { describe, expect, it } from 'vitest';

import * as extension from '../../extension/src/ids.js';
import { EXTENSION_ID, PANEL_ID, PANEL_TEST_ID } from './ids.js';

describe('mode ids', () => {
  it("name the extension's panel exactly as the extension registers it", () => {
    expect(EXTENSION_ID).toBe(extension.EXTENSION_ID);
    expect(PANEL_ID).toBe(extension.PANEL_ID);
    expect(PANEL_TEST_ID).toBe(extension.PANEL_TEST_ID);
  });
});
