// Public entry of the server package for integrators embedding it in their own Node process.
export * from './volume/index.js';
export { NnsamError } from './util/errors.js';
export { startOrthanc, type OrthancInstance, type OrthancOptions } from './orthanc/launch.js';
export { version } from './version.js';
export * from './dicom/index.js';
export * from './viewer/index.js';
export * from './demo/index.js';
export * from './engine/index.js';
// the viewer labelmap's wire decoding moved from dicom/ to services/ (issue 15); still exported from here
export { labelmapToVolume } from './services/index.js';
