import { describe, expect, it } from 'vitest';

import * as extension from '../../extension/src/ids.js';
import {
  EXTENSION_ID,
  PANEL_ID,
  PANEL_TEST_ID,
  SEGMENT_BUTTON_ID,
  SEGMENT_COMMAND,
  SEGMENT_EVALUATOR,
} from './ids.js';

describe('mode ids', () => {
  it("name the extension's panel, command and evaluator exactly as the extension registers them", () => {
    expect(EXTENSION_ID).toBe(extension.EXTENSION_ID);
    expect(PANEL_ID).toBe(extension.PANEL_ID);
    expect(PANEL_TEST_ID).toBe(extension.PANEL_TEST_ID);
    expect(SEGMENT_COMMAND).toBe(extension.COMMANDS.segmentWithLatestModel);
    expect(SEGMENT_BUTTON_ID).toBe(extension.SEGMENT_BUTTON_ID);
    expect(SEGMENT_EVALUATOR).toBe(extension.SEGMENT_EVALUATOR);
  });
});
