import { describe, expect, it } from 'vitest';

import { phantom } from '../../../../test/support/engine-fixtures.js';
import { applyPlanOverrides, parsePlanOverride } from './overrides.js';
import { planFromCases } from './plan.js';

function plan() {
  const { image, labels } = phantom([48, 40, 6], 1, [1, 1, 3]);
  return planFromCases([{ image, labels, labelledSlices: [2, 3] }], {
    classes: { '1': 'disk', '2': 'square' },
  });
}

describe('plan overrides (nnsam train --set)', () => {
  it('parses numbers, booleans and arrays as JSON and anything else as a string', () => {
    expect(parsePlanOverride('training.augmentation.pRotation=0.5')).toEqual({
      path: 'training.augmentation.pRotation',
      value: 0.5,
    });
    expect(parsePlanOverride('training.semiSupervised.enabled=true').value).toBe(true);
    expect(parsePlanOverride('training.augmentation.scaling=[0.6, 1.5]').value).toEqual([0.6, 1.5]);
    expect(parsePlanOverride('training.optimizer=SGD-nesterov').value).toBe('SGD-nesterov');
    expect(() => parsePlanOverride('pRotation')).toThrow(/path=value/);
    expect(() => parsePlanOverride('=3')).toThrow(/path=value/);
  });

  it('sets the value, keeps the rest of the plan and records what was set', () => {
    const before = plan();
    const planned = structuredClone(before);
    const after = applyPlanOverrides(before, [
      parsePlanOverride('training.augmentation.pRotation=0.7'),
      parsePlanOverride('training.validationSlices=0'),
    ]);
    expect(after.training.augmentation.pRotation).toBe(0.7);
    expect(after.training.validationSlices).toBe(0);
    expect(after.overrides).toEqual(['training.augmentation.pRotation=0.7', 'training.validationSlices=0']);
    expect(before).toEqual(planned); // the planned plan is untouched
    expect({ ...after, training: before.training, overrides: [] }).toEqual(before);
  });

  it('refuses a path the plan does not have, naming what is there', () => {
    expect(() =>
      applyPlanOverrides(plan(), [parsePlanOverride('training.augmentation.pRotaton=0.7')]),
    ).toThrow(/training\.augmentation has no "pRotaton" \(it has pRotation, pScaling/);
    expect(() => applyPlanOverrides(plan(), [parsePlanOverride('training.lr.x=1')])).toThrow(
      /training has no "lr"/,
    );
  });

  it('refuses a value of the wrong type or a measured field, naming it', () => {
    expect(() =>
      applyPlanOverrides(plan(), [parsePlanOverride('training.augmentation.pRotation=high')]),
    ).toThrow(/invalid plan: training\.augmentation\.pRotation/);
    expect(() => applyPlanOverrides(plan(), [parsePlanOverride('training.optimizer=Adam')])).toThrow(
      /training\.optimizer/,
    );
    expect(() => applyPlanOverrides(plan(), [parsePlanOverride('fingerprint.cases=3')])).toThrow(/measured/);
    expect(() => applyPlanOverrides(plan(), [parsePlanOverride('network.inputSlices=2')])).toThrow(
      /network\.inputSlices.*odd/,
    );
  });
});
