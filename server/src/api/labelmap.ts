/**
 * The compact labelmap the viewer posts to the server: only the slices the user labelled, each keyed by
 * the SOP Instance UID (and frame number for multi-frame objects) of the image it was painted on, so the
 * server never depends on the viewer's slice order. Each slice's labels are rows x columns uint8 values
 * (row-major, 0 = background, n = segment n), run-length encoded and base64'd.
 *
 * RLE format ("rle-u8-v1"): a sequence of (value: 1 byte, run length: unsigned LEB128 varint) pairs whose
 * run lengths sum to rows * columns. A 256x256 slice with two blobs encodes to a few hundred bytes.
 * The codec and the size limits live in labelmap-codec.ts (no zod: the viewer extension bundles it, and
 * checks the limits itself); this module adds the schema the server validates with.
 */
import { z } from 'zod';

import { LABELMAP_ENCODING, LABELMAP_LIMITS as L } from './labelmap-codec.js';

export { decodeLabelSlice, encodeLabelSlice, LABELMAP_ENCODING, LABELMAP_LIMITS } from './labelmap-codec.js';

export const LabelmapSlice = z
  .object({
    sopInstanceUID: z.string().min(1).max(L.maxUidLength),
    /** 1-based frame number inside a multi-frame instance; omitted for single-frame images. */
    frameNumber: z.number().int().positive().optional(),
    /** base64 of the RLE stream */
    labels: z.string().min(1),
  })
  .strict();
export type LabelmapSlice = z.infer<typeof LabelmapSlice>;

export const LabelmapSegment = z
  .object({
    labelValue: z.number().int().min(1).max(255),
    label: z.string().min(1).max(L.maxLabelLength),
  })
  .strict();

export const LabelmapPayload = z
  .object({
    encoding: z.literal(LABELMAP_ENCODING),
    studyInstanceUID: z.string().min(1).max(L.maxUidLength),
    seriesInstanceUID: z.string().min(1).max(L.maxUidLength),
    rows: z.number().int().positive().max(L.maxSide),
    columns: z.number().int().positive().max(L.maxSide),
    /** The slices the user labelled; every other slice of the series is unlabelled (not background). */
    slices: z.array(LabelmapSlice).min(1).max(L.maxSlices),
    /** Names of the label values as the user painted them (optional; the project maps them to classes). */
    segments: z.array(LabelmapSegment).max(L.maxSegments).optional(),
  })
  .strict();
export type LabelmapPayload = z.infer<typeof LabelmapPayload>;
