/**
 * Progress events of planning, training and inference, typed with zod so the HTTP layer can forward them over
 * Server-Sent Events unchanged and the viewer can validate them.
 */
import { z } from 'zod';

export const StageName = z.enum([
  'planning',
  'preprocessing',
  'embedding',
  'training',
  'exporting',
  'validation',
  'inference',
  'done',
]);
export type StageName = z.infer<typeof StageName>;

export const ProgressEvent = z.discriminatedUnion('type', [
  /** A stage starts (done = 0) or advances; counts are slices unless the message says otherwise. */
  z.object({
    type: z.literal('stage'),
    stage: StageName,
    done: z.number().int().min(0).optional(),
    total: z.number().int().min(0).optional(),
    message: z.string().optional(),
  }),
  /** One training iteration. `fraction` is the share of the budget (time or iterations) used. */
  z.object({
    type: z.literal('iteration'),
    iteration: z.number().int(),
    loss: z.number().nullable(),
    lr: z.number(),
    seconds: z.number(),
    itPerSec: z.number(),
    fraction: z.number(),
  }),
  /** Dice on the held-out labelled slices during training. */
  z.object({
    type: z.literal('validation'),
    iteration: z.number().int(),
    dice: z.number().nullable(),
    dicePerClass: z.record(z.string(), z.number().nullable()),
    best: z.number().nullable(),
    bestIteration: z.number().int(),
  }),
  /** Something the user should know (e.g. the encoder fell back to none). */
  z.object({ type: z.literal('warning'), message: z.string() }),
]);
export type ProgressEvent = z.infer<typeof ProgressEvent>;

export type ProgressListener = (event: ProgressEvent) => void;

export function stage(
  onProgress: ProgressListener | undefined,
  name: StageName,
  done?: number,
  total?: number,
  message?: string,
): void {
  if (!onProgress) return;
  const ev: ProgressEvent = { type: 'stage', stage: name };
  if (done !== undefined) ev.done = done;
  if (total !== undefined) ev.total = total;
  if (message !== undefined) ev.message = message;
  onProgress(ev);
}
