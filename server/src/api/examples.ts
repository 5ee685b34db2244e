import { z } from 'zod';

import { Id, Timestamp, Uid } from './common.js';
import { LabelmapPayload } from './labelmap.js';

/** Labels painted in the viewer (only the labelled slices travel; see labelmap.ts). */
export const LabelmapSource = z
  .object({ kind: z.literal('labelmap'), labelmap: LabelmapPayload })
  .strict()
  // cross-field and PACS facts JSON Schema cannot state: said here, refused with a 400
  .meta({
    description:
      "labelmap.studyInstanceUID and labelmap.seriesInstanceUID must be the example's (400 label_on_wrong_series); " +
      'once the series is loaded from the PACS, every slice must be one of its images and rows x columns its size (400).',
  });

/** A DICOM SEG already in the PACS that labels the image series. */
export const SegSource = z
  .object({
    kind: z.literal('seg'),
    segSeriesInstanceUID: Uid,
    segSOPInstanceUID: Uid.optional(),
    /** SEG segment number -> project class value; by default segments map by name, then by number. */
    segmentMap: z.record(z.string().regex(/^\d+$/), z.number().int().min(0).max(255)).optional(),
    /** Slices (SOP Instance UIDs) the SEG labels completely; default: every slice with a SEG frame. */
    labelledSOPInstanceUIDs: z.array(Uid).optional(),
  })
  .strict();

/**
 * This series without labels: the trainer may learn from its images (e.g. the series about to be
 * segmented) when the plan learns from unlabelled slices; it never teaches a class by itself.
 */
export const ImageSource = z.object({ kind: z.literal('image') }).strict();

export const ExampleCreate = z
  .object({
    studyInstanceUID: Uid,
    seriesInstanceUID: Uid,
    source: z.discriminatedUnion('kind', [LabelmapSource, SegSource, ImageSource]),
  })
  .strict();
export type ExampleCreate = z.infer<typeof ExampleCreate>;

export const Example = z.object({
  id: Id,
  projectId: Id,
  studyInstanceUID: Uid,
  seriesInstanceUID: Uid,
  /** labelmap: painted in the viewer; seg: a SEG in the PACS; image: the series unlabelled (images only). */
  sourceKind: z.enum(['labelmap', 'seg', 'image']),
  /** Indices (k, in the server's sorted slice order) of the labelled slices (none for an image-only example). */
  labelledSlices: z.array(z.number().int().min(0)),
  /** SOP Instance UIDs of the labelled slices, same order. */
  labelledSOPInstanceUIDs: z.array(z.string()),
  /** Class values that occur in the labels. */
  classesPresent: z.array(z.number().int()),
  createdAt: Timestamp,
});
export type Example = z.infer<typeof Example>;
