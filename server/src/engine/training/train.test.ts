import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { loadModel } from '../model.js';
import { diceCounts, diceOf } from '../inference/postprocess.js';
import { predictVolume } from '../inference/predict.js';
import { PlanSchema } from '../planning/plan.js';
import { ProgressEvent } from '../progress.js';
import { buildTinyEncoder, phantom, python } from '../../../../test/support/engine-fixtures.js';
import type { TrainingCase } from '../types.js';
import { decodeNpy, encodeNpy } from './npy.js';
import { chooseLargestComponent, trainingMinutes, trainModel } from './train.js';

const tmp = mkdtempSync(join(tmpdir(), 'nnsam-train-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const classes = { '1': 'disk', '2': 'square' };
const cases: TrainingCase[] = [
  { ...phantom([48, 40, 6], 11), labelledSlices: [0, 2, 4, 5], name: 'a' },
  { ...phantom([52, 44, 6], 12), labelledSlices: [1, 2, 3, 5], name: 'b' },
];

describe('chooseLargestComponent', () => {
  it('keeps the largest component where held-out Dice does not drop, and only with two held-out slices', () => {
    const dice = {
      '1': { before: 0.8, after: 0.8 }, // unchanged on the labelled slices: the stray blobs are elsewhere
      '2': { before: 0.6, after: 0.65 },
      '3': { before: 0.9, after: 0.89 }, // a true part removed
      '4': { before: null, after: null }, // not on any held-out slice
    };
    expect(chooseLargestComponent(dice, 2)).toEqual({
      largestComponent: [1, 2],
      decidedOn: 'validation',
      dicePerClass: dice,
    });
    expect(chooseLargestComponent(dice, 1)).toMatchObject({ largestComponent: [], decidedOn: 'none' });
  });
});

describe('trainingMinutes', () => {
  it('gives a warm-started retrain half the default budget, and leaves an asked-for budget alone', () => {
    expect(trainingMinutes({}, false)).toBe(10);
    expect(trainingMinutes({}, true)).toBe(5);
    expect(trainingMinutes({ defaultMinutes: 5 }, true)).toBe(2.5);
    expect(trainingMinutes({ minutes: 7 }, true)).toBe(7);
    // an iteration budget alone runs without a clock
    expect(trainingMinutes({ maxIterations: 30 }, true)).toBeUndefined();
  });
});

describe('npy', () => {
  it('round-trips float32, float16 and uint8 arrays', () => {
    const f = { dtype: 'float32' as const, shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6.5]) };
    expect(decodeNpy(encodeNpy(f))).toEqual(f);
    const u = { dtype: 'uint8' as const, shape: [5], data: Uint8Array.from([0, 1, 2, 255, 3]) };
    expect(decodeNpy(encodeNpy(u))).toEqual(u);
    // numpy reads what we write
    const path = join(tmp, 'f.npy');
    writeFileSync(path, encodeNpy(f));
    const back = python(
      'import sys, json, numpy as np; a = np.load(sys.argv[1]); print(json.dumps([a.dtype.name, list(a.shape), a.flatten().tolist()]))',
      [path],
    );
    expect(JSON.parse(back)).toEqual(['float32', [2, 3], [1, 2, 3, 4, 5, 6.5]]);
  });
});

describe('trainModel', () => {
  it('trains with a SAM encoder, writes a complete model folder and segments new volumes', async () => {
    const encoder = join(tmp, 'tiny.onnx');
    buildTinyEncoder(encoder);
    const events: ProgressEvent[] = [];
    const out = join(tmp, 'model');
    const model = await trainModel({
      cases,
      classes,
      outDir: out,
      encoder,
      maxIterations: 60,
      seed: 1,
      device: 'cpu',
      threads: 1,
      // 8 labelled slices hold none out by default (plan.ts, MIN_LABELLED_FOR_VALIDATION); this run checks validation
      validationSlices: 1,
      valEvery: 20,
      cacheDir: join(tmp, 'cache'),
      onProgress: (e) => events.push(ProgressEvent.parse(e)),
    });
    expect(readdirSync(out).sort()).toEqual([
      'metrics.json',
      'model.json',
      'network-int8.onnx', // what a CPU runs by default (plan.ts, inference.int8)
      'network.onnx',
      'plan.json',
      'training_log.jsonl',
      'weights.pt',
    ]);
    expect(readdirSync(tmp).filter((f) => f.includes('partial'))).toEqual([]);
    const plan = PlanSchema.parse(JSON.parse(readFileSync(join(out, 'plan.json'), 'utf8')));
    expect(plan.embedding?.encoder).toBe(model.encoder.id);
    expect(model.encoder.id).toMatch(/^tiny:[0-9a-f]{16}$/);
    expect(model.network.inputs).toEqual(['image', 'embedding']);
    expect(model.training.iterations).toBe(60);
    expect(model.training.valSlices).toBe(1);
    expect(model.training.exportMaxAbsDiff).toBeLessThan(1e-3);
    expect(model.network.int8?.file).toBe('network-int8.onnx');
    // one held-out slice is too little evidence to remove components (train.ts, MIN_POSTPROCESSING_SLICES)
    expect(model.postprocessing).toMatchObject({ decidedOn: 'none', largestComponent: [] });
    expect(model.postprocessing.dicePerClass?.['1']?.before).toBeTypeOf('number');
    const stages = new Set(events.flatMap((e) => (e.type === 'stage' ? [e.stage] : [])));
    for (const s of [
      'planning',
      'preprocessing',
      'embedding',
      'training',
      'exporting',
      'validation',
      'done',
    ]) {
      expect(stages, s).toContain(s);
    }
    expect(events.filter((e) => e.type === 'iteration')).toHaveLength(60);
    expect(events.some((e) => e.type === 'validation')).toBe(true);

    const loaded = await loadModel(out, { threads: 1 });
    const test = phantom([50, 42, 3], 99);
    const pred = await predictVolume(loaded, test.image, { cache: undefined });
    await loaded.close();
    const d = diceCounts(pred.data, test.labels.data, [1], [[0, pred.data.length]]);
    // chance is ~0.1; the bright disk is easy (measured ~0.9 after 60 iterations)
    expect(diceOf(d.get(1)!)).toBeGreaterThan(0.5);
  });

  it('trains a 2.5D network (neighbouring slices as channels) when the plan asks for it, and segments with it', async () => {
    const encoder = join(tmp, 'tiny.onnx');
    if (!existsSync(encoder)) buildTinyEncoder(encoder);
    const close: TrainingCase[] = [
      { ...phantom([48, 40, 6], 21, [1, 1, 1.5]), labelledSlices: [0, 2, 5], name: 'a' },
      { ...phantom([52, 44, 6], 22, [1, 1, 1.5]), labelledSlices: [1, 3, 4], name: 'b' },
    ];
    const out = join(tmp, 'model-25d');
    await trainModel({
      cases: close,
      classes,
      outDir: out,
      encoder,
      maxIterations: 60,
      seed: 3,
      device: 'cpu',
      threads: 1,
      cacheDir: join(tmp, 'cache'),
      planOverrides: [{ path: 'network.inputSlices', value: 3 }],
    });
    const plan = PlanSchema.parse(JSON.parse(readFileSync(join(out, 'plan.json'), 'utf8')));
    expect(plan.network.inputSlices).toBe(3);
    const channels = python(
      'import sys, onnx; m = onnx.load(sys.argv[1]); print(m.graph.input[0].type.tensor_type.shape.dim[1].dim_value)',
      [join(out, 'network.onnx')],
    );
    expect(Number(channels)).toBe(3);
    const loaded = await loadModel(out, { threads: 1 });
    const test = phantom([50, 42, 4], 98, [1, 1, 1.5]);
    const pred = await predictVolume(loaded, test.image);
    await loaded.close();
    const d = diceCounts(pred.data, test.labels.data, [1], [[0, pred.data.length]]);
    expect(diceOf(d.get(1)!)).toBeGreaterThan(0.5);
  });

  it('holds nothing out of a few labelled slices, and then removes no component', async () => {
    const events: ProgressEvent[] = [];
    const model = await trainModel({
      cases,
      classes,
      outDir: join(tmp, 'model-noval'),
      encoder: 'none',
      maxIterations: 20,
      seed: 2,
      device: 'cpu',
      threads: 1,
      onProgress: (e) => events.push(ProgressEvent.parse(e)),
    });
    expect(model.training.valSlices).toBe(0);
    expect(model.training.trainSlices).toBe(8);
    expect(events.some((e) => e.type === 'validation')).toBe(false);
    // training slices cannot show the filter's harm on new volumes (train.ts, decidePostprocessing)
    expect(model.postprocessing).toEqual({ largestComponent: [], decidedOn: 'none', dicePerClass: null });
  });

  it('starts a retrain from an earlier model (warm start), and refuses one trained for other classes', async () => {
    const base = { cases, classes, encoder: 'none', device: 'cpu', threads: 1 } as const;
    const first = join(tmp, 'model-first');
    await trainModel({ ...base, outDir: first, maxIterations: 80, seed: 4 });
    const test = phantom([50, 42, 3], 97);
    const diskDice = async (dir: string) => {
      const loaded = await loadModel(dir, { threads: 1 });
      const pred = await predictVolume(loaded, test.image);
      await loaded.close();
      return diceOf(diceCounts(pred.data, test.labels.data, [1], [[0, pred.data.length]]).get(1)!);
    };
    const warm = await trainModel({
      ...base,
      outDir: join(tmp, 'model-warm'),
      maxIterations: 3,
      seed: 5,
      warmStartFrom: first,
    });
    const cold = await trainModel({ ...base, outDir: join(tmp, 'model-cold'), maxIterations: 3, seed: 5 });
    expect(warm.training.warmStartFrom).toBe('model-first');
    expect(cold.training.warmStartFrom).toBeNull();
    expect(warm.warnings).toContain('Started from the weights of model model-first.');
    const [warmDice, coldDice] = [await diskDice(warm.dir), await diskDice(cold.dir)];
    // 3 iterations from scratch stay near chance; from the earlier model they keep what it learnt
    expect(warmDice).toBeGreaterThan(0.5);
    expect(warmDice).toBeGreaterThan(coldDice + 0.2);

    await expect(
      trainModel({
        ...base,
        classes: { '1': 'disk', '2': 'box' },
        outDir: join(tmp, 'model-renamed'),
        maxIterations: 1,
        warmStartFrom: first,
      }),
    ).rejects.toMatchObject({
      code: 'warm_start_mismatch',
      message:
        'Cannot start from model model-first: it was trained for the classes 1 disk, 2 square, ' +
        'this training has 1 disk, 2 box.',
    });
    expect(existsSync(join(tmp, 'model-renamed'))).toBe(false);
  });

  it('refuses to overwrite a model folder unless told to', async () => {
    await expect(
      trainModel({ cases, classes, outDir: join(tmp, 'model'), encoder: 'none', maxIterations: 1 }),
    ).rejects.toMatchObject({ code: 'output_exists' });
  });

  it('cancels: the trainer stops, and no model folder is left behind', async () => {
    const controller = new AbortController();
    const out = join(tmp, 'cancelled');
    const started = Date.now();
    let abortedAt = 0;
    const run = trainModel({
      cases,
      classes,
      outDir: out,
      encoder: 'none',
      minutes: 5,
      device: 'cpu',
      threads: 1,
      signal: controller.signal,
      onProgress: (e) => {
        if (e.type === 'iteration' && !abortedAt) {
          abortedAt = Date.now();
          controller.abort();
        }
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'cancelled' });
    expect(Date.now() - abortedAt).toBeLessThan(10_000);
    expect(Date.now() - started).toBeLessThan(120_000);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(tmp).filter((f) => f.includes('cancelled'))).toEqual([]);
  });
});
