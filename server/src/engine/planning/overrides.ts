/**
 * Plan overrides: `nnsam train --set training.augmentation.pRotation=0.2` changes one value of the plan
 * before training, as nnU-Net users edit a plans file. Only values the plan already has can be set, the
 * result must still be a valid plan, and plan.json records what was set (plan.overrides).
 */
import { NnsamError } from '../../util/errors.js';
import { issuesText } from '../../util/zod-issues.js';
import { PlanSchema, type Plan } from './plan.js';

export interface PlanOverride {
  /** Dotted path into the plan, e.g. training.augmentation.pRotation */
  path: string;
  value: unknown;
}

/** Parses `path=value`; the value is JSON when it parses as JSON (numbers, booleans, arrays), else a string. */
export function parsePlanOverride(text: string): PlanOverride {
  const eq = text.indexOf('=');
  const path = eq > 0 ? text.slice(0, eq).trim() : '';
  if (!path) {
    throw new NnsamError('bad_plan_override', `"${text}" is not a plan override of the form path=value.`, {
      hint: 'Example: --set training.augmentation.pRotation=0.2 (see plan.json for the paths).',
    });
  }
  const raw = text.slice(eq + 1).trim();
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // not JSON: a plain string such as an optimizer name
  }
  return { path, value };
}

/** A copy of `plan` with the overrides applied, checked against the plan schema. */
export function applyPlanOverrides(plan: Plan, overrides: PlanOverride[]): Plan {
  if (overrides.length === 0) return plan;
  const copy = structuredClone(plan) as unknown as Record<string, unknown>;
  for (const { path, value } of overrides) {
    const keys = path.split('.');
    if (keys[0] === 'overrides' || keys[0] === 'fingerprint') {
      throw new NnsamError(
        'bad_plan_override',
        `The plan's "${keys[0]}" is measured, not set: --set ${path}.`,
      );
    }
    let node: Record<string, unknown> = copy;
    for (const [i, key] of keys.entries()) {
      if (node === null || typeof node !== 'object' || Array.isArray(node) || !(key in node)) {
        const at = keys.slice(0, i).join('.') || 'the plan';
        const known = node && typeof node === 'object' ? Object.keys(node).join(', ') : 'nothing';
        throw new NnsamError('bad_plan_override', `--set ${path}: ${at} has no "${key}" (it has ${known}).`);
      }
      if (i === keys.length - 1) node[key] = value;
      else node = node[key] as Record<string, unknown>;
    }
  }
  const parsed = PlanSchema.safeParse(copy);
  if (!parsed.success) {
    const problems = issuesText(parsed.error, Infinity);
    throw new NnsamError('bad_plan_override', `The plan overrides make an invalid plan: ${problems}.`, {
      hint: 'Give values of the same type as plan.json has (numbers, booleans, [a, b] arrays).',
    });
  }
  return {
    ...parsed.data,
    overrides: [...parsed.data.overrides, ...overrides.map((o) => `${o.path}=${JSON.stringify(o.value)}`)],
  };
}
