/**
 * A synthetic CT series for the end-to-end benchmark: by default 300 axial slices of 512 x 512, 0.75 mm
 * pixels, 1 mm apart (an abdominal CT's size), as CT Image Storage instances (Explicit VR Little Endian,
 * 12-bit unsigned stored values, rescale intercept -1024), plus the ground-truth labels.
 *
 * Anatomy in patient coordinates (LPS, mm): air around an elliptic body (soft tissue with a fat rim), lungs in
 * the upper third, a vertebral column, the liver on the patient's right (label 1) and the spleen on the left
 * (label 2), both ellipsoids whose cross-sections change from slice to slice. Gaussian noise (12 HU).
 * Deterministic for a seed: pixels and UIDs (2.25.<128 bits of sha256("nnsam-bench-ct/<seed>/<role>")>).
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

import { gaussianFrom, seededRandom, type Geometry, type Volume } from '@nnsam/server';

interface Dcmjs {
  data: {
    DicomDict: new (meta: Record<string, unknown>) => { dict: Record<string, unknown>; write(): ArrayBuffer };
    DicomMetaDictionary: { denaturalizeDataset(dataset: Record<string, unknown>): Record<string, unknown> };
  };
}
const dcmjs = createRequire(import.meta.url)('dcmjs') as Dcmjs;

const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
export const CT_CLASSES: Record<number, string> = { 1: 'Liver', 2: 'Spleen' };

export interface CtSeriesOptions {
  /** rows = columns (default 512) */
  size?: number;
  /** slices (default 300) */
  slices?: number;
  /** pixel spacing in mm (default 0.75) */
  pixel?: number;
  /** slice spacing in mm (default 1) */
  gap?: number;
  seed?: number;
}

export interface CtSeries {
  studyInstanceUID: string;
  seriesInstanceUID: string;
  /** HU, on the volume grid the DICOM layer builds (i = column, j = row, k = slice ascending) */
  image: Volume<Int16Array>;
  labels: Volume<Uint8Array>;
  /** one Part 10 file per slice, in slice order */
  instances: Uint8Array[];
}

export function ctUid(seed: number, role: string): string {
  const digest = createHash('sha256').update(`nnsam-bench-ct/${seed}/${role}`).digest();
  return `2.25.${BigInt('0x' + digest.subarray(0, 16).toString('hex')).toString(10)}`;
}

interface Ellipsoid {
  c: [number, number, number];
  r: [number, number, number];
}

/** Half-axes of an ellipsoid's cross-section at height z (0 when the plane misses it). */
function section(e: Ellipsoid, z: number): [number, number] {
  const t = 1 - ((z - e.c[2]) / e.r[2]) ** 2;
  return t > 0 ? [e.r[0] * Math.sqrt(t), e.r[1] * Math.sqrt(t)] : [0, 0];
}

const inside = (x: number, y: number, cx: number, cy: number, a: number, b: number) =>
  a > 0 && ((x - cx) / a) ** 2 + ((y - cy) / b) ** 2 <= 1;

export function makeCtSeries(options: CtSeriesOptions = {}): CtSeries {
  const size = options.size ?? 512;
  const nz = options.slices ?? 300;
  const pixel = options.pixel ?? 0.75;
  const gap = options.gap ?? 1;
  const seed = options.seed ?? 1;
  const geometry: Geometry = {
    dims: [size, size, nz],
    spacing: [pixel, pixel, gap],
    origin: [-((size - 1) / 2) * pixel, -((size - 1) / 2) * pixel, -((nz - 1) / 2) * gap],
    direction: [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ],
  };
  const zRange = (nz - 1) * gap;
  const liver: Ellipsoid = { c: [-55, -5, -0.05 * zRange], r: [80, 70, 0.3 * zRange] };
  const spleen: Ellipsoid = { c: [85, 45, 0.05 * zRange], r: [32, 45, 0.17 * zRange] };
  const lungTop = 0.2 * zRange; // lungs above this height
  const image = new Int16Array(size * size * nz);
  const labels = new Uint8Array(size * size * nz);
  const noise = gaussianFrom(seededRandom(seed));
  for (let k = 0; k < nz; k++) {
    const z = geometry.origin[2] + k * gap;
    const [la, lb] = section(liver, z);
    const [sa, sb] = section(spleen, z);
    const lung = z > lungTop ? Math.min(1, (z - lungTop) / 40) : 0;
    for (let j = 0; j < size; j++) {
      const y = geometry.origin[1] + j * pixel;
      for (let i = 0; i < size; i++) {
        const x = geometry.origin[0] + i * pixel;
        let hu = -1000;
        let label = 0;
        if (inside(x, y, 0, 0, 175, 125)) {
          hu = inside(x, y, 0, 0, 165, 115) ? 40 + 8 * Math.sin(x / 13) * Math.cos(y / 17) : -100;
          if (inside(x, y, 0, 85, 20, 18)) hu = inside(x, y, 0, 85, 15, 13) ? 250 : 900; // vertebral body
          if (
            lung > 0 &&
            (inside(x, y, -70, -5, 60 * lung, 80 * lung) || inside(x, y, 70, -5, 60 * lung, 80 * lung))
          )
            hu = -850;
          if (inside(x, y, liver.c[0], liver.c[1], la, lb)) {
            hu = 62;
            label = 1;
          } else if (inside(x, y, spleen.c[0], spleen.c[1], sa, sb)) {
            hu = 48;
            label = 2;
          }
        }
        const index = i + size * (j + size * k);
        image[index] = Math.max(-1024, Math.min(3071, Math.round(hu + 12 * noise())));
        labels[index] = label;
      }
    }
  }
  const studyInstanceUID = ctUid(seed, 'study');
  const seriesInstanceUID = ctUid(seed, 'series');
  const frameOfReferenceUID = ctUid(seed, 'frame-of-reference');
  const instances: Uint8Array[] = [];
  for (let k = 0; k < nz; k++) {
    const stored = new Uint16Array(size * size);
    for (let p = 0; p < stored.length; p++) stored[p] = image[k * size * size + p]! + 1024;
    instances.push(
      writeCtSlice({
        studyInstanceUID,
        seriesInstanceUID,
        frameOfReferenceUID,
        sopInstanceUID: ctUid(seed, `instance/${k}`),
        instanceNumber: k + 1,
        position: [geometry.origin[0], geometry.origin[1], geometry.origin[2] + k * gap],
        pixel,
        gap,
        size,
        stored,
      }),
    );
  }
  return {
    studyInstanceUID,
    seriesInstanceUID,
    image: { geometry, data: image },
    labels: { geometry: structuredClone(geometry), data: labels },
    instances,
  };
}

interface SliceSpec {
  studyInstanceUID: string;
  seriesInstanceUID: string;
  frameOfReferenceUID: string;
  sopInstanceUID: string;
  instanceNumber: number;
  position: [number, number, number];
  pixel: number;
  gap: number;
  size: number;
  stored: Uint16Array;
}

function writeCtSlice(s: SliceSpec): Uint8Array {
  const fixed = (v: number) => Number(v.toFixed(6));
  const dataset: Record<string, unknown> = {
    SOPClassUID: CT_IMAGE_STORAGE,
    SOPInstanceUID: s.sopInstanceUID,
    SpecificCharacterSet: 'ISO_IR 100',
    ImageType: ['ORIGINAL', 'PRIMARY', 'AXIAL'],
    PatientName: 'NNSAM^BENCH^CT',
    PatientID: 'NNSAM-BENCH-CT',
    PatientBirthDate: '',
    PatientSex: 'O',
    PatientIdentityRemoved: 'YES',
    DeidentificationMethod: 'Synthetic image, no patient (nnSAM benchmark)',
    StudyInstanceUID: s.studyInstanceUID,
    StudyDate: '20240101',
    StudyTime: '120000',
    StudyID: 'BENCH',
    AccessionNumber: '',
    ReferringPhysicianName: '',
    StudyDescription: 'nnSAM benchmark synthetic CT',
    Modality: 'CT',
    SeriesInstanceUID: s.seriesInstanceUID,
    SeriesNumber: 1,
    SeriesDescription: `synthetic CT ${s.size}x${s.size}`,
    Manufacturer: 'nnSAM benchmark (synthetic)',
    FrameOfReferenceUID: s.frameOfReferenceUID,
    PositionReferenceIndicator: '',
    InstanceNumber: s.instanceNumber,
    ImagePositionPatient: s.position.map(fixed),
    ImageOrientationPatient: [1, 0, 0, 0, 1, 0],
    SliceThickness: fixed(s.gap),
    PixelSpacing: [fixed(s.pixel), fixed(s.pixel)],
    SliceLocation: fixed(s.position[2]),
    BurnedInAnnotation: 'NO',
    KVP: 120,
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: s.size,
    Columns: s.size,
    BitsAllocated: 16,
    BitsStored: 12,
    HighBit: 11,
    PixelRepresentation: 0,
    RescaleIntercept: -1024,
    RescaleSlope: 1,
    RescaleType: 'HU',
    WindowCenter: 40,
    WindowWidth: 400,
    PixelData: s.stored.buffer,
    _vrMap: { PixelData: 'OW' },
  };
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: CT_IMAGE_STORAGE,
    MediaStorageSOPInstanceUID: s.sopInstanceUID,
    TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    ImplementationClassUID: ctUid(0, 'implementation'),
  };
  const dict = new dcmjs.data.DicomDict(dcmjs.data.DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(dataset);
  return new Uint8Array(dict.write());
}
