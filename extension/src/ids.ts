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
  // --- for any caller (another extension, a test): the viewer-side building blocks ---
  /** Reads the labelmap painted on the active series; resolves to a LabelmapPayload. */
  collectLabelmap: 'nnsam.collectLabelmap',
  /** Re-queries the study and shows a SEG series as an overlay on the series it references. */
  showSeg: 'nnsam.showSeg',
  /** Creates a labelmap on the active series whose segments are given classes (segment n = class n). */
  createLabelmap: 'nnsam.createLabelmap',
  /** One click: segments the active series with the selected project's latest model and shows the SEG. */
  segmentWithLatestModel: 'nnsam.segmentWithLatestModel',
  // --- the panel's actions, one per button (the state they change lives in the workflow's stores) ---
  /** Section 1: checks the server again. */
  checkServer: 'nnsam.checkServer',
  /** Section 2: selects a project, or creates one with its classes. */
  selectProject: 'nnsam.selectProject',
  createProject: 'nnsam.createProject',
  /** Section 2: a labelmap whose segments are the project's classes; the class the brush paints with. */
  startLabelling: 'nnsam.startLabelling',
  selectClass: 'nnsam.selectClass',
  /** Section 3: what would be added, and the ways to add to (or remove from) the training set. */
  detectLabels: 'nnsam.detectLabels',
  addLabelledSlices: 'nnsam.addLabelledSlices',
  addEmptySlice: 'nnsam.addEmptySlice',
  addSeriesUnlabelled: 'nnsam.addSeriesUnlabelled',
  addSeg: 'nnsam.addSeg',
  removeExample: 'nnsam.removeExample',
  /** Section 4: starts or cancels training. */
  train: 'nnsam.train',
  cancelTraining: 'nnsam.cancelTraining',
  /** Section 5: the overlay's segments and the "Label next" slices. */
  toggleSegment: 'nnsam.toggleSegment',
  jumpToSlice: 'nnsam.jumpToSlice',
} as const;

/** The commands module's context (OHIF creates it on registration). */
export const COMMANDS_CONTEXT = 'NNSAM';

/** Toolbar: the one-click button (registered by the mode) and its evaluator (registered here). */
export const SEGMENT_BUTTON_ID = 'nnsamSegmentLatest';
export const SEGMENT_EVALUATOR = 'evaluate.nnsam.segmentWithLatestModel';
