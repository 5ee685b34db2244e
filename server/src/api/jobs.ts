import { z } from 'zod';

import { Id, Timestamp, Uid } from './common.js';

export const JobKind = z.enum(['train', 'segment']);
export const JobState = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted']);
export type JobState = z.infer<typeof JobState>;
export const TERMINAL_STATES: readonly JobState[] = ['succeeded', 'failed', 'cancelled', 'interrupted'];

export const JobProgress = z.object({
  /** Stage name: fetching, preprocessing, embedding, training, exporting, inference, writing, storing... */
  stage: z.string(),
  /** Units done / total in this stage (slices, iterations...), when known. */
  done: z.number().optional(),
  total: z.number().optional(),
  message: z.string().optional(),
});
export type JobProgress = z.infer<typeof JobProgress>;

export const SegmentResult = z.object({
  studyInstanceUID: Uid,
  segSeriesInstanceUID: Uid,
  segSOPInstanceUID: Uid,
  stored: z.boolean(),
  /** Where to fetch the SEG from this server when the request asked for it to be returned. */
  segUrl: z.string().optional(),
  segments: z.array(z.object({ number: z.number().int(), label: z.string(), voxels: z.number().int() })),
  /**
   * How sure the model is of each slice (engine/inference/uncertainty.ts): the share of each class's possible
   * extent on the slice it cannot decide (0 sure .. 1 unsure). Absent in results from before it.
   */
  uncertainty: z
    .object({
      rule: z.string(),
      /** The least certain slices, worst first: where a correction teaches the model most */
      labelNext: z.array(
        z.object({
          /** Slice index in the series' sorted order (0-based) */
          index: z.number().int(),
          sopInstanceUID: Uid,
          frameNumber: z.number().int().optional(),
          score: z.number(),
          /** Score per segment number */
          segments: z.record(z.string(), z.number()),
        }),
      ),
      /** Every slice the network ran on, in series order */
      slices: z.array(z.object({ index: z.number().int(), score: z.number() })),
    })
    .optional(),
});
export type SegmentResult = z.infer<typeof SegmentResult>;

export const TrainResult = z.object({ modelId: Id });
export type TrainResult = z.infer<typeof TrainResult>;

export const JobError = z.object({ code: z.string(), message: z.string(), hint: z.string().optional() });

const JobFields = {
  id: Id,
  state: JobState,
  projectId: Id.nullable(),
  modelId: Id.nullable(),
  createdAt: Timestamp,
  startedAt: Timestamp.nullable(),
  finishedAt: Timestamp.nullable(),
  progress: JobProgress.nullable(),
  error: JobError.nullable(),
  /** How many times the job was started (retries after an interruption count). */
  attempts: z.number().int(),
};

/** A job; its kind tags its result (null until it succeeds), so a client narrows with `job.kind`. */
export const Job = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('train'), ...JobFields, result: TrainResult.nullable() }),
  z.object({ kind: z.literal('segment'), ...JobFields, result: SegmentResult.nullable() }),
]);
export type Job = z.infer<typeof Job>;

/** Training numbers as the trainer reports them: an iteration (loss, lr) or a validation (valDice). */
export const TrainMetrics = z.object({
  iteration: z.number().int(),
  loss: z.number().nullable().optional(),
  lr: z.number().optional(),
  /** Mean Dice over classes on the held-out labelled slices (validation events only). */
  valDice: z.number().nullable().optional(),
  /** Seconds since training started. */
  seconds: z.number().optional(),
  itPerSec: z.number().optional(),
  /** Share of the budget used, 0..1. */
  fraction: z.number().optional(),
});
export type TrainMetrics = z.infer<typeof TrainMetrics>;

/**
 * Server-Sent Events of a job (GET /api/jobs/:id/events). Every event has a sequence number (the SSE id),
 * so a reconnecting client resumes with Last-Event-ID and receives what it missed, in order.
 */
export const JobEvent = z.discriminatedUnion('type', [
  z.object({
    seq: z.number().int(),
    time: Timestamp,
    type: z.literal('state'),
    state: JobState,
    error: JobError.nullable().optional(),
  }),
  z.object({ seq: z.number().int(), time: Timestamp, type: z.literal('progress'), progress: JobProgress }),
  z.object({ seq: z.number().int(), time: Timestamp, type: z.literal('metrics'), metrics: TrainMetrics }),
]);
export type JobEvent = z.infer<typeof JobEvent>;

export const SegmentRequest = z
  .object({
    modelId: Id,
    studyInstanceUID: Uid,
    seriesInstanceUID: Uid,
    /** Store the SEG in the PACS with STOW-RS (default) ... */
    store: z.boolean().default(true),
    /** ... and/or keep it on the server for GET /api/jobs/:id/seg. */
    returnSeg: z.boolean().default(false),
    /** Mirror test-time augmentation (4 network passes); absent: the server's setting, else per device. */
    tta: z.boolean().optional(),
  })
  .strict();
export type SegmentRequest = z.infer<typeof SegmentRequest>;
