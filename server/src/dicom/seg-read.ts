/**
 * DICOM SEG -> label volume on the grid of its source series. Reads BINARY, FRACTIONAL and LABELMAP
 * segmentations, in the Segmentation Storage and the Label Map Segmentation Storage SOP classes.
 *
 * Frames are matched to slices by the SOP Instance UID (and frame number) their derivation sequence
 * references; a frame without a usable reference is matched by ImagePositionPatient instead. A SEG whose
 * frames match no slice of the series ("references another series") is refused, and so is a SEG whose
 * pixel grid differs from the series (nothing is resampled).
 *
 * One label per voxel: label value = segment number. Where segments overlap, the higher segment number
 * wins (independent of frame order); every segment's own mask stays available through segmentMask().
 * FRACTIONAL frames count as foreground where value / MaximumFractionalValue >= 0.5 (option).
 */
import { NnsamError } from '../util/errors.js';
import { cross, dot, norm, normalize, type Vec3, type Volume } from '../volume/index.js';
import { dicomLabToRgb } from './classes.js';
import type { CodedConcept } from './codes.js';
import { sliceIndex, sliceKey } from './labelmap.js';
import { item, num, nums, parsePart10, seq, str, type Dataset, type Part10 } from './part10.js';
import { pixelLayout, storedFrames } from './pixel-data.js';
import type { DicomSeries } from './series.js';

export const SEG_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.66.4';
export const LABELMAP_SEG_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.66.7';

export type SegmentationType = 'BINARY' | 'FRACTIONAL' | 'LABELMAP';

export interface SegmentDescription {
  segmentNumber: number;
  label: string;
  description?: string;
  algorithmType?: string;
  algorithmName?: string;
  category?: CodedConcept;
  type?: CodedConcept;
  typeModifier?: CodedConcept;
  /** sRGB from RecommendedDisplayCIELabValue */
  color?: [number, number, number];
}

export interface SegFrame {
  /** 0-based frame index in the SEG */
  index: number;
  /** ReferencedSegmentNumber (absent for LABELMAP frames, which carry segment numbers as pixel values) */
  segmentNumber?: number;
  refs: { sopInstanceUID: string; frameNumber?: number }[];
  position?: Vec3;
  /** Stored values: 0/1 for BINARY, 0..MaximumFractionalValue for FRACTIONAL, segment numbers for LABELMAP */
  pixels: ArrayLike<number>;
}

/** A SEG read on its own, without its source series. */
export interface ParsedSeg {
  part: Part10;
  sopClassUID: string;
  sopInstanceUID: string;
  seriesInstanceUID: string;
  studyInstanceUID?: string;
  frameOfReferenceUID?: string;
  segmentationType: SegmentationType;
  maximumFractionalValue?: number;
  rows: number;
  columns: number;
  orientation?: number[];
  pixelSpacing?: number[];
  pixelPaddingValue?: number;
  referencedSeriesUIDs: string[];
  segments: SegmentDescription[];
  frames: SegFrame[];
}

export interface SegmentSummary extends SegmentDescription {
  /** The value this segment has in `labels` (= segment number). */
  labelValue: number;
  frameCount: number;
  /** Voxels of this segment (counted before overlaps are resolved). */
  voxelCount: number;
}

export interface SegReadResult {
  labels: Volume<Uint8Array | Uint16Array>;
  segments: SegmentSummary[];
  /** Sorted k indices of the slices at least one SEG frame refers to. */
  labelledSlices: number[];
  segmentationType: SegmentationType;
  /** Voxels claimed by more than one segment (resolved in favour of the higher segment number). */
  overlapVoxels: number;
  /** How frames were matched to slices. */
  matchedBy: { reference: number; position: number };
  sopInstanceUID: string;
  seriesInstanceUID: string;
  warnings: string[];
  /** The exact mask (0/1) of one segment on the series grid. */
  segmentMask(segmentNumber: number): Volume<Uint8Array>;
}

export interface ReadSegOptions {
  where?: string;
  /** FRACTIONAL: foreground where value / MaximumFractionalValue >= this (default 0.5). */
  fractionalThreshold?: number;
}

/** Parses a SEG object (any of the two SOP classes) without needing its source images. */
export async function parseSeg(bytes: Uint8Array | Part10, where = 'SEG'): Promise<ParsedSeg> {
  const part = bytes instanceof Uint8Array ? parsePart10(bytes, where) : bytes;
  const ds = part.dataset;
  const sopClassUID = str(ds, 'SOPClassUID') ?? '';
  if (sopClassUID !== SEG_SOP_CLASS && sopClassUID !== LABELMAP_SEG_SOP_CLASS) {
    throw new NnsamError(
      'not_a_seg',
      `${part.where} is not a DICOM Segmentation (SOP Class ${sopClassUID || 'missing'}, modality ${str(ds, 'Modality') ?? '?'})`,
    );
  }
  const type = (str(ds, 'SegmentationType') ?? '') as SegmentationType;
  if (!['BINARY', 'FRACTIONAL', 'LABELMAP'].includes(type)) {
    throw new NnsamError(
      'invalid_seg',
      `${part.where}: SegmentationType "${type}" is not BINARY, FRACTIONAL or LABELMAP`,
    );
  }
  const layout = pixelLayout(part);
  const shared = item(ds, 'SharedFunctionalGroupsSequence');
  const perFrame = seq(ds, 'PerFrameFunctionalGroupsSequence');
  if (perFrame.length !== layout.numberOfFrames) {
    throw new NnsamError(
      'invalid_seg',
      `${part.where} has ${layout.numberOfFrames} frames but ${perFrame.length} per-frame functional group items`,
    );
  }
  const pixels = await storedFrames(part, layout);
  const frames: SegFrame[] = perFrame.map((groups, index) => {
    const pick = (name: string) => item(groups, name) ?? item(shared, name);
    const refs: SegFrame['refs'] = [];
    for (const derivation of seq(groups, 'DerivationImageSequence')) {
      for (const source of seq(derivation, 'SourceImageSequence')) {
        const uid = str(source, 'ReferencedSOPInstanceUID');
        if (!uid) continue;
        const frameNumbers = nums(source, 'ReferencedFrameNumber');
        if (frameNumbers.length)
          frameNumbers.forEach((f) => refs.push({ sopInstanceUID: uid, frameNumber: f }));
        else refs.push({ sopInstanceUID: uid });
      }
    }
    const position = nums(pick('PlanePositionSequence'), 'ImagePositionPatient');
    const segmentNumber = num(pick('SegmentIdentificationSequence'), 'ReferencedSegmentNumber');
    return {
      index,
      ...(segmentNumber !== undefined ? { segmentNumber } : {}),
      refs,
      ...(position.length === 3 && !position.some(Number.isNaN) ? { position: position as Vec3 } : {}),
      pixels: pixels[index]!,
    };
  });
  if (type !== 'LABELMAP') {
    const missing = frames.find((f) => f.segmentNumber === undefined);
    if (missing)
      throw new NnsamError('invalid_seg', `${part.where}: frame ${missing.index + 1} names no segment`);
  }
  const orientation = nums(
    item(shared, 'PlaneOrientationSequence') ?? item(perFrame[0], 'PlaneOrientationSequence'),
    'ImageOrientationPatient',
  );
  const pixelSpacing = nums(
    item(shared, 'PixelMeasuresSequence') ?? item(perFrame[0], 'PixelMeasuresSequence'),
    'PixelSpacing',
  );
  return {
    part,
    sopClassUID,
    sopInstanceUID: str(ds, 'SOPInstanceUID') ?? '',
    seriesInstanceUID: str(ds, 'SeriesInstanceUID') ?? '',
    studyInstanceUID: str(ds, 'StudyInstanceUID'),
    frameOfReferenceUID: str(ds, 'FrameOfReferenceUID'),
    segmentationType: type,
    maximumFractionalValue: num(ds, 'MaximumFractionalValue'),
    rows: layout.rows,
    columns: layout.columns,
    ...(orientation.length === 6 ? { orientation } : {}),
    ...(pixelSpacing.length === 2 ? { pixelSpacing } : {}),
    pixelPaddingValue: num(ds, 'PixelPaddingValue'),
    referencedSeriesUIDs: seq(ds, 'ReferencedSeriesSequence')
      .map((s) => str(s, 'SeriesInstanceUID'))
      .filter((u): u is string => !!u),
    segments: seq(ds, 'SegmentSequence').map(describeSegment),
    frames,
  };
}

function describeSegment(s: Dataset): SegmentDescription {
  const code = (d: Dataset | undefined): CodedConcept | undefined =>
    d && str(d, 'CodeValue')
      ? {
          value: str(d, 'CodeValue')!,
          scheme: str(d, 'CodingSchemeDesignator') ?? '',
          meaning: str(d, 'CodeMeaning') ?? '',
        }
      : undefined;
  const typeItem = item(s, 'SegmentedPropertyTypeCodeSequence');
  const lab = nums(s, 'RecommendedDisplayCIELabValue');
  const out: SegmentDescription = {
    segmentNumber: num(s, 'SegmentNumber') ?? 0,
    label: str(s, 'SegmentLabel') ?? '',
  };
  const set = <K extends keyof SegmentDescription>(k: K, v: SegmentDescription[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set('description', str(s, 'SegmentDescription'));
  set('algorithmType', str(s, 'SegmentAlgorithmType'));
  set('algorithmName', str(s, 'SegmentAlgorithmName'));
  set('category', code(item(s, 'SegmentedPropertyCategoryCodeSequence')));
  set('type', code(typeItem));
  set(
    'typeModifier',
    code(
      item(typeItem, 'SegmentedPropertyTypeModifierCodeSequence') ??
        item(s, 'SegmentedPropertyTypeModifierCodeSequence'),
    ),
  );
  set('color', lab.length === 3 ? dicomLabToRgb(lab) : undefined);
  return out;
}

/**
 * Reads a SEG onto the grid of `series` (see the module comment for the rules), in stages: the grids
 * compared, each frame matched to a slice, the segments painted into one label volume.
 */
export async function readSeg(
  bytes: Uint8Array | ParsedSeg,
  series: DicomSeries,
  options: ReadSegOptions = {},
): Promise<SegReadResult> {
  const seg = bytes instanceof Uint8Array ? await parseSeg(bytes, options.where ?? 'SEG') : bytes;
  const where = seg.part.where;
  const warnings: string[] = [];
  const g = series.volume.geometry;
  const [nx, ny, nz] = g.dims;
  const perSlice = nx * ny;
  checkSegGrid(seg, series);
  const { frameSlice, matchedBy } = matchFrames(seg, series, warnings);
  const { data, masks, segments, overlapVoxels, labelled } = paintSegments(
    seg,
    frameSlice,
    perSlice * nz,
    perSlice,
    options.fractionalThreshold ?? 0.5,
    warnings,
  );
  if (seg.frameOfReferenceUID && seg.frameOfReferenceUID !== series.meta.frameOfReferenceUID) {
    warnings.push(
      `the SEG's frame of reference ${seg.frameOfReferenceUID} differs from the series' (frames matched by reference)`,
    );
  }
  const geometry = structuredClone(g);
  return {
    labels: { geometry, data },
    segments: [...segments.values()].sort((a, b) => a.segmentNumber - b.segmentNumber),
    labelledSlices: [...labelled].sort((a, b) => a - b),
    segmentationType: seg.segmentationType,
    overlapVoxels,
    matchedBy,
    sopInstanceUID: seg.sopInstanceUID,
    seriesInstanceUID: seg.seriesInstanceUID,
    warnings,
    segmentMask(segmentNumber: number): Volume<Uint8Array> {
      if (!segments.has(segmentNumber))
        throw new NnsamError('unknown_segment', `${where} has no segment ${segmentNumber}`);
      const out = new Uint8Array(perSlice * nz);
      if (seg.segmentationType === 'LABELMAP') {
        for (let n = 0; n < out.length; n++) out[n] = data[n] === segmentNumber ? 1 : 0;
      } else {
        for (const [k, mask] of masks.get(segmentNumber) ?? []) out.set(mask, k * perSlice);
      }
      return { geometry: structuredClone(g), data: out };
    },
  };
}

/** The SEG's frames must have the series' size, orientation and pixel spacing. */
function checkSegGrid(seg: ParsedSeg, series: DicomSeries): void {
  const where = seg.part.where;
  const g = series.volume.geometry;
  const [nx, ny] = g.dims;
  const seriesUid = series.meta.seriesInstanceUID;
  if (seg.rows !== ny || seg.columns !== nx) {
    throw new NnsamError(
      'seg_grid_mismatch',
      `${where} frames are ${seg.columns}x${seg.rows} but the images of series ${seriesUid} are ${nx}x${ny}`,
      { hint: 'The SEG was made on other images (or a resampled grid); load its own source series.' },
    );
  }
  const seriesIop = [...g.direction[0], ...g.direction[1]];
  if (seg.orientation && seg.orientation.some((v, n) => Math.abs(v - seriesIop[n]!) > 1e-3)) {
    throw new NnsamError(
      'seg_grid_mismatch',
      `${where} has ImageOrientationPatient ${seg.orientation.join('\\')} but series ${seriesUid} has ${seriesIop.map((v) => +v.toFixed(6)).join('\\')}`,
    );
  }
  if (seg.pixelSpacing) {
    const [row, col] = seg.pixelSpacing as [number, number];
    if (
      Math.abs(row - g.spacing[1]) > 1e-3 * g.spacing[1] ||
      Math.abs(col - g.spacing[0]) > 1e-3 * g.spacing[0]
    ) {
      throw new NnsamError(
        'seg_grid_mismatch',
        `${where} has PixelSpacing ${row}\\${col} but series ${seriesUid} has ${g.spacing[1]}\\${g.spacing[0]}`,
      );
    }
  }
}

/**
 * The slice of every frame (index in `seg.frames` -> k): by its referenced image (SOP Instance UID + frame),
 * else by position in the same frame of reference; a frame that matches no slice is refused.
 */
function matchFrames(
  seg: ParsedSeg,
  series: DicomSeries,
  warnings: string[],
): { frameSlice: number[]; matchedBy: { reference: number; position: number } } {
  const where = seg.part.where;
  const g = series.volume.geometry;
  const seriesUid = series.meta.seriesInstanceUID;
  const index = sliceIndex(series);
  const normal = normalize(cross(g.direction[0], g.direction[1]));
  const gaps = series.slices
    .slice(1)
    .map((s, k) => dot(s.position, normal) - dot(series.slices[k]!.position, normal));
  const tolerance = Math.max(
    0.01,
    0.5 * Math.min(g.spacing[0], g.spacing[1], ...(gaps.length ? gaps : [Infinity])),
  );
  const byPosition = (p: Vec3): number | undefined => {
    let best: number | undefined;
    let bestDistance = Infinity;
    series.slices.forEach((s, k) => {
      const d = norm([p[0] - s.position[0], p[1] - s.position[1], p[2] - s.position[2]]);
      if (d < bestDistance) {
        bestDistance = d;
        best = k;
      }
    });
    return bestDistance <= tolerance ? best : undefined;
  };
  const frameSlice: number[] = [];
  const matchedBy = { reference: 0, position: 0 };
  const unmatched: SegFrame[] = [];
  let positionDisagreements = 0;
  for (const f of seg.frames) {
    let k: number | undefined;
    for (const r of f.refs) {
      k = index.get(sliceKey(r.sopInstanceUID, r.frameNumber));
      if (k !== undefined) break;
    }
    if (k !== undefined) {
      matchedBy.reference++;
      if (f.position && byPosition(f.position) !== k) positionDisagreements++;
    } else if (f.position && (k = byPosition(f.position)) !== undefined) {
      matchedBy.position++;
    } else {
      unmatched.push(f);
    }
    frameSlice.push(k ?? -1);
  }
  if (unmatched.length) {
    const refSeries = seg.referencedSeriesUIDs.length ? seg.referencedSeriesUIDs.join(', ') : 'no series';
    if (unmatched.length === seg.frames.length && seg.referencedSeriesUIDs.includes(seriesUid)) {
      // it claims this series, but its frames point at images the series does not hold
      const f = unmatched[0]!;
      throw new NnsamError(
        'seg_wrong_series',
        `${where} references series ${seriesUid}, but none of its ${seg.frames.length} frame(s) matches an image ` +
          `of it by SOP Instance UID or position: frame 1 references ` +
          `${f.refs.map((r) => r.sopInstanceUID).join(', ') || 'nothing'}, which the series does not hold`,
        {
          hint: 'The series is incomplete in the PACS, or the SEG was made on other images; check both.',
        },
      );
    }
    if (unmatched.length === seg.frames.length) {
      throw new NnsamError(
        'seg_wrong_series',
        `${where} does not belong to series ${seriesUid}: it references ${refSeries} and none of its ` +
          `${seg.frames.length} frame(s) matches an image of the series by SOP Instance UID or position`,
        { hint: 'Load the series the SEG was made on (its Referenced Series Sequence names it).' },
      );
    }
    const f = unmatched[0]!;
    throw new NnsamError(
      'seg_wrong_series',
      `${where}: ${unmatched.length} of ${seg.frames.length} frames match no image of series ${seriesUid}; frame ${f.index + 1} ` +
        `references ${f.refs.map((r) => r.sopInstanceUID).join(', ') || 'nothing'}` +
        (f.position ? ` at position ${f.position.map((v) => +v.toFixed(3)).join('\\')}` : ''),
      {
        hint: 'The SEG references images that are not in this series (another series or an incomplete one).',
      },
    );
  }
  if (
    matchedBy.position &&
    seg.frameOfReferenceUID &&
    seg.frameOfReferenceUID !== series.meta.frameOfReferenceUID
  ) {
    throw new NnsamError(
      'seg_wrong_series',
      `${where} is in frame of reference ${seg.frameOfReferenceUID} but series ${seriesUid} is in ${series.meta.frameOfReferenceUID}: ` +
        'its frames cannot be placed by position',
    );
  }
  if (matchedBy.position) {
    warnings.push(
      `${matchedBy.position} frame(s) had no reference to an image of the series and were placed by position`,
    );
  }
  if (positionDisagreements) {
    warnings.push(
      `${positionDisagreements} frame(s) reference a slice whose position differs from the frame's ImagePositionPatient; ` +
        'the reference was used',
    );
  }
  return { frameSlice, matchedBy };
}

/**
 * The segments painted into one label volume (value = segment number; where segments overlap, the higher
 * number), with each BINARY / FRACTIONAL segment's masks kept for segmentMask.
 */
function paintSegments(
  seg: ParsedSeg,
  frameSlice: number[],
  voxels: number,
  perSlice: number,
  threshold: number,
  warnings: string[],
): {
  data: Uint8Array | Uint16Array;
  masks: Map<number, Map<number, Uint8Array>>;
  segments: Map<number, SegmentSummary>;
  overlapVoxels: number;
  labelled: Set<number>;
} {
  const where = seg.part.where;
  const segments = new Map<number, SegmentSummary>();
  for (const d of seg.segments) {
    if (seg.segmentationType === 'LABELMAP' && d.segmentNumber === 0) continue; // the background segment
    segments.set(d.segmentNumber, { ...d, labelValue: d.segmentNumber, frameCount: 0, voxelCount: 0 });
  }
  const maxSegment = Math.max(0, ...segments.keys());
  const data = maxSegment > 255 ? new Uint16Array(voxels) : new Uint8Array(voxels);
  const masks = new Map<number, Map<number, Uint8Array>>(); // segment -> k -> mask
  let overlapVoxels = 0;
  const labelled = new Set<number>();
  const maxFractional = seg.maximumFractionalValue ?? 255;
  let unknownSegmentPixels = 0;

  seg.frames.forEach((f, n) => {
    const k = frameSlice[n]!;
    labelled.add(k);
    const base = k * perSlice;
    if (seg.segmentationType === 'LABELMAP') {
      for (let p = 0; p < perSlice; p++) {
        let v = f.pixels[p]!;
        if (v === seg.pixelPaddingValue) v = 0;
        if (v !== 0 && !segments.has(v)) {
          unknownSegmentPixels++;
          v = 0;
        }
        if (v !== 0) {
          if (data[base + p] !== 0 && data[base + p] !== v) overlapVoxels++;
          data[base + p] = v;
          segments.get(v)!.voxelCount++;
        }
      }
      for (const s of segments.values()) s.frameCount++;
      return;
    }
    const s = f.segmentNumber!;
    const summary = segments.get(s);
    if (!summary)
      throw new NnsamError(
        'invalid_seg',
        `${where}: frame ${f.index + 1} names segment ${s}, which the SEG does not describe`,
      );
    summary.frameCount++;
    let mask = masks.get(s)?.get(k);
    if (!mask) {
      mask = new Uint8Array(perSlice);
      if (!masks.has(s)) masks.set(s, new Map());
      masks.get(s)!.set(k, mask);
    }
    const cut = seg.segmentationType === 'FRACTIONAL' ? threshold * maxFractional : 0.5;
    for (let p = 0; p < perSlice; p++) {
      if (f.pixels[p]! >= cut && f.pixels[p]! > 0) mask[p] = 1;
    }
  });
  // Resolve overlaps: segments in ascending number, so the higher one overwrites.
  for (const s of [...masks.keys()].sort((a, b) => a - b)) {
    for (const [k, mask] of masks.get(s)!) {
      const base = k * perSlice;
      let count = 0;
      for (let p = 0; p < perSlice; p++) {
        if (!mask[p]) continue;
        count++;
        if (data[base + p] !== 0) overlapVoxels++;
        data[base + p] = s;
      }
      segments.get(s)!.voxelCount += count;
    }
  }
  if (overlapVoxels) {
    warnings.push(
      `${overlapVoxels} voxel(s) belong to more than one segment: the higher segment number was kept in the label volume`,
    );
  }
  if (unknownSegmentPixels) {
    warnings.push(
      `${unknownSegmentPixels} LABELMAP pixel(s) hold a value that names no segment: read as background`,
    );
  }
  return { data, masks, segments, overlapVoxels, labelled };
}
