/**
 * What Node hands the Python trainer, one schema per file of its data folder (docs/engine.md): plan.json
 * (the part of the plan the trainer reads) and dataset.json. Their JSON Schemas, generated from these zod
 * schemas, ship in the trainer package (nnsam_trainer/schemas, `npm run -w server schemas`): the trainer
 * validates its input against them and takes every default from them, so defaults live here only.
 */
import { z } from 'zod';

import { PlanSchema } from '../planning/plan.js';

/** The plan blocks the trainer reads; the other keys of plan.json pass through unchecked there. */
export const TrainerPlan = PlanSchema.pick({
  version: true,
  network: true,
  embedding: true,
  training: true,
  inference: true,
});
export type TrainerPlan = z.infer<typeof TrainerPlan>;

const Shape = z.tuple([z.number().int().positive(), z.number().int().positive()]);

export const TrainerDatasetSlice = z.object({
  id: z.string().min(1),
  /** val: held out for the trainer's validation; unlabelled: no label file, learnt from without labels */
  split: z.enum(['train', 'val', 'unlabelled']),
  /** [rows, cols] of every array of the slice */
  shape: Shape,
  /** float32 .npy: [rows, cols], or [inputSlices, rows, cols] for 2.5D; paths relative to the folder */
  image: z.string(),
  /** uint8 .npy [rows, cols] (class values, the ignore value where unlabelled); absent for split unlabelled */
  label: z.string().optional(),
  /** float16 .npy [channels, grid, grid], when the plan has an embedding */
  embedding: z.string().optional(),
});
export type TrainerDatasetSlice = z.infer<typeof TrainerDatasetSlice>;

export const TrainerDataset = z.object({
  format: z.literal(1),
  // as the plan has them: one owner
  numClasses: PlanSchema.shape.numClasses,
  classes: PlanSchema.shape.classes,
  ignoreValue: PlanSchema.shape.ignoreValue,
  embedding: z.object({ channels: z.number().int().positive(), grid: Shape }).nullable(),
  slices: z.array(TrainerDatasetSlice),
});
export type TrainerDataset = z.infer<typeof TrainerDataset>;

/**
 * The JSON Schemas the trainer package ships, by file name. io 'input': a key with a zod default is optional
 * and carries the default, which the trainer fills in (nnsam_trainer/contract.py).
 */
export function trainerSchemaFiles(): Record<string, object> {
  const schema = (s: z.ZodType, title: string) => ({
    title,
    $comment: 'Generated from server/src/engine/training/trainer-input.ts by `npm run -w server schemas`.',
    ...z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }),
  });
  return {
    'plan.schema.json': schema(TrainerPlan, 'plan.json as the nnSAM trainer reads it'),
    'dataset.schema.json': schema(TrainerDataset, "dataset.json of the nnSAM trainer's data folder"),
  };
}
