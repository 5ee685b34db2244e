// Public API of the DICOM layer: DICOMweb access, series -> volume, labels in (SEG, painted slices),
// SEG out. See docs/dicom.md for the policies behind each function.
export {
  DicomwebClient,
  jsonValue,
  type DicomJson,
  type DicomwebClientOptions,
  type QueryParams,
  type RequestedTransferSyntax,
  type StoreResult,
  type StoredInstance,
} from './dicomweb.js';
export {
  buildSeries,
  isImageObject,
  loadSeriesFromBuffers,
  loadSeriesFromDicomweb,
  loadSeriesFromFiles,
  type DicomSeries,
  type DicomwebLoadOptions,
  type LoadSeriesOptions,
  type SeriesMeta,
  type SliceRef,
  type SliceSpacing,
} from './series.js';
export {
  paintedSlicesToVolume,
  sliceIndex,
  sliceKey,
  type LabelmapVolume,
  type PaintedSlice,
  type PaintedSlices,
} from './labelmap.js';
export {
  LABELMAP_SEG_SOP_CLASS,
  parseSeg,
  readSeg,
  SEG_SOP_CLASS,
  type ParsedSeg,
  type ReadSegOptions,
  type SegFrame,
  type SegmentationType,
  type SegmentDescription,
  type SegmentSummary,
  type SegReadResult,
} from './seg-read.js';
export {
  writeSeg,
  type SegAlgorithm,
  type WrittenSeg,
  type WrittenSegment,
  type WriteSegOptions,
} from './seg-write.js';
export {
  checkClasses,
  ClassesJson,
  defaultClasses,
  displayColor,
  parseClasses,
  segmentCoding,
  type ClassDefinition,
} from './classes.js';
export {
  codingForName,
  isKnownName,
  USER_DEFINED_SCHEME,
  type CodedConcept,
  type SegmentCoding,
} from './codes.js';
export { isPart10, parsePart10, writePart10, type Dataset, type Part10 } from './part10.js';
export { canDecodeLocally, transferSyntaxName } from './codecs.js';
export { derivedUid, newUid } from './uids.js';
export { writeFileAtomic } from './files.js';
