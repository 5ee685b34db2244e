import { z } from 'zod';

import { exactlyOneOf, Id, Timestamp, UserText } from './common.js';

/** "Segment every new CT series whose description matches X with model Y" (Orthanc hook). */
export const RuleCreate = exactlyOneOf(
  z
    .object({
      name: UserText(1, 128),
      modality: z
        .string()
        .regex(/^[A-Z]{2,4}$/)
        .optional(),
      /** Regular expression (case-insensitive) tested against SeriesDescription. */
      seriesDescription: z
        .string()
        .max(256)
        .refine((s) => {
          try {
            new RegExp(s, 'i');
            return true;
          } catch {
            return false;
          }
        }, 'must be a valid regular expression')
        .meta({ format: 'regex' })
        .optional(),
      /** A fixed model, or the latest model of a project. */
      modelId: Id.optional(),
      projectId: Id.optional(),
      enabled: z.boolean().default(true),
    })
    .strict(),
  ['modelId', 'projectId'],
  'give exactly one of modelId and projectId',
);
export type RuleCreate = z.infer<typeof RuleCreate>;

export const Rule = z.object({
  id: Id,
  name: z.string(),
  modality: z.string().optional(),
  seriesDescription: z.string().optional(),
  modelId: Id.optional(),
  projectId: Id.optional(),
  enabled: z.boolean(),
  createdAt: Timestamp,
});
export type Rule = z.infer<typeof Rule>;

/** Body the Orthanc Lua hook posts when a study becomes stable. */
export const StableStudyHook = z
  .object({
    /** Orthanc's own study identifier (used to look the study up through DICOMweb). */
    orthancStudyId: z
      .string()
      .regex(/^[0-9a-f-]{1,64}$/)
      .optional(),
    studyInstanceUID: z
      .string()
      .max(64)
      .regex(/^[0-9]+(\.[0-9]+)*$/),
  })
  .strict();
