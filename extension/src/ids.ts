/**
 * Every name the extension registers with OHIF. The mode refers to the same strings (mode/src/ids.ts,
 * checked against this file by mode/src/ids.test.ts).
 */
export const EXTENSION_ID = '@nnsam/ohif-extension';

/** The side panel: OHIF addresses it as `<extensionId>.panelModule.<name>`. */
export const PANEL_NAME = 'nnsam';
export const PANEL_ID = `${EXTENSION_ID}.panelModule.${PANEL_NAME}`;

/** `data-cy` of the panel's root element (OHIF's own test hook convention). */
export const PANEL_TEST_ID = 'nnsam-panel';

export const COMMANDS = {
  /** Reads the labelmap painted on the active series; resolves to a LabelmapPayload. */
  collectLabelmap: 'nnsam.collectLabelmap',
  /** Re-queries the study and shows a SEG series as an overlay on the series it references. */
  showSeg: 'nnsam.showSeg',
  /** Creates a labelmap on the active series whose segments are given classes (segment n = class n). */
  createLabelmap: 'nnsam.createLabelmap',
  /** One click: segments the active series with the selected project's latest model and shows the SEG. */
  segmentWithLatestModel: 'nnsam.segmentWithLatestModel',
} as const;

/** The commands module's context (OHIF creates it on registration). */
export const COMMANDS_CONTEXT = 'NNSAM';

/** Toolbar: the one-click button (registered by the mode) and its evaluator (registered here). */
export const SEGMENT_BUTTON_ID = 'nnsamSegmentLatest';
export const SEGMENT_EVALUATOR = 'evaluate.nnsam.segmentWithLatestModel';
