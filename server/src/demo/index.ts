// The demo: synthetic phantom study, STOW-RS upload, and the stack `npm start` runs.
export {
  makePhantom,
  PHANTOM_LABELS,
  PHANTOM_PATIENT,
  uidFor,
  type Phantom,
  type PhantomInstance,
  type PhantomOptions,
} from './phantom.js';
export { startDemo, NNSAM_ROUTE, type Demo, type DemoOptions } from './start.js';
export { stowInstances, type StowOptions } from './stow.js';
export { DEMO_LABELLED_SLICES, DEMO_SEG_DESCRIPTION } from './labels-seg.js';
