/**
 * DICOM instances -> one image series -> a Volume on the project's grid convention (i = column, j = row,
 * k = slice sorted along the slice normal, LPS). Single-frame images and enhanced multi-frame objects both
 * become one slice per frame. Every irregularity either stops the load with an error that names it or
 * follows a policy that is written to `warnings` and the log (see docs/dicom.md):
 * - several series in the input: error listing them, unless one is chosen (seriesInstanceUID option);
 * - empty Study/Series/SOP/Frame of Reference UIDs: filled in (file meta, then deterministic "2.25." UIDs
 *   derived from the content) with a warning, or rejected when `missingUids: 'reject'`;
 * - gantry tilt: kept as acquired; direction[2] follows the slice positions and is not orthogonal;
 * - uneven slice spacing: slices kept as acquired (k = slice index), spacing[2] is the mean gap; the
 *   exact position of every slice stays in `slices[k].position` (the SEG writer uses those);
 * - duplicate positions, mixed orientations or sizes, missing geometry or pixel data: error.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';

import { NnsamError } from '../util/errors.js';
import { log as defaultLog, type Logger } from '../util/logger.js';
import {
  cross,
  dot,
  norm,
  normalize,
  voxelToPatient,
  type Geometry,
  type Vec3,
  type Volume,
} from '../volume/index.js';
import { canDecodeLocally, transferSyntaxName } from './codecs.js';
import type { DicomwebClient } from './dicomweb.js';
import { isPart10, item, num, nums, parsePart10, seq, str, type Dataset, type Part10 } from './part10.js';
import { pixelLayout, storedFrames, type StoredArray } from './pixel-data.js';
import { derivedUid, isValidUid } from './uids.js';

export interface SliceRef {
  sopInstanceUID: string;
  sopClassUID: string;
  /** 1-based frame number inside a multi-frame instance; undefined for single-frame images. */
  frameNumber?: number;
  /** ImagePositionPatient (LPS, mm) of the slice's first voxel, exactly as the source says. */
  position: Vec3;
}

/** Patient, study and series attributes a derived object (a SEG) needs, copied from the source. */
export interface SeriesMeta {
  studyInstanceUID: string;
  seriesInstanceUID: string;
  frameOfReferenceUID: string;
  modality: string;
  seriesDescription?: string;
  seriesNumber?: number;
  patientName?: string;
  patientID?: string;
  patientBirthDate?: string;
  patientSex?: string;
  studyDate?: string;
  studyTime?: string;
  studyID?: string;
  studyDescription?: string;
  accessionNumber?: string;
  referringPhysicianName?: string;
  manufacturer?: string;
  /** SliceThickness of the source images (mm), when they state one. */
  sliceThickness?: number;
  /** UIDs that were empty in the source and filled in under the 'derive' policy. */
  derivedUids: { attribute: string; uid: string }[];
  /** Transfer syntaxes the source objects arrived in. */
  transferSyntaxes: string[];
}

export interface SliceSpacing {
  /** Mean distance between neighbouring slices along the slice normal (= geometry.spacing[2] when tilt is 0). */
  mean: number;
  min: number;
  max: number;
  /** True when every gap is within 1% (and 0.01 mm) of the mean. */
  uniform: boolean;
  /** Largest distance between a slice's real position and where the Volume geometry puts it (mm). */
  maxPositionErrorMm: number;
}

export interface DicomSeries {
  /** Rescaled values (HU for CT): Int16Array when they fit, Float32Array otherwise. */
  volume: Volume;
  meta: SeriesMeta;
  /** The source image of each slice: index = k. */
  slices: SliceRef[];
  spacing: SliceSpacing;
  /** Angle between the k axis and the slice normal (gantry tilt), degrees. */
  tiltDegrees: number;
  /** Every policy applied to irregular input, in words (also logged). */
  warnings: string[];
}

export interface LoadSeriesOptions {
  /** Pick this series when the input holds several. */
  seriesInstanceUID?: string;
  /** Empty UIDs: fill them in (default) or refuse the input. */
  missingUids?: 'derive' | 'reject';
  logger?: Logger;
}

/** A DICOM object and the bytes it came from (for content-derived UIDs). */
export interface LoadedObject {
  part: Part10;
  bytes: Uint8Array;
}

const NON_IMAGE_MODALITIES = new Set([
  'SEG',
  'RTSTRUCT',
  'RTPLAN',
  'RTRECORD',
  'SR',
  'PR',
  'KO',
  'DOC',
  'REG',
]);
const NON_IMAGE_SOP_PREFIXES = [
  '1.2.840.10008.5.1.4.1.1.66', // segmentation, registration, ...
  '1.2.840.10008.5.1.4.1.1.88', // structured reports
  '1.2.840.10008.5.1.4.1.1.11', // presentation states
  '1.2.840.10008.5.1.4.1.1.481', // RT objects
  '1.2.840.10008.5.1.4.1.1.104', // encapsulated documents
];

export function isImageObject(ds: Dataset): boolean {
  const modality = str(ds, 'Modality');
  if (modality && NON_IMAGE_MODALITIES.has(modality)) return false;
  const sopClass = str(ds, 'SOPClassUID') ?? '';
  if (NON_IMAGE_SOP_PREFIXES.some((p) => sopClass === p || sopClass.startsWith(p + '.'))) return false;
  return ds.PixelData !== undefined || ds.Rows !== undefined;
}

/**
 * Loads one series from files: a folder (searched recursively; files that are not DICOM, and DICOM
 * objects that are not images, are skipped with a warning) or a list of files (every one must be DICOM).
 */
export async function loadSeriesFromFiles(
  input: string | string[],
  options: LoadSeriesOptions = {},
): Promise<DicomSeries> {
  const warnings: string[] = [];
  let paths: string[];
  let fromFolder = false;
  if (typeof input === 'string') {
    const info = await stat(input).catch(() => null);
    if (!info) throw new NnsamError('file_not_found', `${input} does not exist`);
    if (info.isDirectory()) {
      fromFolder = true;
      const entries = await readdir(input, { recursive: true, withFileTypes: true });
      paths = [];
      for (const e of entries) {
        const path = join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
        // symbolic links count when they point at a file
        if (e.isFile() || (e.isSymbolicLink() && (await stat(path).catch(() => null))?.isFile()))
          paths.push(path);
      }
      paths.sort();
      if (paths.length === 0) throw new NnsamError('no_images', `${input} holds no files`);
    } else {
      paths = [input];
    }
  } else {
    paths = input;
  }
  const objects: LoadedObject[] = [];
  const skipped: string[] = [];
  for (const path of paths) {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch (e) {
      throw new NnsamError('file_not_found', `Cannot read ${path}: ${(e as Error).message}`);
    }
    if (fromFolder && !isPart10(bytes)) {
      skipped.push(typeof input === 'string' ? relative(input, path) : path);
      continue;
    }
    objects.push({ part: parsePart10(bytes, path), bytes });
  }
  if (skipped.length) {
    warnings.push(
      `skipped ${skipped.length} file(s) that are not DICOM: ${skipped.slice(0, 5).join(', ')}${skipped.length > 5 ? ', ...' : ''}`,
    );
  }
  const where = typeof input === 'string' ? input : `${paths.length} files`;
  return buildSeries(objects, where, options, warnings);
}

/** Loads one series from Part 10 objects already in memory (e.g. retrieved with WADO-RS). */
export async function loadSeriesFromBuffers(
  items: { bytes: Uint8Array; where: string }[],
  where: string,
  options: LoadSeriesOptions = {},
): Promise<DicomSeries> {
  const objects = items.map(({ bytes, where: w }) => ({ part: parsePart10(bytes, w), bytes }));
  return buildSeries(objects, where, options, []);
}

export interface DicomwebLoadOptions extends LoadSeriesOptions {
  /**
   * 'local' (default): ask for the instances as stored and decode JPEG 2000, JPEG-LS and RLE here; only
   * instances in other compressed syntaxes are requested again, transcoded by the server to Explicit VR
   * Little Endian. 'server': ask the server to transcode everything (falls back to 'local' when it refuses).
   * Local is the default because Orthanc 1.10 with the GDCM plugin crashed while transcoding JPEG 2000
   * and JPEG-LS near-lossless in our tests, and it moves fewer bytes.
   */
  transcode?: 'local' | 'server';
}

/** Loads one series with WADO-RS. The retrieved instances must all belong to that series. */
export async function loadSeriesFromDicomweb(
  client: DicomwebClient,
  studyInstanceUID: string,
  seriesInstanceUID: string,
  options: DicomwebLoadOptions = {},
): Promise<DicomSeries> {
  const logger = options.logger ?? defaultLog;
  const where = `${client.url}/studies/${studyInstanceUID}/series/${seriesInstanceUID}`;
  let raw: Uint8Array[] | undefined;
  if (options.transcode === 'server') {
    try {
      raw = await client.retrieveSeries(studyInstanceUID, seriesInstanceUID, { transferSyntax: EXPLICIT_LE });
    } catch (e) {
      if (!(e instanceof NnsamError) || e.code !== 'dicomweb_bad_request') throw e;
      logger.warn('the DICOMweb server refused to transcode; decoding locally', {
        series: seriesInstanceUID,
      });
    }
  }
  raw ??= await client.retrieveSeries(studyInstanceUID, seriesInstanceUID, { transferSyntax: '*' });
  const objects: LoadedObject[] = [];
  for (const [n, bytes] of raw.entries()) {
    let part = parsePart10(bytes, `${where} (instance ${n + 1})`);
    let data = bytes;
    if (!canDecodeLocally(part.transferSyntaxUID)) {
      const sopUid = str(part.dataset, 'SOPInstanceUID');
      if (!sopUid) throw new NnsamError('missing_uid', `${part.where} has no SOPInstanceUID`);
      logger.info('asking the server to transcode', {
        instance: sopUid,
        from: transferSyntaxName(part.transferSyntaxUID),
      });
      data = await client.retrieveInstance(studyInstanceUID, seriesInstanceUID, sopUid, {
        transferSyntax: EXPLICIT_LE,
      });
      part = parsePart10(data, `${where}/instances/${sopUid}`);
    }
    const got = str(part.dataset, 'SeriesInstanceUID');
    if (got !== seriesInstanceUID) {
      throw new NnsamError(
        'dicomweb_bad_answer',
        `${where} returned an instance of series ${got ?? '(none)'} instead of ${seriesInstanceUID}`,
        { status: 502 },
      );
    }
    objects.push({ part, bytes: data });
  }
  if (objects.length === 0)
    throw new NnsamError('no_images', `${where} returned no instances`, { status: 404 });
  return buildSeries(objects, where, { ...options, seriesInstanceUID }, []);
}

const EXPLICIT_LE = '1.2.840.10008.1.2.1';

interface Frame {
  object: LoadedObject;
  sopInstanceUID: string;
  sopClassUID: string;
  frameNumber?: number;
  frameIndex: number;
  position: Vec3;
  orientation: number[];
  pixelSpacing: number[];
  slope: number;
  intercept: number;
  sliceThickness?: number;
}

/**
 * Builds a DicomSeries from parsed objects (shared by the file and DICOMweb loaders), in stages: the image
 * objects and their SOP UIDs, the series chosen and its UIDs, the frames checked for consistency, sorted
 * along the slice normal, the geometry, the rescaled pixels, the metadata.
 */
export async function buildSeries(
  objects: LoadedObject[],
  where: string,
  options: LoadSeriesOptions,
  warnings: string[],
): Promise<DicomSeries> {
  const logger = options.logger ?? defaultLog;
  const policy = options.missingUids ?? 'derive';

  const images = objects.filter((o) => isImageObject(o.part.dataset));
  const nonImages = objects.length - images.length;
  if (nonImages) warnings.push(`skipped ${nonImages} DICOM object(s) that are not images (SEG, SR, RT...)`);
  if (images.length === 0) {
    throw new NnsamError('no_images', `${where} holds no DICOM images`, {
      hint: 'Point at the folder (or files) of the image series itself.',
    });
  }
  const sop = sopUids(images, policy, warnings);
  const chosen = chooseSeries(images, where, options.seriesInstanceUID);
  const uids = seriesUids(chosen.members, chosen.seriesUid, where, policy, sop, warnings);
  const { members } = chosen;
  const first = members[0]!.part.dataset;

  const { frames, layout } = checkedFrames(members, sop);
  const sorted = sortAlongNormal(frames);
  const { geometry, spacing, tiltDegrees } = seriesGeometry(sorted, layout, first, warnings);
  const { data, fitsInt16 } = await rescaledPixels(members, sorted.frames, layout);

  const meta = seriesMeta(first, uids, sorted.frames, members);
  const slices: SliceRef[] = sorted.frames.map((f) => ({
    sopInstanceUID: f.sopInstanceUID,
    sopClassUID: f.sopClassUID,
    ...(f.frameNumber !== undefined ? { frameNumber: f.frameNumber } : {}),
    position: f.position,
  }));
  for (const w of warnings) logger.warn(w, { series: uids.seriesUid });
  logger.info('loaded DICOM series', {
    series: uids.seriesUid,
    dims: geometry.dims,
    spacing: geometry.spacing.map((s) => +s.toFixed(4)),
    type: fitsInt16 ? 'int16' : 'float32',
    warnings: warnings.length,
  });
  return { volume: { geometry, data }, meta, slices, spacing, tiltDegrees, warnings };
}

type SopIds = Map<LoadedObject, { instance: string; klass: string }>;

/** SOP Instance / Class UIDs: from the data set, else the file meta, else derived from the bytes. */
function sopUids(images: LoadedObject[], policy: 'derive' | 'reject', warnings: string[]): SopIds {
  const sop: SopIds = new Map();
  let filledSop = 0;
  for (const o of images) {
    let instance = str(o.part.dataset, 'SOPInstanceUID');
    let klass = str(o.part.dataset, 'SOPClassUID');
    if (!instance || !klass) {
      if (policy === 'reject') throw missingUid(o.part.where, instance ? 'SOPClassUID' : 'SOPInstanceUID');
      instance ??= validOrUndefined(str(o.part.meta, 'MediaStorageSOPInstanceUID'));
      klass ??= validOrUndefined(str(o.part.meta, 'MediaStorageSOPClassUID'));
      if (!instance) instance = derivedUid(`nnsam:sop:${sha256(o.bytes)}`);
      if (!klass) {
        throw new NnsamError(
          'missing_uid',
          `${o.part.where}: SOPClassUID is empty in the data set and in the file meta information`,
        );
      }
      filledSop++;
    }
    sop.set(o, { instance, klass });
  }
  if (filledSop) {
    warnings.push(
      `${filledSop} image(s) had an empty SOPInstanceUID or SOPClassUID: filled from the file meta information ` +
        `(or derived from the file content)`,
    );
  }
  return sop;
}

/** The images of the series asked for, or of the only series there is ('' when its UID is empty). */
function chooseSeries(
  images: LoadedObject[],
  where: string,
  wanted: string | undefined,
): { seriesUid: string; members: LoadedObject[] } {
  // an empty SeriesInstanceUID forms its own group
  const groups = new Map<string, LoadedObject[]>();
  for (const o of images) {
    const uid = str(o.part.dataset, 'SeriesInstanceUID') ?? '';
    groups.set(uid, [...(groups.get(uid) ?? []), o]);
  }
  if (wanted) {
    if (!groups.has(wanted)) {
      throw new NnsamError(
        'series_not_found',
        `${where} holds no images of series ${wanted} (it holds ${describeGroups(groups)})`,
      );
    }
    return { seriesUid: wanted, members: groups.get(wanted)! };
  }
  if (groups.size > 1) {
    throw new NnsamError(
      'mixed_series',
      `${where} holds ${groups.size} image series: ${describeGroups(groups)}`,
      {
        hint: 'Choose one with --series-uid (or the seriesInstanceUID option), or put each series in its own folder.',
      },
    );
  }
  const [seriesUid, members] = [...groups.entries()][0]!;
  return { seriesUid, members };
}

interface SeriesUids {
  studyUid: string;
  seriesUid: string;
  forUid: string;
  derived: { attribute: string; uid: string }[];
}

/** Series, study and frame of reference UIDs, empty ones derived from the content (policy 'derive'). */
function seriesUids(
  members: LoadedObject[],
  givenSeriesUid: string,
  where: string,
  policy: 'derive' | 'reject',
  sop: SopIds,
  warnings: string[],
): SeriesUids {
  const derived: SeriesUids['derived'] = [];
  const first = members[0]!.part.dataset;
  let seriesUid = givenSeriesUid;
  if (!seriesUid) {
    if (policy === 'reject') throw missingUid(members[0]!.part.where, 'SeriesInstanceUID');
    const sops = members.map((m) => sop.get(m)!.instance).sort();
    seriesUid = derivedUid(`nnsam:series:${sops.join('\\')}`);
    derived.push({ attribute: 'SeriesInstanceUID', uid: seriesUid });
  }
  let studyUid = str(first, 'StudyInstanceUID');
  if (!studyUid) {
    if (policy === 'reject') throw missingUid(members[0]!.part.where, 'StudyInstanceUID');
    studyUid = derivedUid(`nnsam:study:${seriesUid}`);
    derived.push({ attribute: 'StudyInstanceUID', uid: studyUid });
  }
  const studyUids = new Set(members.map((m) => str(m.part.dataset, 'StudyInstanceUID') ?? ''));
  if (studyUids.size > 1) {
    throw new NnsamError(
      'mixed_series',
      `series ${seriesUid} in ${where} spans ${studyUids.size} studies (${[...studyUids].join(', ')})`,
    );
  }
  let forUid = str(first, 'FrameOfReferenceUID');
  if (!forUid) {
    if (policy === 'reject') throw missingUid(members[0]!.part.where, 'FrameOfReferenceUID');
    forUid = derivedUid(`nnsam:frame-of-reference:${seriesUid}`);
    derived.push({ attribute: 'FrameOfReferenceUID', uid: forUid });
  }
  for (const d of derived) {
    warnings.push(`${d.attribute} was empty: using ${d.uid}, derived from the content (policy 'derive')`);
  }
  return { studyUid, seriesUid, forUid, derived };
}

/**
 * Every frame with its geometry, checked: one SOP Instance UID (+ frame) each, one image size, grayscale, one
 * orientation and one pixel spacing.
 */
function checkedFrames(
  members: LoadedObject[],
  sop: SopIds,
): { frames: Frame[]; layout: ReturnType<typeof pixelLayout> } {
  const frames: Frame[] = [];
  for (const o of members) frames.push(...framesOf(o, sop.get(o)!));
  // labels and SEG frames find their slice by SOP Instance UID (+ frame): two images with one UID are ambiguous
  const byKey = new Map<string, Frame>();
  for (const f of frames) {
    const key = `${f.sopInstanceUID}#${f.frameNumber ?? 1}`;
    const other = byKey.get(key);
    if (other) {
      throw new NnsamError(
        'duplicate_uid',
        `${describeFrame(other)} and ${describeFrame(f)} have the same SOP Instance UID ${f.sopInstanceUID}`,
        {
          hint: 'Every image needs its own SOP Instance UID; the series holds a copied or mislabelled image.',
        },
      );
    }
    byKey.set(key, f);
  }
  const frame0 = frames[0]!;
  const layout = pixelLayout(members[0]!.part);
  for (const o of members) {
    const l = pixelLayout(o.part);
    if (l.rows !== layout.rows || l.columns !== layout.columns) {
      throw new NnsamError(
        'inconsistent_series',
        `${o.part.where} is ${l.columns}x${l.rows} but ${members[0]!.part.where} is ${layout.columns}x${layout.rows}`,
        { hint: 'The series mixes image sizes (e.g. a localizer); load the images of one stack only.' },
      );
    }
    if (l.samplesPerPixel !== 1) {
      throw new NnsamError(
        'unsupported_image',
        `${o.part.where} has ${l.samplesPerPixel} samples per pixel; only grayscale images are supported`,
      );
    }
  }
  for (const f of frames) {
    if (f.orientation.some((v, n) => Math.abs(v - frame0.orientation[n]!) > 1e-3)) {
      throw new NnsamError(
        'inconsistent_series',
        `${f.object.part.where} has ImageOrientationPatient ${fmt(f.orientation)}, ${frame0.object.part.where} ${fmt(frame0.orientation)}`,
        { hint: 'The series mixes image orientations (several stacks or localizers); load one stack.' },
      );
    }
    if (
      f.pixelSpacing.some((v, n) => Math.abs(v - frame0.pixelSpacing[n]!) > 1e-3 * frame0.pixelSpacing[n]!)
    ) {
      throw new NnsamError(
        'inconsistent_series',
        `${f.object.part.where} has PixelSpacing ${fmt(f.pixelSpacing)}, ${frame0.object.part.where} ${fmt(frame0.pixelSpacing)}`,
      );
    }
  }
  return { frames, layout };
}

interface SortedFrames {
  /** In slice order: along the slice normal */
  frames: Frame[];
  row: Vec3;
  col: Vec3;
  normal: Vec3;
  /** Each frame's position along the normal, and the gaps between neighbours (mm) */
  depth: number[];
  gaps: number[];
}

/** The frames sorted along the slice normal (row cosine x column cosine); two at one position are refused. */
function sortAlongNormal(frames: Frame[]): SortedFrames {
  const frame0 = frames[0]!;
  const row = normalize(frame0.orientation.slice(0, 3) as Vec3);
  const col = normalize(frame0.orientation.slice(3, 6) as Vec3);
  const normal = normalize(cross(row, col));
  const sorted = [...frames].sort((a, b) => dot(a.position, normal) - dot(b.position, normal));
  const depth = sorted.map((f) => dot(f.position, normal));
  const gaps = depth.slice(1).map((d, n) => d - depth[n]!);
  for (let n = 0; n < gaps.length; n++) {
    if (gaps[n]! < 1e-3) {
      const a = sorted[n]!;
      const b = sorted[n + 1]!;
      throw new NnsamError(
        'duplicate_slice_position',
        `${describeFrame(a)} and ${describeFrame(b)} lie at the same position (${fmt(a.position)})`,
        {
          hint: 'The series holds several volumes (time points, echoes or repeated acquisitions); split it.',
        },
      );
    }
  }
  return { frames: sorted, row, col, normal, depth, gaps };
}

/** The volume geometry of the sorted frames, their spacing and tilt; irregular spacing or tilt warned of. */
function seriesGeometry(
  sorted: SortedFrames,
  layout: ReturnType<typeof pixelLayout>,
  first: Dataset,
  warnings: string[],
): { geometry: Geometry; spacing: SliceSpacing; tiltDegrees: number } {
  const { frames, row, col, normal, depth, gaps } = sorted;
  const frame0 = frames[0]!;
  const nz = frames.length;
  const [sy, sx] = frame0.pixelSpacing as [number, number]; // PixelSpacing = row spacing \ column spacing
  let kDirection: Vec3;
  let kSpacing: number;
  if (nz > 1) {
    const a = frames[0]!.position;
    const b = frames[nz - 1]!.position;
    const span: Vec3 = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
    kSpacing = norm(span) / (nz - 1);
    kDirection = normalize(span);
  } else {
    kDirection = normal;
    kSpacing = num(first, 'SpacingBetweenSlices') ?? frame0.sliceThickness ?? 1;
  }
  const geometry: Geometry = {
    dims: [layout.columns, layout.rows, nz],
    spacing: [sx, sy, kSpacing],
    origin: [...frames[0]!.position] as Vec3,
    direction: [row, col, kDirection],
  };
  const tiltDegrees =
    nz > 1 ? (Math.acos(Math.min(1, Math.abs(dot(kDirection, normal)))) * 180) / Math.PI : 0;
  const meanGap = nz > 1 ? (depth[nz - 1]! - depth[0]!) / (nz - 1) : kSpacing;
  const minGap = gaps.length ? Math.min(...gaps) : meanGap;
  const maxGap = gaps.length ? Math.max(...gaps) : meanGap;
  const uniform = gaps.every((g) => Math.abs(g - meanGap) <= Math.max(0.01, 0.01 * meanGap));
  let maxPositionErrorMm = 0;
  frames.forEach((f, k) => {
    const p = voxelToPatient(geometry, 0, 0, k);
    maxPositionErrorMm = Math.max(
      maxPositionErrorMm,
      norm([p[0] - f.position[0], p[1] - f.position[1], p[2] - f.position[2]]),
    );
  });
  if (tiltDegrees > 0.01) {
    warnings.push(
      `gantry tilt of ${tiltDegrees.toFixed(2)} degrees: slices kept as acquired; the k axis follows the slice ` +
        'positions and is not orthogonal to the slices (NIfTI: sform only)',
    );
  }
  if (!uniform) {
    warnings.push(
      `uneven slice spacing: gaps from ${minGap.toFixed(3)} to ${maxGap.toFixed(3)} mm (mean ${meanGap.toFixed(3)}): ` +
        `slices kept as acquired (k = slice index); the volume geometry uses the mean spacing and puts some ` +
        `slices up to ${maxPositionErrorMm.toFixed(2)} mm from their real position (SEG objects use the real positions)`,
    );
  } else if (maxPositionErrorMm > 0.05) {
    warnings.push(
      `slice positions are not on one straight line (up to ${maxPositionErrorMm.toFixed(2)} mm off the volume grid)`,
    );
  }
  return {
    geometry,
    spacing: { mean: meanGap, min: minGap, max: maxGap, uniform, maxPositionErrorMm },
    tiltDegrees,
  };
}

/** The decoded pixels rescaled into one array: Int16Array when every value fits, Float32Array otherwise. */
async function rescaledPixels(
  members: LoadedObject[],
  frames: Frame[],
  layout: ReturnType<typeof pixelLayout>,
): Promise<{ data: Int16Array | Float32Array; fitsInt16: boolean }> {
  const stored = new Map<LoadedObject, StoredArray[]>();
  for (const o of members) stored.set(o, await storedFrames(o.part));
  const perSlice = layout.columns * layout.rows;
  const fitsInt16 = frames.every((f) => {
    if (f.slope !== 1 || !Number.isInteger(f.intercept)) return false;
    const values = stored.get(f.object)![f.frameIndex]!;
    let lo = Infinity;
    let hi = -Infinity;
    for (let n = 0; n < values.length; n++) {
      const v = values[n]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    return lo + f.intercept >= -32768 && hi + f.intercept <= 32767;
  });
  const data = fitsInt16
    ? new Int16Array(perSlice * frames.length)
    : new Float32Array(perSlice * frames.length);
  frames.forEach((f, k) => {
    const values = stored.get(f.object)![f.frameIndex]!;
    const base = k * perSlice;
    for (let n = 0; n < perSlice; n++) data[base + n] = values[n]! * f.slope + f.intercept;
  });
  return { data, fitsInt16 };
}

/** The series' metadata from its first image (the UIDs as chosen or derived). */
function seriesMeta(first: Dataset, uids: SeriesUids, frames: Frame[], members: LoadedObject[]): SeriesMeta {
  return {
    studyInstanceUID: uids.studyUid,
    seriesInstanceUID: uids.seriesUid,
    frameOfReferenceUID: uids.forUid,
    modality: str(first, 'Modality') ?? 'OT',
    seriesDescription: str(first, 'SeriesDescription'),
    seriesNumber: num(first, 'SeriesNumber'),
    patientName: str(first, 'PatientName'),
    patientID: str(first, 'PatientID'),
    patientBirthDate: str(first, 'PatientBirthDate'),
    patientSex: str(first, 'PatientSex'),
    studyDate: str(first, 'StudyDate'),
    studyTime: str(first, 'StudyTime'),
    studyID: str(first, 'StudyID'),
    studyDescription: str(first, 'StudyDescription'),
    accessionNumber: str(first, 'AccessionNumber'),
    referringPhysicianName: str(first, 'ReferringPhysicianName'),
    manufacturer: str(first, 'Manufacturer'),
    sliceThickness: frames.find((f) => f.sliceThickness !== undefined)?.sliceThickness,
    derivedUids: uids.derived,
    transferSyntaxes: [...new Set(members.map((m) => m.part.transferSyntaxUID))],
  };
}

/** The frames of one object with their position, orientation, spacing and rescale. */
function framesOf(o: LoadedObject, ids: { instance: string; klass: string }): Frame[] {
  const ds = o.part.dataset;
  const where = o.part.where;
  const perFrame = seq(ds, 'PerFrameFunctionalGroupsSequence');
  const shared = item(ds, 'SharedFunctionalGroupsSequence');
  const count = Math.max(1, num(ds, 'NumberOfFrames') ?? 1);
  if (count > 1 && perFrame.length !== count) {
    throw new NnsamError(
      'unsupported_image',
      `${where} is a multi-frame object with ${count} frames but ${perFrame.length} per-frame geometry items`,
      {
        hint: 'Only single-frame images and enhanced multi-frame objects (with per-frame positions) are supported.',
      },
    );
  }
  const legacyRescale = { slope: num(ds, 'RescaleSlope') ?? 1, intercept: num(ds, 'RescaleIntercept') ?? 0 };
  const frames: Frame[] = [];
  for (let f = 0; f < count; f++) {
    const groups = perFrame[f];
    const pick = (sequence: string) => item(groups, sequence) ?? item(shared, sequence);
    const position = nums(pick('PlanePositionSequence') ?? ds, 'ImagePositionPatient');
    const orientation = nums(pick('PlaneOrientationSequence') ?? ds, 'ImageOrientationPatient');
    const measures = pick('PixelMeasuresSequence') ?? ds;
    const pixelSpacing = nums(measures, 'PixelSpacing');
    const transform = pick('PixelValueTransformationSequence');
    const label = count > 1 ? `${where} frame ${f + 1}` : where;
    if (position.length !== 3 || position.some((v) => !Number.isFinite(v)))
      throw missingGeometry(label, 'ImagePositionPatient');
    if (orientation.length !== 6 || orientation.some((v) => !Number.isFinite(v)))
      throw missingGeometry(label, 'ImageOrientationPatient');
    if (pixelSpacing.length !== 2 || pixelSpacing.some((v) => !(v > 0)))
      throw missingGeometry(label, 'PixelSpacing');
    // a finite but absurd pixel size (1e308 mm) would overflow every extent computed from it downstream
    if (
      pixelSpacing.some((v) => !(v <= MAX_PIXEL_SPACING_MM)) ||
      Math.max(...position.map(Math.abs)) > MAX_POSITION_MM
    ) {
      throw new NnsamError(
        'implausible_geometry',
        `${label} has PixelSpacing ${fmt(pixelSpacing)} and ImagePositionPatient ${fmt(position)}: not a plausible geometry ` +
          `(pixels up to ${MAX_PIXEL_SPACING_MM} mm, positions within ${MAX_POSITION_MM} mm of the origin)`,
        { hint: 'The geometry attributes are corrupt; re-export the images from their source.' },
      );
    }
    frames.push({
      object: o,
      sopInstanceUID: ids.instance,
      sopClassUID: ids.klass,
      ...(count > 1 || perFrame.length ? { frameNumber: f + 1 } : {}),
      frameIndex: f,
      position: position as Vec3,
      orientation,
      pixelSpacing,
      slope: num(transform, 'RescaleSlope') ?? legacyRescale.slope,
      intercept: num(transform, 'RescaleIntercept') ?? legacyRescale.intercept,
      sliceThickness: num(measures, 'SliceThickness') ?? num(ds, 'SliceThickness'),
    });
  }
  return frames;
}

/** Bounds of a plausible patient geometry (mm): far beyond any scanner, far below float overflow. */
const MAX_PIXEL_SPACING_MM = 1000;
const MAX_POSITION_MM = 1e6;

function missingGeometry(where: string, attribute: string): NnsamError {
  return new NnsamError('missing_geometry', `${where} has no valid ${attribute}`, {
    hint: 'Only images with patient geometry (CT, MR, PET...) can become volumes.',
  });
}

function missingUid(where: string, attribute: string): NnsamError {
  return new NnsamError('missing_uid', `${where}: ${attribute} is empty`, {
    hint: 'Fill in the UIDs with a DICOM tool, or load with missingUids "derive" (CLI: --missing-uids derive).',
  });
}

function validOrUndefined(uid: string | undefined): string | undefined {
  return uid && isValidUid(uid) ? uid : undefined;
}

function describeGroups(groups: Map<string, LoadedObject[]>): string {
  return [...groups.entries()]
    .map(([uid, list]) => {
      const ds = list[0]!.part.dataset;
      const what = [str(ds, 'Modality'), str(ds, 'SeriesDescription')].filter(Boolean).join(' ');
      return `${uid || '(empty UID)'} (${list.length} image${list.length === 1 ? '' : 's'}${what ? `, ${what}` : ''})`;
    })
    .join('; ');
}

function describeFrame(f: Frame): string {
  return f.frameNumber !== undefined ? `${f.object.part.where} frame ${f.frameNumber}` : f.object.part.where;
}

function fmt(values: number[]): string {
  return values.map((v) => +v.toFixed(4)).join('\\');
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
