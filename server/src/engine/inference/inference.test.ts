import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { LoadedModel, type ModelInfo } from '../model.js';
import { NONE_ENCODER, planFromCases } from '../planning/plan.js';
import { createPreprocessor } from '../preprocessing/preprocess.js';
import { phantom, python } from '../test-utils.js';
import { embeddingOnStageGrid } from './embedding-map.js';
import { diceCounts, diceOf, keepLargestComponent } from './postprocess.js';
import { predictVolume } from './predict.js';
import { canvasShape, gaussianMap, tileStarts } from './sliding-window.js';

const tmp = mkdtempSync(join(tmpdir(), 'nnsam-inference-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('embedding on the decoder grid', () => {
  it("equals the trainer's grid_sample of the same embedding (Node inference == PyTorch training path)", () => {
    const [rows, cols, stride, C] = [45, 37, 4, 3];
    const emb = Float32Array.from({ length: C * 64 * 64 }, (_, n) => Math.sin(n * 0.013) + (n % 64) / 64);
    const canvas = canvasShape([rows, cols], [48, 40], [stride, stride]);
    const out = embeddingOnStageGrid(
      emb,
      C,
      [64, 64],
      [rows, cols],
      [stride, stride],
      [canvas[0] / 4, canvas[1] / 4],
    );
    const ref = JSON.parse(
      python(
        `
import json, sys, numpy as np, torch
from nnsam_trainer.augmentation import whole_slice_inputs
from nnsam_trainer.data import Slice
emb = torch.tensor(json.loads(sys.stdin.read()), dtype=torch.float32).reshape(3, 64, 64)
s = Slice("x", torch.zeros(45, 37), torch.zeros(45, 37, dtype=torch.uint8), emb)
image, e = whole_slice_inputs(s, (8, 8), (4, 4), (48, 40))
print(json.dumps({"shape": list(e.shape), "values": e.flatten().tolist()}))`,
        [],
        JSON.stringify(Array.from(emb)),
      ).replace(/^[^{]*/, ''),
    );
    expect(ref.shape).toEqual([1, C, canvas[0] / 4, canvas[1] / 4]);
    let maxDiff = 0;
    (ref.values as number[]).forEach((v, n) => (maxDiff = Math.max(maxDiff, Math.abs(v - out[n]!))));
    expect(maxDiff).toBeLessThan(1e-5);
  });
});

describe('sliding window', () => {
  it('covers the canvas with half-overlapping tiles whose starts are multiples of the stride', () => {
    expect(tileStarts(40, 48, 0.5)).toEqual([0]);
    const starts = tileStarts(304, 96, 0.5, 8);
    expect(starts[0]).toBe(0);
    expect(starts.at(-1)).toBe(304 - 96);
    for (const s of starts) expect(s % 8).toBe(0);
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeLessThanOrEqual(48 + 8);
    expect(canvasShape([45, 100], [48, 64], [4, 4])).toEqual([48, 100]);
  });

  it('weights tile centres most (Gaussian, no zeros)', () => {
    const g = gaussianMap([32, 24]);
    expect(g[16 * 24 + 12]).toBe(1);
    expect(Math.min(...g)).toBeGreaterThan(0);
    expect(g[0]!).toBeLessThan(0.01);
  });
});

describe('post-processing', () => {
  it('keeps the largest 26-connected component of a class in 3D', () => {
    const dims: [number, number, number] = [6, 6, 3];
    const labels = new Uint8Array(108);
    const at = (i: number, j: number, k: number) => i + 6 * (j + 6 * k);
    // component A: a diagonal chain across slices (26-connected), 3 voxels; B: 2 voxels; other class untouched
    labels[at(0, 0, 0)] = 1;
    labels[at(1, 1, 1)] = 1;
    labels[at(2, 2, 2)] = 1;
    labels[at(5, 5, 0)] = 1;
    labels[at(5, 4, 0)] = 1;
    labels[at(3, 0, 0)] = 2;
    expect(keepLargestComponent(labels, dims, 1)).toBe(2);
    expect(labels[at(2, 2, 2)]).toBe(1);
    expect(labels[at(5, 5, 0)]).toBe(0);
    expect(labels[at(3, 0, 0)]).toBe(2);
  });

  it('counts Dice per class, skipping ignored pixels', () => {
    const pred = Uint8Array.from([1, 1, 0, 2, 2]);
    const gt = Uint8Array.from([1, 0, 0, 2, 255]);
    const d = diceCounts(pred, gt, [1, 2], [[0, 5]]);
    expect(diceOf(d.get(1)!)).toBeCloseTo(2 / 3);
    expect(diceOf(d.get(2)!)).toBe(1);
  });
});

/**
 * A pointwise network (1x1 convolution: logits_c = a_c * x + b_c) makes the expected labels exact whatever the
 * tiling, mirroring and blending: every path through predictVolume must give argmax_c(a_c x + b_c).
 */
describe('predictVolume', () => {
  const a = [0, 1.5, -2];
  const b = [0, -1, -1.5];
  const netPath = join(tmp, 'network.onnx');
  python(
    `
import sys, torch, warnings
warnings.simplefilter("ignore")
conv = torch.nn.Conv2d(1, 3, 1)
with torch.no_grad():
    conv.weight[:] = torch.tensor([${a}]).reshape(3, 1, 1, 1)
    conv.bias[:] = torch.tensor([${b}])
torch.onnx.export(conv, (torch.zeros(1, 1, 16, 16),), sys.argv[1], input_names=["image"], output_names=["logits"],
                  dynamic_axes={"image": {0: "n", 2: "h", 3: "w"}, "logits": {0: "n", 2: "h", 3: "w"}}, opset_version=17,
                  dynamo=False)`,
    [netPath],
  );

  function modelFor(patch: [number, number]) {
    const c = phantom([70, 50, 5], 3);
    const plan = planFromCases([{ ...c, labelledSlices: [0, 1] }], {
      classes: { '1': 'disk', '2': 'square' },
    });
    plan.network = { ...plan.network, patchSize: patch };
    const info = { postprocessing: { largestComponent: [] }, encoder: NONE_ENCODER } as unknown as ModelInfo;
    return {
      model: new LoadedModel(tmp, { ...info, network: { file: 'network.onnx' } } as ModelInfo, plan, null, 1),
      c,
      plan,
    };
  }

  it('gives the exact pointwise labels with one tile, a sliding window, TTA on or off, any batch size', async () => {
    for (const patch of [
      [64, 80],
      [32, 24],
    ] as [number, number][]) {
      const { model, c, plan } = modelFor(patch);
      const pre = createPreprocessor(c.image, plan);
      const expected = new Uint8Array(c.image.data.length);
      for (let k = 0; k < 5; k++) {
        const s = pre.slice(k);
        s.forEach((x, p) => {
          const logits = a.map((ac, n) => ac * x + b[n]!);
          expected[k * s.length + p] = logits.indexOf(Math.max(...logits));
        });
      }
      expect(new Set(expected).size).toBe(3);
      for (const [tta, batchSize] of [
        [true, 8],
        [false, 3],
      ] as [boolean, number][]) {
        const events: number[] = [];
        const out = await predictVolume(model, c.image, {
          tta,
          batchSize,
          onProgress: (e) => e.type === 'stage' && e.stage === 'inference' && events.push(e.done ?? 0),
        });
        expect(out.geometry).toBe(c.image.geometry);
        let wrong = 0;
        out.data.forEach((v, n) => (wrong += v === expected[n] ? 0 : 1));
        expect(wrong, `patch ${patch}, tta ${tta}`).toBe(0);
        expect(events.at(-1)).toBe(5);
      }
      await model.close();
    }
  });

  it('stops when cancelled', async () => {
    const { model, c } = modelFor([32, 24]);
    const controller = new AbortController();
    controller.abort();
    await expect(predictVolume(model, c.image, { signal: controller.signal })).rejects.toMatchObject({
      code: 'cancelled',
    });
    await model.close();
  });
});
