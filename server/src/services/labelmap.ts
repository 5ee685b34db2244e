/**
 * The viewer's labelmap as it crosses HTTP (api/labelmap.ts: only the painted slices, keyed by SOP Instance
 * UID and frame, RLE + base64) -> a label volume on the loaded series. This module owns the wire decoding
 * (schema check, RLE); the DICOM layer places the decoded slices on the series (dicom paintedSlicesToVolume).
 */
import { decodeLabelSlice, LabelmapPayload } from '../api/index.js';
import { paintedSlicesToVolume, type DicomSeries, type LabelmapVolume } from '../dicom/index.js';
import { NnsamError } from '../util/errors.js';

/** Checks a labelmap (as posted, or as read back from its stored file) and paints it on the series. */
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
  return paintedSlicesToVolume(
    {
      seriesInstanceUID: p.seriesInstanceUID,
      rows: p.rows,
      columns: p.columns,
      slices: p.slices.map((s) => ({
        sopInstanceUID: s.sopInstanceUID,
        frameNumber: s.frameNumber,
        values: (length: number) => decodeLabelSlice(s.labels, length),
      })),
      segments: p.segments ?? [],
    },
    series,
  );
}
