/**
 * End to end on real data (ACDC cine MR, ../shared/data/acdc): 8 labelled slices drawn with a fixed seed from
 * 4 training volumes, plain nnU-Net (--encoder none, the paper's baseline), a fixed iteration budget (so the
 * result does not depend on machine load), then every slice of 2 validation volumes is segmented.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { loadModel } from './model.js';
import { acdcFewShot, acdcValidationDice } from './test-utils.js';
import { trainModel } from './training/train.js';

const ITERATIONS = 150;
// Measured here (CPU, 1 thread, 150 iterations, seed 0) with the CPU plan of 2026-12-03 (half-slice 160x160
// patch at batch 4, spatial augmentation p 0.5): Dice RV 0.22, MYO 0.17, LV 0.19, mean 0.195 (the previous
// whole-slice batch-2 plan gave LV 0.29, mean 0.22 here but 0.62 against 0.74 at the 10-minute budget users
// get; docs/benchmarks.md). Chance is about 0.02; the thresholds leave a 1.5x margin.
const LV_MIN = 0.12;
const MEAN_MIN = 0.13;

const tmp = mkdtempSync(join(tmpdir(), 'nnsam-acdc-none-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('nnSAM engine on ACDC, encoder none', () => {
  it(
    'learns from 8 labelled slices and segments validation volumes far above chance',
    { timeout: 1_500_000 },
    async () => {
      const cases = await acdcFewShot(0, 4, 2);
      const trained = await trainModel({
        cases,
        classes: { '1': 'RV', '2': 'MYO', '3': 'LV' },
        modality: 'MR',
        outDir: join(tmp, 'model'),
        encoder: 'none',
        maxIterations: ITERATIONS,
        seed: 0,
        device: 'cpu',
        threads: 1,
        validationSlices: 0,
        cacheDir: join(tmp, 'cache'),
      });
      expect(trained.encoder.id).toBe('none');
      const model = await loadModel(trained.dir, { threads: 1 });
      const dice = await acdcValidationDice(model, 2);
      await model.close();
      console.log(
        `ACDC, encoder none, ${ITERATIONS} iterations: ${trained.training.itPerSec} it/s (1 thread, ` +
          `patch ${trained.training.seconds && 'see plan'}), Dice ${JSON.stringify(dice.perClass)} mean ` +
          `${dice.mean.toFixed(3)}; postprocessing ${JSON.stringify(trained.postprocessing)}; inference ${(dice.slices / dice.seconds).toFixed(2)} slices/s (TTA, 1 thread)`,
      );
      expect(dice.perClass['3']).toBeGreaterThan(LV_MIN);
      expect(dice.mean).toBeGreaterThan(MEAN_MIN);
    },
  );
});
