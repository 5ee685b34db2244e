/**
 * The viewer's labelmap (api/labelmap.ts: only the painted slices, keyed by SOP Instance UID and frame)
 * -> a label volume on the grid of the loaded series, plus the k indices the user actually labelled.
 * Slices are matched by UID, never by the viewer's slice order; a slice that is not an image of this series
 * is an error ("label on the wrong series"), as is any size mismatch or a damaged RLE stream.
 */
import { decodeLabelSlice, LabelmapPayload } from '../api/labelmap.js';
import { NnsamError } from '../util/errors.js';
import type { Volume } from '../volume/index.js';
import type { DicomSeries } from './series.js';

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

export function labelmapToVolume(payload: unknown, series: DicomSeries): LabelmapVolume {
  const parsed = LabelmapPayload.safeParse(payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new NnsamError(
      'invalid_labelmap',
      `labelmap: ${issue.path.join('.') || 'payload'}: ${issue.message}`,
    );
  }
  const p = parsed.data;
  const seriesUid = series.meta.seriesInstanceUID;
  if (p.seriesInstanceUID !== seriesUid) {
    throw new NnsamError(
      'label_on_wrong_series',
      `the labelmap was painted on series ${p.seriesInstanceUID} but the loaded series is ${seriesUid}`,
    );
  }
  const [nx, ny, nz] = series.volume.geometry.dims;
  if (p.rows !== ny || p.columns !== nx) {
    throw new NnsamError(
      'labelmap_shape_mismatch',
      `the labelmap slices are ${p.columns}x${p.rows} (columns x rows) but the images of series ${seriesUid} are ${nx}x${ny}`,
    );
  }
  const index = sliceIndex(series);
  const perSlice = nx * ny;
  const data = new Uint8Array(perSlice * nz);
  const labelled = new Set<number>();
  for (const slice of p.slices) {
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
      values = decodeLabelSlice(slice.labels, perSlice);
    } catch (e) {
      throw new NnsamError('invalid_labelmap', `label slice ${name}: ${(e as Error).message}`);
    }
    data.set(values, k * perSlice);
    labelled.add(k);
  }
  return {
    labels: { geometry: structuredClone(series.volume.geometry), data },
    labelledSlices: [...labelled].sort((a, b) => a - b),
    segments: (p.segments ?? []).map((s) => ({ labelValue: s.labelValue, label: s.label })),
  };
}
