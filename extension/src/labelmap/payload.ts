/**
 * Turns painted slices into the LabelmapPayload the server takes: keeps only slices with at least one
 * labelled pixel or marked as showing none of the classes (a negative: all 0, sent as labelled), checks that every slice has the series' size and 0..255 labels, RLE-encodes each with
 * the contract's encoder and names the label values that occur. Pure: no OHIF, testable in Node.
 * The contract's limits are checked here by hand (its zod schema stays out of the viewer bundle); the
 * unit test checks every payload against the schema itself.
 */
import type { LabelmapPayload } from '@nnsam/server/api';
import { encodeLabelSlice, LABELMAP_ENCODING, LABELMAP_LIMITS } from '@nnsam/server/api/labelmap-codec';

import { ViewerError } from '../errors.js';

export interface PaintedSlice {
  sopInstanceUID: string;
  /** 1-based, only for frames of a multi-frame instance */
  frameNumber?: number;
  rows: number;
  columns: number;
  /** rows x columns label values, row-major */
  labels: ArrayLike<number>;
  /** The user said this slice shows none of the classes: it is sent even though every value is 0. */
  negative?: boolean;
}

export interface PayloadInput {
  studyInstanceUID: string;
  seriesInstanceUID: string;
  slices: PaintedSlice[];
  /** names of the label values (segment index -> label), e.g. from OHIF's segmentation */
  segmentNames?: Record<number, string>;
}

export function hasLabels(labels: ArrayLike<number>): boolean {
  for (let n = 0; n < labels.length; n++) if (labels[n] !== 0) return true;
  return false;
}

export function buildLabelmapPayload(input: PayloadInput): LabelmapPayload {
  const labelled = input.slices.filter((s) => s.negative || hasLabels(s.labels));
  for (const s of labelled) {
    if (s.negative && hasLabels(s.labels)) {
      throw new ViewerError(
        'bad_labelmap',
        `Slice ${s.sopInstanceUID} is marked as showing none of the classes but carries labels.`,
        { hint: 'Erase its labels, or add it as a labelled slice instead.' },
      );
    }
  }
  if (!labelled.length) {
    throw new ViewerError('no_labels', `No slice of series ${input.seriesInstanceUID} carries labels.`, {
      hint: 'Paint at least one slice with the Labelmap segmentation tools (brush), then try again.',
    });
  }
  const { rows, columns } = labelled[0]!;
  const seen = new Set<string>();
  const values = new Set<number>();
  const slices = labelled.map((s) => {
    const where = s.frameNumber ? `${s.sopInstanceUID} frame ${s.frameNumber}` : s.sopInstanceUID;
    if (s.rows !== rows || s.columns !== columns) {
      throw new ViewerError(
        'mixed_slice_sizes',
        `Slice ${where} is ${s.columns}x${s.rows} but the other labelled slices are ${columns}x${rows}.`,
        { hint: 'Label slices of one series only.' },
      );
    }
    if (s.labels.length !== rows * columns) {
      throw new ViewerError(
        'bad_labelmap',
        `The labelmap of slice ${where} has ${s.labels.length} values, expected ${rows}x${columns}.`,
      );
    }
    const key = `${s.sopInstanceUID}#${s.frameNumber ?? 0}`;
    if (seen.has(key)) throw new ViewerError('bad_labelmap', `Slice ${where} appears twice in the labelmap.`);
    seen.add(key);
    for (let n = 0; n < s.labels.length; n++) {
      const v = s.labels[n]!;
      if (v !== 0) values.add(v);
    }
    for (const v of values) {
      if (!Number.isInteger(v) || v < 0 || v > 255) {
        throw new ViewerError(
          'bad_labelmap',
          `Slice ${where} holds label value ${v}; values must be 1..255.`,
          {
            hint: 'Use at most 255 segments.',
          },
        );
      }
    }
    return {
      sopInstanceUID: s.sopInstanceUID,
      ...(s.frameNumber ? { frameNumber: s.frameNumber } : {}),
      labels: encodeLabelSlice(s.labels),
    };
  });
  const segments = [...values]
    .sort((a, b) => a - b)
    .map((labelValue) => ({
      labelValue,
      label: (input.segmentNames?.[labelValue]?.trim() || `Segment ${labelValue}`).slice(
        0,
        LABELMAP_LIMITS.maxLabelLength,
      ),
    }));
  const problem = limitProblem(input, rows, columns, slices, segments.length);
  if (problem) {
    const l = LABELMAP_LIMITS;
    throw new ViewerError('bad_labelmap', `The labelmap cannot be sent: it has ${problem}.`, {
      hint: `Labels are limited to ${l.maxSlices} slices of at most ${l.maxSide}x${l.maxSide} pixels and ${l.maxSegments} segments.`,
    });
  }
  return {
    encoding: LABELMAP_ENCODING,
    studyInstanceUID: input.studyInstanceUID,
    seriesInstanceUID: input.seriesInstanceUID,
    rows,
    columns,
    slices,
    segments,
  };
}

/** What breaks the contract's limits (LABELMAP_LIMITS), in words; undefined when nothing does. */
function limitProblem(
  input: PayloadInput,
  rows: number,
  columns: number,
  slices: Array<{ sopInstanceUID: string }>,
  segmentCount: number,
): string | undefined {
  const l = LABELMAP_LIMITS;
  if (rows > l.maxSide || columns > l.maxSide)
    return `slices of ${columns}x${rows} pixels (at most ${l.maxSide} per side)`;
  if (slices.length > l.maxSlices) return `${slices.length} labelled slices (at most ${l.maxSlices})`;
  if (segmentCount > l.maxSegments) return `${segmentCount} label values (at most ${l.maxSegments})`;
  const uids = [input.studyInstanceUID, input.seriesInstanceUID, ...slices.map((x) => x.sopInstanceUID)];
  const bad = uids.find((uid) => !uid || uid.length > l.maxUidLength);
  if (bad !== undefined)
    return `the UID "${bad}", which is empty or longer than ${l.maxUidLength} characters`;
  return undefined;
}
