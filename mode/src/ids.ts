/**
 * Names the mode uses. The extension's ids are repeated here rather than imported so the mode bundle stays
 * free of the extension's code; mode/src/ids.test.ts checks that they match extension/src/ids.ts.
 */
export const MODE_ID = '@nnsam/ohif-mode';
/** URL segment: /nnsam?StudyInstanceUIDs=... */
export const ROUTE_NAME = 'nnsam';

export const EXTENSION_ID = '@nnsam/ohif-extension';
export const PANEL_ID = `${EXTENSION_ID}.panelModule.nnsam`;
export const PANEL_TEST_ID = 'nnsam-panel';
export const SEGMENT_COMMAND = 'nnsam.segmentWithLatestModel';
export const SEGMENT_BUTTON_ID = 'nnsamSegmentLatest';
export const SEGMENT_EVALUATOR = 'evaluate.nnsam.segmentWithLatestModel';

/** The stock mode we extend, and the panels it switches to when the first segmentation appears. */
export const SEGMENTATION_MODE = '@ohif/mode-segmentation';
export const STOCK_SEGMENTATION_PANELS = [
  '@ohif/extension-cornerstone.panelModule.panelSegmentationWithToolsLabelMap',
  '@ohif/extension-cornerstone.panelModule.panelSegmentationWithToolsContour',
];
