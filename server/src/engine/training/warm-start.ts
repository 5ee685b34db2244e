/**
 * Warm start: a retrain begins from an earlier model's weights instead of He initialization. The earlier
 * model fixes what the weights were trained for, so the new plan takes from its plan the network (topology,
 * patch, batch, input slices), where the SAM embedding enters, the target spacing and the normalization; what
 * the user changed (the labelled slices, the budget) comes from the new training. A model for other classes
 * or another encoder cannot be a starting point: that is refused with the difference named.
 */
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

import { NnsamError } from '../../util/errors.js';
import { readModelInfo } from '../model.js';
import type { Plan } from '../planning/plan.js';

export interface WarmStart {
  /** The plan to train with: the new plan with the earlier model's network and preprocessing */
  plan: Plan;
  /** The earlier model's weights file (the trainer's --init) */
  weights: string;
  /** The earlier model's folder name (recorded in model.json; never a path with user data) */
  from: string;
}

function describeClasses(classes: Record<string, string>): string {
  const entries = Object.entries(classes).sort(([a], [b]) => Number(a) - Number(b));
  return entries.map(([v, name]) => `${v} ${name}`).join(', ') || 'none';
}

function sameClasses(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}

/** The plan and weights for training `planned` from the model in `modelDir`, or a clear refusal. */
export async function warmStartFrom(modelDir: string, planned: Plan): Promise<WarmStart> {
  const dir = resolve(modelDir);
  const { info, plan: earlier } = await readModelInfo(dir);
  const from = basename(dir);
  const fresh = 'Train without a starting model (it then starts from scratch).';
  if (!sameClasses(info.classes, planned.classes)) {
    throw new NnsamError(
      'warm_start_mismatch',
      `Cannot start from model ${from}: it was trained for the classes ${describeClasses(info.classes)}, ` +
        `this training has ${describeClasses(planned.classes)}.`,
      { hint: fresh },
    );
  }
  if (info.encoder.id !== planned.encoder.id) {
    throw new NnsamError(
      'warm_start_mismatch',
      `Cannot start from model ${from}: it uses the encoder ${info.encoder.id}, this training ${planned.encoder.id}.`,
      { hint: fresh },
    );
  }
  if (earlier.modality !== planned.modality) {
    throw new NnsamError(
      'warm_start_mismatch',
      `Cannot start from model ${from}: it was trained on ${earlier.modality} images, these are ${planned.modality}.`,
      { hint: fresh },
    );
  }
  const weightsFile = info.network.weights;
  const weights = weightsFile ? join(dir, weightsFile) : null;
  if (!weights || !existsSync(weights)) {
    throw new NnsamError(
      'warm_start_unavailable',
      `Cannot start from model ${from}: it has no trained weights to start from ` +
        '(models trained before warm starts keep only the exported network).',
      { hint: fresh },
    );
  }
  const plan: Plan = {
    ...planned,
    targetSpacing: earlier.targetSpacing,
    medianShape: earlier.medianShape,
    normalization: earlier.normalization,
    network: earlier.network,
    embedding: earlier.embedding,
    warnings: [...planned.warnings, `Started from the weights of model ${from}.`],
  };
  return { plan, weights, from };
}
