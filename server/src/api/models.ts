/** The HTTP contract of models: the train request, the model record (GET /api/models), encoder choices. */
import { z } from 'zod';

import { Id, Timestamp } from './common.js';
import { ClassDef } from './projects.js';

export { DEFAULT_TRAIN_MINUTES, RETRAIN_BUDGET_FRACTION } from './training-budget.js';

export const EncoderChoice = z.union([
  z.enum(['auto', 'none', 'mobilesam']),
  z
    .string()
    .regex(
      /^onnx:[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.onnx$/,
      "onnx:<file name>.onnx of an encoder in the data directory's encoders folder",
    ),
]);

export const TrainRequest = z
  .object({
    /**
     * Wall-clock training budget in minutes. Default: DEFAULT_TRAIN_MINUTES from scratch, and
     * RETRAIN_BUDGET_FRACTION of it when the training starts from the project's latest model.
     */
    minutes: z
      .number()
      .positive()
      .max(24 * 60)
      .optional(),
    /** Stop after this many iterations even within the budget (reproducible runs; default: budget only). */
    maxIterations: z.number().int().positive().max(1_000_000).optional(),
    encoder: EncoderChoice.default('auto'),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .optional(),
    /**
     * Start from the weights of the project's latest model (warm start) when it fits: same classes, encoder and
     * modality; otherwise training starts from scratch and its progress says why. false: always from scratch.
     */
    warmStart: z.boolean().default(true),
  })
  .strict();
export type TrainRequest = z.infer<typeof TrainRequest>;

export const Model = z.object({
  id: Id,
  projectId: Id.nullable(),
  name: z.string(),
  createdAt: Timestamp,
  /** Encoder the model needs at inference, e.g. "none" or "mobilesam:<sha16>". */
  encoder: z.string(),
  classes: z.array(ClassDef),
  /** Validation metrics recorded by training (e.g. { valDice: 0.82, iterations: 900 }). */
  metrics: z.record(z.string(), z.unknown()),
  trainingExamples: z.number().int(),
  /**
   * How many labelled slices trained the model: a count, where an example's `labelledSlices` is the list of
   * them. The name stays because it is wire format twice over, GET /api/models (the panel reads models) and
   * the model.json inside model archives (services/model-archive.ts): renaming it would need a migration of
   * both, for a name only. Inside the server the count is `labelledSliceCount` (services/train-job.ts).
   */
  labelledSlices: z.number().int(),
});
export type Model = z.infer<typeof Model>;
