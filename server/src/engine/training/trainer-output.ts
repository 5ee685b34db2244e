/**
 * What the Python trainer hands back, one schema per shape: its JSON lines on stdout (training_log.jsonl
 * holds the same lines) and metrics.json. The writing side is nnsam_trainer/training.py and __main__.py;
 * non-finite floats arrive as null (progress.py). Objects are loose so a newer field does not break Node.
 */
import { z } from 'zod';

const Int = z.number().int();
/** Dice per class index ("1", "2", ...) on the held-out slices, null where a class could not be scored */
const DicePerClass = z.record(z.string(), z.number().nullable());

export const TrainerLine = z.discriminatedUnion('type', [
  z.looseObject({
    type: z.literal('start'),
    device: z.string(),
    threads: Int,
    precision: z.string(),
    trainSlices: Int,
    valSlices: Int,
    unlabelledSlices: Int,
    patchSize: z.array(Int),
    batchSize: Int,
    budgetSeconds: z.number().nullable(),
    maxIterations: Int.nullable(),
    warmStart: z.boolean(),
  }),
  z.looseObject({
    type: z.literal('iteration'),
    iteration: Int,
    loss: z.number().nullable(),
    lr: z.number(),
    seconds: z.number(),
    itPerSec: z.number(),
    /** share of the budget (time or iterations) used */
    fraction: z.number(),
  }),
  z.looseObject({
    type: z.literal('validation'),
    iteration: Int,
    dice: z.number().nullable(),
    dicePerClass: DicePerClass,
    best: z.number().nullable(),
    bestIteration: Int,
    seconds: z.number(),
  }),
  z.looseObject({
    type: z.literal('pseudoLabels'),
    iteration: Int,
    slices: Int,
    of: Int,
    seconds: z.number(),
  }),
  z.looseObject({ type: z.literal('checkpoint'), iteration: Int, path: z.string() }),
  z.looseObject({ type: z.literal('cancelled'), iteration: Int, seconds: z.number() }),
  z.looseObject({ type: z.literal('exported'), path: z.string() }),
  z.looseObject({
    type: z.literal('done'),
    iterations: Int,
    seconds: z.number(),
    itPerSec: z.number().nullable(),
    stopReason: z.string(),
    bestDice: z.number().nullable(),
  }),
  /** The last line of a failed run (exit code 2: bad data or --init weights, 1: anything else) */
  z.looseObject({
    type: z.literal('error'),
    /** invalid_training_data, invalid_init_weights, out_of_memory, disk_full, trainer_failed (__main__.py) */
    code: z.string(),
    message: z.string(),
  }),
]);
export type TrainerLine = z.infer<typeof TrainerLine>;

export const TrainerMetrics = z.looseObject({
  iterations: Int,
  seconds: z.number(),
  itPerSec: z.number().nullable(),
  /** iterations | time | early_stop */
  stopReason: z.string(),
  device: z.string(),
  threads: Int,
  trainSlices: Int,
  valSlices: Int,
  unlabelledSlices: Int,
  /** PyTorch weights a retrain can start from (training/warm-start.ts) */
  weights: z.string(),
  validation: z.looseObject({
    bestDice: z.number().nullable(),
    bestIteration: Int.nullable(),
    dicePerClass: DicePerClass.nullable(),
  }),
  export: z.looseObject({ inputs: z.array(z.string()), maxAbsDiff: z.number().optional() }),
  int8: z
    .looseObject({ file: z.string(), calibrationSlices: Int, labelsChanged: z.number().nullable() })
    .nullable(),
});
export type TrainerMetrics = z.infer<typeof TrainerMetrics>;
