import { describe, expect, it } from 'vitest';

import { addMetrics } from './curve.js';

describe('addMetrics', () => {
  it('keeps loss and validation points in iteration order and ignores events with neither', () => {
    let curve = addMetrics([], { iteration: 1, loss: 1.2, fraction: 0.1 });
    curve = addMetrics(curve, { iteration: 2, loss: 0.9 });
    curve = addMetrics(curve, { iteration: 2, valDice: 0.4 });
    expect(addMetrics(curve, { iteration: 3, lr: 0.01 })).toBe(curve);
    expect(addMetrics(curve, { iteration: 3, loss: Number.NaN })).toBe(curve);
    curve = addMetrics(curve, { iteration: 1, valDice: 0.1 });
    expect(curve).toEqual([
      { iteration: 1, loss: 1.2 },
      { iteration: 1, valDice: 0.1 },
      { iteration: 2, loss: 0.9 },
      { iteration: 2, valDice: 0.4 },
    ]);
  });
});
