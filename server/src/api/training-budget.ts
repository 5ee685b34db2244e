/**
 * Default training budgets, free of zod so the viewer extension can bundle them (models.ts re-exports them next
 * to TrainRequest). Pure TypeScript with no Node imports.
 */

/** A first training's budget in minutes when the request names none. */
export const DEFAULT_TRAIN_MINUTES = 5;

/**
 * A warm-started retrain's default budget as a fraction of the first's: a model that starts from the previous
 * one's weights reaches a cold model's Dice on the same slices in about half the time (the loop benchmark,
 * docs/benchmarks.md). Used by the server's default and the panel's budget field.
 */
export const RETRAIN_BUDGET_FRACTION = 0.5;
