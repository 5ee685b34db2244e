import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { trainerDir } from '../../util/paths.js';
import { readTrainerMetrics } from './trainer.js';
import { trainerSchemaFiles } from './trainer-input.js';
import { TrainerLine } from './trainer-output.js';

const METRICS = {
  iterations: 40,
  seconds: 12.5,
  itPerSec: 3.2,
  stopReason: 'iterations',
  device: 'cpu',
  threads: 2,
  trainSlices: 6,
  valSlices: 2,
  unlabelledSlices: 0,
  weights: 'weights.pt',
  validation: { bestDice: 0.8, bestIteration: 40, dicePerClass: { '1': 0.8 }, history: [] },
  export: { opset: 17, inputs: ['image'], outputs: ['logits'], numClasses: 2, maxAbsDiff: 1e-6 },
  int8: null,
};

describe('the handoff between Node and the Python trainer', () => {
  it('ships the JSON Schemas the zod schemas generate (else: npm run -w server schemas)', () => {
    for (const [name, schema] of Object.entries(trainerSchemaFiles())) {
      const shipped = JSON.parse(readFileSync(join(trainerDir, 'nnsam_trainer', 'schemas', name), 'utf8'));
      expect(shipped, `${name} differs from trainer-input.ts: run npm run -w server schemas`).toEqual(schema);
    }
  });

  it("carries the zod defaults into the trainer's schema, as optional keys", () => {
    const plan = trainerSchemaFiles()['plan.schema.json'] as {
      properties: Record<string, { properties: Record<string, { default?: unknown }>; required: string[] }>;
    };
    const training = plan.properties.training!;
    expect(training.properties.precision!.default).toBe('auto');
    expect(training.properties.selfTraining!.default).toMatchObject({ enabled: false });
    expect(training.required).not.toContain('precision');
    expect(training.required).toContain('initialLr');
  });

  it('reads metrics.json, and names the field when it is not what the trainer writes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nnsam-metrics-'));
    writeFileSync(join(dir, 'metrics.json'), JSON.stringify(METRICS));
    expect((await readTrainerMetrics(dir)).validation.bestDice).toBe(0.8);
    const { weights: _weights, ...older } = METRICS;
    writeFileSync(join(dir, 'metrics.json'), JSON.stringify({ ...older, iterations: '40' }));
    await expect(readTrainerMetrics(dir)).rejects.toThrow(/not as expected/);
    await expect(readTrainerMetrics(dir)).rejects.toMatchObject({
      code: 'training_failed',
      hint: expect.stringMatching(/iterations: .*number.*weights: /s),
    });
    writeFileSync(join(dir, 'metrics.json'), '{"iterations": 4');
    await expect(readTrainerMetrics(dir)).rejects.toThrow(/metrics.json is unreadable/);
  });

  it('types each trainer line by kind and refuses one that lacks a field', () => {
    const it = TrainerLine.parse({
      type: 'iteration',
      iteration: 3,
      loss: null,
      lr: 1e-3,
      seconds: 1.5,
      itPerSec: 2,
      fraction: 0.1,
    });
    expect(it.type === 'iteration' && it.loss).toBeNull();
    expect(TrainerLine.parse({ type: 'error', code: 'out_of_memory', message: 'MemoryError' })).toMatchObject(
      {
        code: 'out_of_memory',
      },
    );
    expect(TrainerLine.safeParse({ type: 'validation', iteration: 3, dice: 0.5 }).success).toBe(false);
    expect(TrainerLine.safeParse({ type: 'progress-of-a-newer-trainer' }).success).toBe(false);
  });
});
