/**
 * Painted slices -> a label volume on the grid of the loaded series, plus the k indices the user actually
 * labelled. Slices are matched by SOP Instance UID (and frame), never by the viewer's slice order; a slice
 * that is not an image of this series is an error ("label on the wrong series"), as is any size mismatch or a
 * slice whose values cannot be read. The HTTP wire form (api/labelmap.ts, RLE + base64) is decoded by the
 * services (services/labelmap.ts), not here: this module knows slices and values only.
 */
import { NnsamError } from '../util/errors.js';
import type { Volume } from '../volume/index.js';
import type { DicomSeries } from './series.js';

/** One painted slice: the image it was painted on and its rows x columns label values (row-major). */
export interface PaintedSlice {
  sopInstanceUID: string;
  /** 1-based frame number inside a multi-frame instance; absent for single-frame images. */
  frameNumber?: number;
  /**
   * The slice's label values, `length` of them; called once the slice is placed on the series (so a slice on
   * the wrong series is named as such before its values are read). Throws (any Error) when they cannot be read.
   */
  values(length: number): Uint8Array;
}

/** The slices painted on one series, with the names the painter gave its label values. */
export interface PaintedSlices {
  seriesInstanceUID: string;
  rows: number;
  columns: number;
  slices: PaintedSlice[];
  segments: { labelValue: number; label: string }[];
}

export interface LabelmapVolume {
  /** Label value per voxel (0 on every slice that was not labelled). */
  labels: Volume<Uint8Array>;
  /** Sorted k indices of the labelled slices; every other slice is unlabelled, not background. */
  labelledSlices: number[];
  /** Names the viewer gave its label values, when it sent them. */
  segments: { labelValue: number; label: string }[];
}

/** Key of a slice: SOP Instance UID, plus the frame number for multi-frame objects. */
export function sliceKey(sopInstanceUID: string, frameNumber?: number): string {
  return frameNumber === undefined ? sopInstanceUID : `${sopInstanceUID}#${frameNumber}`;
}

/** Map from slice key to k; single-frame images also answer to frame number 1. */
export function sliceIndex(series: DicomSeries): Map<string, number> {
  const index = new Map<string, number>();
  series.slices.forEach((s, k) => {
    index.set(sliceKey(s.sopInstanceUID, s.frameNumber), k);
    if (s.frameNumber === undefined) index.set(sliceKey(s.sopInstanceUID, 1), k);
  });
  return index;
}

export function paintedSlicesToVolume(painted: PaintedSlices, series: DicomSeries): LabelmapVolume {
  const seriesUid = series.meta.seriesInstanceUID;
  if (painted.seriesInstanceUID !== seriesUid) {
    throw new NnsamError(
      'label_on_wrong_series',
      `the labelmap was painted on series ${painted.seriesInstanceUID} but the loaded series is ${seriesUid}`,
    );
  }
  const [nx, ny, nz] = series.volume.geometry.dims;
  if (painted.rows !== ny || painted.columns !== nx) {
    throw new NnsamError(
      'labelmap_shape_mismatch',
      `the labelmap slices are ${painted.columns}x${painted.rows} (columns x rows) but the images of series ${seriesUid} are ${nx}x${ny}`,
    );
  }
  const index = sliceIndex(series);
  const perSlice = nx * ny;
  const data = new Uint8Array(perSlice * nz);
  const labelled = new Set<number>();
  for (const slice of painted.slices) {
    const key = sliceKey(slice.sopInstanceUID, slice.frameNumber);
    const k = index.get(key);
    const name = slice.frameNumber
      ? `${slice.sopInstanceUID} frame ${slice.frameNumber}`
      : slice.sopInstanceUID;
    if (k === undefined) {
      const multiFrame = series.slices.some((s) => s.sopInstanceUID === slice.sopInstanceUID);
      throw new NnsamError(
        'label_on_wrong_series',
        multiFrame
          ? `label slice ${name} needs a frame number of multi-frame instance ${slice.sopInstanceUID} of series ${seriesUid}`
          : `label on the wrong series: SOP Instance ${name} is not an image of series ${seriesUid}`,
      );
    }
    if (labelled.has(k)) {
      throw new NnsamError('invalid_labelmap', `the labelmap holds slice ${name} (k = ${k}) twice`);
    }
    let values: Uint8Array;
    try {
      values = slice.values(perSlice);
    } catch (e) {
      throw new NnsamError('invalid_labelmap', `label slice ${name}: ${(e as Error).message}`);
    }
    if (values.length !== perSlice) {
      throw new NnsamError(
        'invalid_labelmap',
        `label slice ${name}: ${values.length} values, expected ${perSlice}`,
      );
    }
    data.set(values, k * perSlice);
    labelled.add(k);
  }
  return {
    labels: { geometry: structuredClone(series.volume.geometry), data },
    labelledSlices: [...labelled].sort((a, b) => a - b),
    segments: painted.segments.map((s) => ({ labelValue: s.labelValue, label: s.label })),
  };
}
