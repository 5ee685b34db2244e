/** Job payloads: validated when a job is created and again when a worker (maybe on another machine) runs it. */
import { z } from 'zod';

import { ClassDef, EncoderChoice, Id, Uid } from '../api/index.js';

export const StoredSourceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('labelmap'), file: z.string() }),
  z.object({
    kind: z.literal('seg'),
    segSeriesInstanceUID: Uid,
    segSOPInstanceUID: Uid.optional(),
    segmentMap: z.record(z.string(), z.number().int()).optional(),
    labelledSOPInstanceUIDs: z.array(Uid).optional(),
  }),
  z.object({ kind: z.literal('image') }),
]);

export const TrainJobPayload = z.object({
  projectId: Id,
  projectName: z.string(),
  /** Decided at enqueue time, so a retried job writes the same model. */
  modelId: Id,
  classes: z.array(ClassDef).min(1),
  examples: z
    .array(z.object({ id: Id, studyInstanceUID: Uid, seriesInstanceUID: Uid, source: StoredSourceSchema }))
    .min(1),
  /** Absent: the default for a first training or a warm-started retrain (api/models.ts) */
  minutes: z.number().positive().optional(),
  maxIterations: z.number().int().positive().optional(),
  encoder: EncoderChoice,
  seed: z.number().int().optional(),
  /** The model to start from (the project's latest when the job was queued); absent: from scratch */
  warmStartFrom: Id.optional(),
});
export type TrainJobPayload = z.infer<typeof TrainJobPayload>;

export const SegmentJobPayload = z.object({
  modelId: Id,
  /** Copied from the model record at enqueue time: workers on other machines have no database. */
  model: z.object({ name: z.string(), encoder: z.string(), classes: z.array(ClassDef).min(1) }),
  studyInstanceUID: Uid,
  seriesInstanceUID: Uid,
  store: z.boolean(),
  returnSeg: z.boolean(),
  /** Absent: the server's NNSAM_TTA, else the plan's, else the device's (engine/inference/tta.ts) */
  tta: z.boolean().optional(),
  /** Set when a hook rule created the job. */
  ruleId: Id.optional(),
});
export type SegmentJobPayload = z.infer<typeof SegmentJobPayload>;
