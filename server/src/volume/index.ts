export * from './types.js';
export * from './geometry.js';
export { readNifti, writeNifti, parseNifti, encodeNifti } from './nifti.js';
