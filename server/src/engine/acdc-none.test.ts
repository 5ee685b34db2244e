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
import { acdcFewShot, acdcValidationDice } from '../../../test/support/engine-fixtures.js';
import { trainModel } from './training/train.js';

const ITERATIONS = 400;
// Measured here (CPU, 1 thread, 400 iterations, seed 0, 2026-12-04) with bf16 autocast, which makes an
// iteration about twice as fast, so the test runs 400 in about the time 150 took in fp32: Dice RV 0.35,
// MYO 0.39, LV 0.26, mean 0.332, with the sliding window, 4 mirror passes and the component filter (150 fp32
// iterations gave mean 0.195, and 150 bf16 ones 0.223). Chance is about 0.02; the thresholds leave a 1.5x margin.
const LV_MIN = 0.17;
const MEAN_MIN = 0.22;

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
