/**
 * The demo study: a synthetic cardiac short-axis MR series, generated (nothing is shipped or downloaded).
 *
 * Anatomy, base (slice 0) to apex: a bright left-ventricle blood pool (label 3) inside a darker myocardial
 * ring (label 2), a right-ventricle crescent beside it (label 1, fading out towards the apex), all inside an
 * elliptic "body" on an air background. Shapes change smoothly from slice to slice, so a few labelled
 * slices are enough to learn the rest — what the few-shot workflow needs. The labels follow ACDC's
 * convention (1 RV, 2 MYO, 3 LV) so the phantom and the shared ACDC data read the same way.
 * Image formation: 2x2 supersampled partial volume, a smooth multiplicative bias field and Rician noise.
 *
 * Everything is deterministic for a given seed: pixels and UIDs. UIDs use the UUID-derived root 2.25
 * (ISO/IEC 9834-8; DICOM PS3.5 B.2): `2.25.<128-bit number>`, the number taken from a SHA-256 of
 * "nnsam-phantom/v1/<seed>/<role>". So the same seed always gives the same study, and no one else's UIDs
 * can collide with them.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

import { gaussianFrom, seededRandom } from '../engine/index.js';
import type { Geometry, Volume } from '../volume/index.js';

/** The few dcmjs calls we make (dcmjs ships no types). */
interface Dcmjs {
  data: {
    DicomDict: new (meta: Record<string, unknown>) => { dict: Record<string, unknown>; write(): ArrayBuffer };
    DicomMetaDictionary: { denaturalizeDataset(dataset: Record<string, unknown>): Record<string, unknown> };
  };
}
const dcmjs = createRequire(import.meta.url)('dcmjs') as Dcmjs;

export const PHANTOM_LABELS: Record<number, string> = {
  1: 'Right ventricle',
  2: 'Myocardium',
  3: 'Left ventricle',
};
export const PHANTOM_PATIENT = { name: 'NNSAM^PHANTOM', id: 'NNSAM-PHANTOM' };
const UID_VERSION = 'nnsam-phantom/v1';
const MR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.4';
const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/** Implementation Class UID of this writer (same UID scheme: derived from a fixed name). */
export const IMPLEMENTATION_CLASS_UID = uidFor('nnsam', 'implementation');

export interface PhantomOptions {
  /** changes noise and UIDs; the anatomy stays the same (default 1) */
  seed?: number;
  /** rows = columns (default 192) */
  size?: number;
  /** number of slices (default 20) */
  slices?: number;
}

export interface PhantomInstance {
  sopInstanceUID: string;
  /** 0-based slice index in the volume (base = 0) */
  slice: number;
  /** a complete DICOM Part 10 file */
  bytes: Uint8Array;
}

export interface Phantom {
  studyInstanceUID: string;
  seriesInstanceUID: string;
  frameOfReferenceUID: string;
  instances: PhantomInstance[];
  image: Volume<Uint16Array>;
  /** ground truth: 0 background, 1 RV, 2 MYO, 3 LV */
  labels: Volume<Uint8Array>;
  labelNames: Record<number, string>;
}

/** A deterministic DICOM UID: 2.25.<first 128 bits of sha256(version/seed/role)>, at most 44 characters. */
export function uidFor(seed: number | string, role: string): string {
  const digest = createHash('sha256').update(`${UID_VERSION}/${seed}/${role}`).digest();
  const n = BigInt('0x' + digest.subarray(0, 16).toString('hex'));
  return `2.25.${n.toString(10)}`;
}

export function makePhantom(options: PhantomOptions = {}): Phantom {
  const seed = options.seed ?? 1;
  const size = options.size ?? 192;
  const nz = options.slices ?? 20;
  if (!Number.isInteger(size) || size < 64 || size > 1024)
    throw new RangeError(`phantom size ${size} is not 64..1024`);
  if (!Number.isInteger(nz) || nz < 2 || nz > 200)
    throw new RangeError(`phantom slice count ${nz} is not 2..200`);

  const pixel = (1.5 * 192) / size; // same field of view (288 mm) at every size
  const sliceGap = 5;
  const geometry: Geometry = {
    dims: [size, size, nz],
    spacing: [pixel, pixel, sliceGap],
    origin: [-((size - 1) / 2) * pixel, -((size - 1) / 2) * pixel, -((nz - 1) / 2) * sliceGap],
    direction: [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ],
  };
  const image = new Uint16Array(size * size * nz);
  const labels = new Uint8Array(size * size * nz);
  const random = gaussianFrom(seededRandom(seed));

  for (let k = 0; k < nz; k++) {
    const anatomy = sliceAnatomy(k / (nz - 1));
    for (let j = 0; j < size; j++) {
      for (let i = 0; i < size; i++) {
        const x = geometry.origin[0] + i * pixel;
        const y = geometry.origin[1] + j * pixel;
        // partial volume: mean signal of a 2x2 subgrid, label at the pixel centre
        let signal = 0;
        for (const dx of [-0.25, 0.25])
          for (const dy of [-0.25, 0.25]) signal += anatomy.signal(x + dx * pixel, y + dy * pixel);
        signal = (signal / 4) * biasField(x, y);
        // Rician noise: magnitude of a complex signal with Gaussian noise on both channels
        const sigma = 18;
        const re = signal + sigma * random();
        const im = sigma * random();
        const index = i + size * (j + size * k);
        image[index] = Math.min(4095, Math.round(Math.hypot(re, im)));
        labels[index] = anatomy.label(x, y);
      }
    }
  }

  const studyInstanceUID = uidFor(seed, 'study');
  const seriesInstanceUID = uidFor(seed, 'series');
  const frameOfReferenceUID = uidFor(seed, 'frame-of-reference');
  const instances: PhantomInstance[] = [];
  for (let k = 0; k < nz; k++) {
    const sopInstanceUID = uidFor(seed, `instance/${k}`);
    const frame = image.subarray(k * size * size, (k + 1) * size * size);
    const bytes = writeMrSlice({
      studyInstanceUID,
      seriesInstanceUID,
      frameOfReferenceUID,
      sopInstanceUID,
      instanceNumber: k + 1,
      position: [geometry.origin[0], geometry.origin[1], geometry.origin[2] + k * sliceGap],
      pixelSpacing: pixel,
      sliceThickness: sliceGap,
      rows: size,
      columns: size,
      pixels: frame,
    });
    instances.push({ sopInstanceUID, slice: k, bytes });
  }
  return {
    studyInstanceUID,
    seriesInstanceUID,
    frameOfReferenceUID,
    instances,
    image: { geometry, data: image },
    labels: { geometry: structuredClone(geometry), data: labels },
    labelNames: { ...PHANTOM_LABELS },
  };
}

interface SliceAnatomy {
  signal(x: number, y: number): number;
  label(x: number, y: number): number;
}

/** The anatomy of one slice at relative height t (0 = base, 1 = apex), in patient mm (LPS, z ignored). */
function sliceAnatomy(t: number): SliceAnatomy {
  // LV: cavity radius shrinks towards the apex, the wall thickens a little; the centre drifts slightly
  const cx = 12 + 5 * t;
  const cy = -8 + 4 * t;
  const cavity = 24 * (1 - 0.55 * t ** 1.3);
  const wall = 8 + 2 * t;
  const lvShape = (x: number, y: number) => {
    const angle = Math.atan2(y - cy, x - cx);
    return Math.hypot(x - cx, y - cy) / (1 + 0.08 * Math.cos(2 * angle + 0.3 + 0.6 * t));
  };
  // RV: a crescent on the patient's right (image left), gone in the last fifth towards the apex
  const rvScale = Math.max(0, 1 - t / 0.8);
  const rx = cx - 30 - 4 * (1 - t);
  const ry = cy - 8;
  const rvA = 34 * rvScale + 1e-6;
  const rvB = 26 * rvScale + 1e-6;
  // body: an ellipse, with a faint texture so the background is not flat
  const label = (x: number, y: number) => {
    const r = lvShape(x, y);
    if (r <= cavity) return 3;
    if (r <= cavity + wall) return 2;
    if (rvScale > 0 && ((x - rx) / rvA) ** 2 + ((y - ry) / rvB) ** 2 <= 1 && r > cavity + wall + 2.5)
      return 1;
    return 0;
  };
  const signal = (x: number, y: number) => {
    switch (label(x, y)) {
      case 3:
        return 900;
      case 2:
        return 310;
      case 1:
        return 820;
    }
    if ((x / 125) ** 2 + (y / 100) ** 2 > 1) return 12; // air
    return 380 + 40 * Math.sin(x / 9) * Math.cos(y / 11); // body
  };
  return { signal, label };
}

/** A smooth receive-coil-like intensity bias, 0.75..1.3 across the field of view. */
function biasField(x: number, y: number): number {
  return 1 + 0.2 * Math.sin(x / 90 + 0.5) * Math.cos(y / 110) + 0.1 * (y / 144);
}

interface SliceSpec {
  studyInstanceUID: string;
  seriesInstanceUID: string;
  frameOfReferenceUID: string;
  sopInstanceUID: string;
  instanceNumber: number;
  position: [number, number, number];
  pixelSpacing: number;
  sliceThickness: number;
  rows: number;
  columns: number;
  pixels: Uint16Array;
}

/** One MR Image Storage instance (Explicit VR Little Endian), as a Part 10 file. */
function writeMrSlice(s: SliceSpec): Uint8Array {
  const fixed = (v: number) => Number(v.toFixed(6));
  const dataset: Record<string, unknown> = {
    // SOP Common
    SOPClassUID: MR_IMAGE_STORAGE,
    SOPInstanceUID: s.sopInstanceUID,
    SpecificCharacterSet: 'ISO_IR 100',
    InstanceCreationDate: '20240101',
    InstanceCreationTime: '120000',
    // Patient: clearly synthetic
    PatientName: PHANTOM_PATIENT.name,
    PatientID: PHANTOM_PATIENT.id,
    PatientBirthDate: '',
    PatientSex: 'O',
    PatientIdentityRemoved: 'YES',
    DeidentificationMethod: 'Synthetic image, no patient (nnSAM phantom)',
    // General Study
    StudyInstanceUID: s.studyInstanceUID,
    StudyDate: '20240101',
    StudyTime: '120000',
    ReferringPhysicianName: '',
    StudyID: 'NNSAM1',
    AccessionNumber: '',
    StudyDescription: 'nnSAM demo: synthetic cardiac phantom',
    // General Series / MR Series
    Modality: 'MR',
    SeriesInstanceUID: s.seriesInstanceUID,
    SeriesNumber: 1,
    SeriesDate: '20240101',
    SeriesTime: '120000',
    SeriesDescription: 'Synthetic short-axis cine (phantom)',
    BodyPartExamined: 'HEART',
    PatientPosition: 'HFS',
    // Frame of Reference
    FrameOfReferenceUID: s.frameOfReferenceUID,
    PositionReferenceIndicator: '',
    // General Equipment
    Manufacturer: 'nnSAM synthetic phantom',
    ManufacturerModelName: 'nnsam-phantom v1',
    SoftwareVersions: 'nnsam-phantom v1',
    // General Image
    InstanceNumber: s.instanceNumber,
    PatientOrientation: '',
    ContentDate: '20240101',
    ContentTime: '120000',
    ImageType: ['DERIVED', 'SECONDARY', 'OTHER'],
    BurnedInAnnotation: 'NO',
    LossyImageCompression: '00',
    // Image Plane
    PixelSpacing: [fixed(s.pixelSpacing), fixed(s.pixelSpacing)],
    ImageOrientationPatient: [1, 0, 0, 0, 1, 0],
    ImagePositionPatient: s.position.map(fixed),
    SliceThickness: s.sliceThickness,
    SpacingBetweenSlices: s.sliceThickness,
    SliceLocation: fixed(s.position[2]),
    // Image Pixel
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: s.rows,
    Columns: s.columns,
    BitsAllocated: 16,
    BitsStored: 12,
    HighBit: 11,
    PixelRepresentation: 0,
    WindowCenter: 500,
    WindowWidth: 1100,
    // MR Image
    ScanningSequence: 'GR',
    SequenceVariant: 'SS',
    ScanOptions: '',
    MRAcquisitionType: '2D',
    RepetitionTime: 3.2,
    EchoTime: 1.6,
    EchoTrainLength: 1,
    MagneticFieldStrength: 1.5,
    FlipAngle: 60,
    ImagedNucleus: '1H',
    PixelData: s.pixels.slice().buffer,
    _vrMap: { PixelData: 'OW' },
  };
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: MR_IMAGE_STORAGE,
    MediaStorageSOPInstanceUID: s.sopInstanceUID,
    TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: 'NNSAM_PHANTOM_1',
  };
  const { DicomDict, DicomMetaDictionary } = dcmjs.data;
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  return new Uint8Array(dict.write());
}
