/**
 * Label volume -> one BINARY DICOM SEG (Segmentation Storage, Explicit VR Little Endian) on the source
 * series. Written attribute by attribute with dcmjs as the encoder only: no dcmjs normalizer or SEG
 * helper touches the frames, so the order we write is the order in the file.
 *
 * Frame i of the SEG is exactly one (segment, slice) pair: segments in ascending number, slices in
 * ascending k; a pair is written only when that slice has at least one voxel of that segment. Each frame
 * names its source image (DerivationImageSequence -> SourceImageSequence: SOP Instance UID, and frame
 * number for multi-frame sources), carries the source's own ImagePositionPatient (exact, also for tilted
 * or unevenly spaced series) and its segment number; the Dimension Index is (segment number, k + 1).
 *
 * Policies: one segment per class, numbered 1..n in ascending label value (label values that are not
 * 1..n are renumbered, with a warning); a class without voxels is still described (a segment with no
 * frames, so "not found" is explicit); a result with no foreground at all gets one empty frame (a SEG
 * needs at least one); label values that are not classes are an error.
 */
import { NnsamError } from '../util/errors.js';
import { log as defaultLog, type Logger } from '../util/logger.js';
import { sameGrid, voxelToPatient, type Volume } from '../volume/index.js';
import { version } from '../version.js';
import {
  checkClasses,
  defaultClasses,
  displayColor,
  parseClasses,
  rgbToDicomLab,
  segmentCoding,
  type ClassDefinition,
  type ClassesJson,
} from './classes.js';
import { USER_DEFINED_SCHEME, type CodedConcept, type SegmentCoding } from './codes.js';
import { writePart10, type Dataset } from './part10.js';
import { SEG_SOP_CLASS } from './seg-read.js';
import type { DicomSeries } from './series.js';
import { reorientToGrid } from './reorient.js';
import { newUid } from './uids.js';

export interface SegAlgorithm {
  /** e.g. "nnSAM" */
  name: string;
  /** e.g. the model version or checkpoint id */
  version: string;
  /** Algorithm family (CID 7162); default DCM 123110 "Artificial Intelligence". */
  family?: CodedConcept;
  /** Free text, e.g. training settings. */
  parameters?: string;
}

export interface WriteSegOptions {
  seriesDescription?: string;
  seriesNumber?: number;
  contentLabel?: string;
  contentDescription?: string;
  /** Tolerance (mm) for the labels' grid against the series' (default 0.05). */
  gridToleranceMm?: number;
  logger?: Logger;
}

export interface WrittenSegment {
  segmentNumber: number;
  labelValue: number;
  name: string;
  voxelCount: number;
  frameCount: number;
}

export interface WrittenSeg {
  /** The Part 10 file. */
  bytes: Uint8Array;
  sopInstanceUID: string;
  seriesInstanceUID: string;
  studyInstanceUID: string;
  frameCount: number;
  segments: WrittenSegment[];
  warnings: string[];
}

// Declares our private coding scheme (SOP Common module) whenever a segment uses it.
const USER_SCHEME_ITEM = {
  CodingSchemeDesignator: USER_DEFINED_SCHEME,
  CodingSchemeName: 'nnSAM user-defined segmentation classes',
  CodingSchemeResponsibleOrganization: 'nnSAM for OHIF',
};

/** A class as one segment of the SEG: its definition with the codes and colour resolved (classes.ts). */
interface ClassSpec {
  labelValue: number;
  name: string;
  color: [number, number, number];
  coding: SegmentCoding;
}

function usesUserDefinedScheme(spec: ClassSpec): boolean {
  const c = spec.coding;
  return [c.category, c.type, c.typeModifier].some((x) => x?.scheme === USER_DEFINED_SCHEME);
}

const ARTIFICIAL_INTELLIGENCE: CodedConcept = {
  value: '123110',
  scheme: 'DCM',
  meaning: 'Artificial Intelligence',
};
const SOURCE_IMAGE_PURPOSE = code({
  value: '121322',
  scheme: 'DCM',
  meaning: 'Source image for image processing operation',
});
const SEGMENTATION_DERIVATION = code({ value: '113076', scheme: 'DCM', meaning: 'Segmentation' });

/**
 * Writes a BINARY SEG of `labels` (integer label values on the series grid) for the classes given
 * (`classes`: class definitions, e.g. a project's, or the classes JSON, or undefined for "Label N" names of the
 * values present), in
 * stages: the label values counted, the classes checked, the frames, the data set.
 */
export function writeSeg(
  labels: Volume,
  series: DicomSeries,
  classes: readonly ClassDefinition[] | ClassesJson | undefined,
  algorithm: SegAlgorithm,
  options: WriteSegOptions = {},
): WrittenSeg {
  const logger = options.logger ?? defaultLog;
  const warnings: string[] = [];
  labels = onSeriesGrid(labels, series, options.gridToleranceMm ?? 0.05, warnings);
  if (!algorithm?.name || !algorithm.version) {
    throw new NnsamError(
      'invalid_algorithm',
      'the SEG needs an algorithm name and version (Algorithm Identification)',
    );
  }

  const counts = labelCounts(labels.data);
  const specs = segmentSpecs(classes, counts, warnings);
  const { frames, written } = segmentFrames(
    labels.data,
    series.volume.geometry.dims,
    specs,
    counts,
    warnings,
  );

  const sopInstanceUID = newUid();
  const seriesInstanceUID = newUid();
  const meta = series.meta;
  const dataset = segDataset(series, specs, frames, algorithm, options, {
    sopInstanceUID,
    seriesInstanceUID,
  });
  const bytes = writePart10(dataset);
  for (const w of warnings) logger.warn(w, { seg: sopInstanceUID });
  logger.info('wrote DICOM SEG', {
    seg: sopInstanceUID,
    series: meta.seriesInstanceUID,
    frames: frames.length,
    segments: specs.length,
    bytes: bytes.length,
  });
  return {
    bytes,
    sopInstanceUID,
    seriesInstanceUID,
    studyInstanceUID: meta.studyInstanceUID,
    frameCount: frames.length,
    segments: written,
    warnings,
  };
}

interface SegFrame {
  /** Segment number (1-based) */
  segment: number;
  /** Slice index in the series */
  k: number;
  mask: Uint8Array;
}

/** Voxels per label value (whole numbers from 1 to 65535; anything else is refused, naming the voxel). */
function labelCounts(data: Volume['data']): Map<number, number> {
  const histogram = new Float64Array(65536);
  for (let n = 0; n < data.length; n++) {
    const v = data[n]!;
    if (v === 0) continue;
    if (!(v > 0 && v < 65536 && Number.isInteger(v))) {
      throw new NnsamError(
        'invalid_labels',
        `the label volume holds the value ${v} at voxel ${n}; labels must be whole numbers from 0 to 65535`,
      );
    }
    histogram[v]!++;
  }
  const counts = new Map<number, number>();
  histogram.forEach((c, v) => c && counts.set(v, c));
  return counts;
}

/**
 * The segments' classes: as given (definitions, or JSON), or "Label N" for the values present; every value
 * named; codes and colours resolved.
 */
function segmentSpecs(classes: unknown, counts: Map<number, number>, warnings: string[]): ClassSpec[] {
  const defs: ClassDefinition[] =
    classes === undefined || classes === null
      ? defaultClasses([...counts.keys()].sort((a, b) => a - b))
      : Array.isArray(classes)
        ? checkClasses(classes as ClassDefinition[])
        : parseClasses(classes);
  const specs = defs.map((c) => ({
    labelValue: c.value,
    name: c.name,
    color: displayColor(c),
    coding: segmentCoding(c),
  }));
  if (specs.length === 0) {
    throw new NnsamError(
      'empty_segmentation',
      'the label volume holds no foreground and no classes were given',
    );
  }
  const known = new Set(specs.map((s) => s.labelValue));
  const unknown = [...counts.keys()].filter((v) => !known.has(v)).sort((a, b) => a - b);
  if (unknown.length) {
    throw new NnsamError(
      'unknown_label',
      `the label volume holds value(s) ${unknown.map((v) => `${v} (${counts.get(v)} voxels)`).join(', ')} that no class names ` +
        `(classes: ${specs.map((s) => `${s.labelValue} ${s.name}`).join(', ')})`,
      { hint: 'Add the missing values to --classes, or clean the labels.' },
    );
  }
  if (specs.some((s, n) => s.labelValue !== n + 1)) {
    warnings.push(
      `label values ${specs.map((s) => s.labelValue).join(', ')} are written as segments 1..${specs.length} (a SEG numbers its segments from 1)`,
    );
  }
  return specs;
}

/**
 * One binary frame per (segment, slice) that holds the segment, in (segment, slice) order; the masks of every
 * pair come from one pass over the labels. No foreground at all: one empty frame.
 */
function segmentFrames(
  data: Volume['data'],
  [nx, ny, nz]: [number, number, number],
  specs: ClassSpec[],
  counts: Map<number, number>,
  warnings: string[],
): { frames: SegFrame[]; written: WrittenSegment[] } {
  const perSlice = nx * ny;
  const segmentOf = new Int32Array(65536).fill(-1);
  specs.forEach((spec, n) => (segmentOf[spec.labelValue] = n));
  const masks: Map<number, Uint8Array>[] = specs.map(() => new Map());
  for (let k = 0; k < nz; k++) {
    const base = k * perSlice;
    const slice: (Uint8Array | undefined)[] = new Array(specs.length);
    for (let p = 0; p < perSlice; p++) {
      const v = data[base + p]!;
      if (v === 0) continue;
      const n = segmentOf[v]!;
      (slice[n] ??= new Uint8Array(perSlice))[p] = 1;
    }
    slice.forEach((mask, n) => mask && masks[n]!.set(k, mask));
  }
  const frames: SegFrame[] = [];
  const written: WrittenSegment[] = specs.map((spec, n) => {
    const slices = [...masks[n]!.keys()].sort((x, y) => x - y);
    for (const k of slices) frames.push({ segment: n + 1, k, mask: masks[n]!.get(k)! });
    if (!slices.length)
      warnings.push(`class ${spec.labelValue} (${spec.name}) has no voxels: its segment has no frames`);
    return {
      segmentNumber: n + 1,
      labelValue: spec.labelValue,
      name: spec.name,
      voxelCount: counts.get(spec.labelValue) ?? 0,
      frameCount: slices.length,
    };
  });
  if (frames.length === 0) {
    frames.push({ segment: 1, k: 0, mask: new Uint8Array(perSlice) });
    warnings.push(
      'the label volume has no foreground: the SEG holds one empty frame (segment 1 on the first slice)',
    );
  }
  return { frames, written };
}

/** The SEG's data set: patient and study from the series, one segment per class, the frames packed. */
function segDataset(
  series: DicomSeries,
  specs: ClassSpec[],
  frames: SegFrame[],
  algorithm: SegAlgorithm,
  options: WriteSegOptions,
  { sopInstanceUID, seriesInstanceUID }: { sopInstanceUID: string; seriesInstanceUID: string },
): Dataset {
  const now = new Date();
  const date = dicomDate(now);
  const time = dicomTime(now);
  const meta = series.meta;
  const g = series.volume.geometry;
  const [nx, ny, nz] = g.dims;
  const dimensionOrganizationUID = newUid();
  const iop = [...g.direction[0], ...g.direction[1]].map(ds);
  const referenced = new Map<string, string>(); // SOP instance -> class, in slice order
  for (const f of frames) {
    const s = series.slices[f.k]!;
    referenced.set(s.sopInstanceUID, s.sopClassUID);
  }

  return {
    SpecificCharacterSet: 'ISO_IR 192',
    TimezoneOffsetFromUTC: '+0000', // the dates and times below are UTC
    ImageType: ['DERIVED', 'PRIMARY'],
    InstanceCreationDate: date,
    InstanceCreationTime: time,
    SOPClassUID: SEG_SOP_CLASS,
    SOPInstanceUID: sopInstanceUID,
    StudyDate: meta.studyDate ?? '',
    SeriesDate: date,
    ContentDate: date,
    StudyTime: meta.studyTime ?? '',
    SeriesTime: time,
    ContentTime: time,
    AccessionNumber: meta.accessionNumber ?? '',
    Modality: 'SEG',
    Manufacturer: 'nnSAM',
    ReferringPhysicianName: meta.referringPhysicianName ?? '',
    StudyDescription: meta.studyDescription ?? '',
    SeriesDescription: (options.seriesDescription ?? `${algorithm.name} segmentation`).slice(0, 64),
    ManufacturerModelName: 'nnSAM for OHIF',
    ReferencedSeriesSequence: [
      {
        SeriesInstanceUID: meta.seriesInstanceUID,
        ReferencedInstanceSequence: [...referenced].map(([uid, klass]) => ({
          ReferencedSOPClassUID: klass,
          ReferencedSOPInstanceUID: uid,
        })),
      },
    ],
    PatientName: meta.patientName ?? '',
    PatientID: meta.patientID ?? '',
    PatientBirthDate: meta.patientBirthDate ?? '',
    PatientSex: meta.patientSex ?? '',
    DeviceSerialNumber: '1',
    SoftwareVersions: `nnsam ${version}`.slice(0, 64),
    StudyInstanceUID: meta.studyInstanceUID,
    SeriesInstanceUID: seriesInstanceUID,
    StudyID: meta.studyID ?? '',
    SeriesNumber: String(options.seriesNumber ?? 1000 + ((meta.seriesNumber ?? 0) % 1000)),
    InstanceNumber: '1',
    FrameOfReferenceUID: meta.frameOfReferenceUID,
    PositionReferenceIndicator: '',
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: dimensionOrganizationUID }],
    DimensionIndexSequence: [
      {
        DimensionOrganizationUID: dimensionOrganizationUID,
        DimensionIndexPointer: 0x0062000b, // ReferencedSegmentNumber
        FunctionalGroupPointer: 0x0062000a, // SegmentIdentificationSequence
        DimensionDescriptionLabel: 'ReferencedSegmentNumber',
      },
      {
        DimensionOrganizationUID: dimensionOrganizationUID,
        DimensionIndexPointer: 0x00200032, // ImagePositionPatient
        FunctionalGroupPointer: 0x00209113, // PlanePositionSequence
        DimensionDescriptionLabel: 'ImagePositionPatient',
      },
    ],
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    NumberOfFrames: String(frames.length),
    Rows: ny,
    Columns: nx,
    BitsAllocated: 1,
    BitsStored: 1,
    HighBit: 0,
    PixelRepresentation: 0,
    LossyImageCompression: '00',
    SegmentationType: 'BINARY',
    SegmentSequence: specs.map((spec, n) => segmentItem(spec, n + 1, algorithm)),
    ContentLabel: (options.contentLabel ?? 'NNSAM')
      .toUpperCase()
      .replace(/[^A-Z0-9_ ]/g, '_')
      .slice(0, 16),
    ContentDescription: (options.contentDescription ?? `${algorithm.name} ${algorithm.version}`).slice(0, 64),
    ContentCreatorName: '',
    SharedFunctionalGroupsSequence: [
      {
        PlaneOrientationSequence: [{ ImageOrientationPatient: iop }],
        PixelMeasuresSequence: [
          {
            PixelSpacing: [ds(g.spacing[1]), ds(g.spacing[0])],
            SliceThickness: ds(meta.sliceThickness ?? series.spacing.mean),
            ...(series.spacing.uniform && nz > 1 ? { SpacingBetweenSlices: ds(series.spacing.mean) } : {}),
          },
        ],
      },
    ],
    PerFrameFunctionalGroupsSequence: frames.map((f) => perFrameItem(series, f.segment, f.k)),
    ...(specs.some((s) => usesUserDefinedScheme(s))
      ? { CodingSchemeIdentificationSequence: [USER_SCHEME_ITEM] }
      : {}),
    PixelData: [packFrames(frames.map((f) => f.mask))],
    _vrMap: { PixelData: 'OB' },
  };
}

/**
 * The labels must lie on the series grid (same voxel positions within `tolMm`). Labels stored with flipped
 * or permuted axes (same voxel centres) are reoriented without resampling, with a warning.
 */
function onSeriesGrid(labels: Volume, series: DicomSeries, tolMm: number, warnings: string[]): Volume {
  const a = labels.geometry;
  const b = series.volume.geometry;
  const uid = series.meta.seriesInstanceUID;
  if (labels.data.length !== a.dims[0] * a.dims[1] * a.dims[2]) {
    throw new NnsamError(
      'invalid_labels',
      `the label volume has ${labels.data.length} voxels but its geometry says ${a.dims.join('x')}`,
    );
  }
  if (sameGrid(a, b, tolMm)) return labels;
  const reoriented = reorientToGrid(labels, b, tolMm);
  if (reoriented) {
    warnings.push(
      `the labels were stored with other axis directions (${reoriented.change}): reoriented to the series grid without resampling`,
    );
    return reoriented.volume;
  }
  if ([...a.dims].sort().join() !== [...b.dims].sort().join()) {
    throw new NnsamError(
      'labels_shape_mismatch',
      `the labels are ${a.dims.join('x')} voxels but series ${uid} is ${b.dims.join('x')} (columns x rows x slices)`,
      { hint: 'Labels must be on the grid of the series they segment (as `nnsam volume` writes it).' },
    );
  }
  const corners: [number, number, number][] = [
    [0, 0, 0],
    [a.dims[0] - 1, 0, 0],
    [0, a.dims[1] - 1, 0],
    [0, 0, a.dims[2] - 1],
  ];
  let worst = { at: corners[0]!, d: 0 };
  for (const c of corners) {
    const p = voxelToPatient(a, ...c);
    const q = voxelToPatient(b, ...c);
    const d = Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]);
    if (d > worst.d) worst = { at: c, d };
  }
  throw new NnsamError(
    'labels_grid_mismatch',
    `the labels are not on the grid of series ${uid}: voxel (${worst.at.join(', ')}) lies ${worst.d.toFixed(2)} mm away ` +
      'from the same voxel of the series, and no flip or permutation of the axes makes them agree',
    {
      hint: 'Resampled, cropped or shifted labels cannot be written as a SEG of this series; bring them back to its grid.',
    },
  );
}

function segmentItem(spec: ClassSpec, segmentNumber: number, algorithm: SegAlgorithm): Dataset {
  const type = code(spec.coding.type);
  if (spec.coding.typeModifier)
    type.SegmentedPropertyTypeModifierCodeSequence = [code(spec.coding.typeModifier)];
  return {
    SegmentNumber: segmentNumber,
    SegmentLabel: spec.name.slice(0, 64),
    SegmentAlgorithmType: 'AUTOMATIC',
    SegmentAlgorithmName: algorithm.name.slice(0, 64),
    SegmentationAlgorithmIdentificationSequence: [
      {
        AlgorithmFamilyCodeSequence: [code(algorithm.family ?? ARTIFICIAL_INTELLIGENCE)],
        AlgorithmName: algorithm.name.slice(0, 64),
        AlgorithmVersion: algorithm.version.slice(0, 64),
        ...(algorithm.parameters ? { AlgorithmParameters: algorithm.parameters } : {}),
      },
    ],
    SegmentedPropertyCategoryCodeSequence: [code(spec.coding.category)],
    SegmentedPropertyTypeCodeSequence: [type],
    RecommendedDisplayCIELabValue: rgbToDicomLab(spec.color),
  };
}

function perFrameItem(series: DicomSeries, segment: number, k: number): Dataset {
  const s = series.slices[k]!;
  return {
    DerivationImageSequence: [
      {
        SourceImageSequence: [
          {
            ReferencedSOPClassUID: s.sopClassUID,
            ReferencedSOPInstanceUID: s.sopInstanceUID,
            ...(s.frameNumber !== undefined ? { ReferencedFrameNumber: String(s.frameNumber) } : {}),
            PurposeOfReferenceCodeSequence: [SOURCE_IMAGE_PURPOSE],
            // frames lie on their source slice's grid; toolkits index by source only when this says so
            // (highdicom's get_pixels_by_source_instance; dcmqi writes it too)
            SpatialLocationsPreserved: 'YES',
          },
        ],
        DerivationCodeSequence: [SEGMENTATION_DERIVATION],
      },
    ],
    FrameContentSequence: [{ DimensionIndexValues: [segment, k + 1] }],
    PlanePositionSequence: [{ ImagePositionPatient: s.position.map(ds) }],
    SegmentIdentificationSequence: [{ ReferencedSegmentNumber: segment }],
  };
}

/** Packs 0/1 masks one after another, bit n of the stream = pixel n (LSB first), padded to an even length. */
export function packFrames(masks: Uint8Array[]): ArrayBuffer {
  const total = masks.reduce((sum, m) => sum + m.length, 0);
  const bytes = Math.ceil(total / 8);
  const out = new Uint8Array(bytes + (bytes % 2));
  let bit = 0;
  for (const m of masks) {
    let p = 0;
    // whole output bytes while aligned (the common case: rows x columns is a multiple of 8)
    if ((bit & 7) === 0) {
      const whole = m.length & ~7;
      for (let o = bit >> 3; p < whole; p += 8, o++) {
        out[o] =
          m[p]! |
          (m[p + 1]! << 1) |
          (m[p + 2]! << 2) |
          (m[p + 3]! << 3) |
          (m[p + 4]! << 4) |
          (m[p + 5]! << 5) |
          (m[p + 6]! << 6) |
          (m[p + 7]! << 7);
      }
      bit += whole;
    }
    for (; p < m.length; p++, bit++) if (m[p]) out[bit >> 3]! |= 1 << (bit & 7);
  }
  return out.buffer;
}

function code(c: CodedConcept): Dataset {
  return { CodeValue: c.value, CodingSchemeDesignator: c.scheme, CodeMeaning: c.meaning.slice(0, 64) };
}

/** A decimal string of at most 16 characters (DICOM DS) for `x`, as precise as that allows. */
export function ds(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`cannot encode ${x} as a decimal string`);
  const plain = String(x === 0 ? 0 : x);
  if (plain.length <= 16 && !/e/i.test(plain)) return plain;
  for (let digits = 15; digits > 0; digits--) {
    const s = String(Number(x.toPrecision(digits)));
    if (s.length <= 16) return s;
  }
  return x.toExponential(8);
}

function dicomDate(d: Date): string {
  return `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
}

function dicomTime(d: Date): string {
  return `${String(d.getUTCHours()).padStart(2, '0')}${String(d.getUTCMinutes()).padStart(2, '0')}${String(d.getUTCSeconds()).padStart(2, '0')}`;
}
