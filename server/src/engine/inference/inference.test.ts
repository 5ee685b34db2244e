import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { EmbeddingCache } from '../encoders/cache.js';
import { describeOnnxEncoder } from '../encoders/registry.js';
import { LoadedModel, type ModelInfo } from '../model.js';
import type { RunSession } from '../session-thread.js';
import { NONE_ENCODER, planFromCases, type EncoderRef, type Plan } from '../planning/plan.js';
import { intensityTransform } from '../preprocessing/normalize.js';
import { createPreprocessor } from '../preprocessing/preprocess.js';
import {
  buildTinyEncoder,
  exportPlanNetwork,
  geometry,
  phantom,
  python,
} from '../../../../test/support/engine-fixtures.js';
import { embeddingOnStageGrid } from './embedding-map.js';
import { diceCounts, diceOf, keepLargestComponent, removeSmallComponents } from './postprocess.js';
import { predictVolume, type InferenceRun } from './predict.js';
import { everySlice, leastCertainSlices, type SliceUncertainty } from './uncertainty.js';
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
  it("maps a crop's region as the same block of the whole slice's map", () => {
    const [rows, cols, stride, C] = [90, 70, 4, 2];
    const emb = Float32Array.from({ length: C * 64 * 64 }, (_, n) => Math.cos(n * 0.007));
    const full = embeddingOnStageGrid(emb, C, [64, 64], [rows, cols], [stride, stride], [24, 20]);
    const crop = embeddingOnStageGrid(emb, C, [64, 64], [rows, cols], [stride, stride], [10, 8], [6, 5]);
    for (let c = 0; c < C; c++)
      for (let y = 0; y < 10; y++)
        for (let x = 0; x < 8; x++)
          expect(crop[(c * 10 + y) * 8 + x]).toBe(full[(c * 24 + y + 6) * 20 + x + 5]);
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

  it('removes components under a fraction of the largest: a planted far blob goes, a second organ stays', () => {
    const dims: [number, number, number] = [20, 20, 10];
    const at = (i: number, j: number, k: number) => i + 20 * (j + 20 * k);
    const box = (labels: Uint8Array, [i0, j0, k0]: number[], [i1, j1, k1]: number[], v = 1) => {
      for (let k = k0!; k < k1!; k++)
        for (let j = j0!; j < j1!; j++) for (let i = i0!; i < i1!; i++) labels[at(i, j, k)] = v;
    };
    const make = () => {
      const labels = new Uint8Array(4000);
      box(labels, [2, 2, 2], [8, 8, 8]); // the structure: 216 voxels
      box(labels, [12, 2, 2], [17, 7, 7]); // a second one of its kind (a kidney's twin): 125 voxels, 58 %
      box(labels, [15, 15, 0], [17, 17, 1]); // a far blob on an end slice: 4 voxels
      box(labels, [0, 19, 9], [3, 20, 10], 2); // another class, 3 voxels: left alone
      return labels;
    };
    const labels = make();
    expect(removeSmallComponents(labels, dims, 1, 0.2)).toBe(4);
    expect(labels[at(15, 15, 0)]).toBe(0);
    expect(labels[at(5, 5, 5)]).toBe(1);
    expect(labels[at(14, 4, 4)]).toBe(1);
    expect(labels[at(1, 19, 9)]).toBe(2);
    // a higher fraction takes the twin too; 0 removes nothing
    expect(removeSmallComponents(make(), dims, 1, 0.6)).toBe(129);
    const untouched = make();
    expect(removeSmallComponents(untouched, dims, 1, 0)).toBe(0);
    expect(untouched).toEqual(make());
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
      for (const [tta, batchSize, wholeSlice] of [
        [true, 8, true],
        [false, 3, true],
        [true, 8, false],
        [false, 3, false],
      ] as [boolean, number, boolean][]) {
        const events: number[] = [];
        const runs: InferenceRun[] = [];
        const out = await predictVolume(model, c.image, {
          tta,
          batchSize,
          wholeSlice,
          onRun: (r) => runs.push(r),
          onProgress: (e) => e.type === 'stage' && e.stage === 'inference' && events.push(e.done ?? 0),
        });
        expect(out.geometry).toBe(c.image.geometry);
        let wrong = 0;
        out.data.forEach((v, n) => (wrong += v === expected[n] ? 0 : 1));
        expect(wrong, `patch ${patch}, tta ${tta}, whole slice ${wholeSlice}`).toBe(0);
        // one progress event per slice, in order
        expect(events).toEqual([0, 1, 2, 3, 4, 5]);
        expect(runs).toHaveLength(1);
        expect(runs[0]).toMatchObject({ tta, device: 'cpu', slicesRun: 5, slicesSkipped: 0 });
        expect(runs[0]!.inputsPerSlice).toBe(runs[0]!.starts.length * (tta ? 4 : 1));
        expect(runs[0]!.wholeSlice).toBe(wholeSlice);
        if (!wholeSlice && patch[0] === 32) expect(runs[0]!.starts.length).toBeGreaterThan(1);
      }
      await model.close();
    }
  });

  it('sends the next batch to the network before it finishes the previous one', async () => {
    const { model, c } = modelFor([64, 80]);
    let done = 0;
    let running = 0;
    let most = 0;
    const doneAtRun: number[] = [];
    const session = await model.session();
    const recording: RunSession = {
      inputNames: session.inputNames,
      outputNames: session.outputNames,
      device: session.device,
      run: async (feeds) => {
        doneAtRun.push(done);
        most = Math.max(most, ++running);
        try {
          return await session.run(feeds);
        } finally {
          running--;
        }
      },
      release: () => session.release(),
    };
    vi.spyOn(model, 'session').mockResolvedValue(recording);
    await predictVolume(model, c.image, {
      batchSize: 1,
      onProgress: (e) => e.type === 'stage' && e.stage === 'inference' && (done = e.done ?? 0),
    });
    await model.close();
    // one slice per run: run n + 1 starts before slice n is finished, and no more than two are in flight
    expect(doneAtRun).toEqual([0, 0, 1, 2, 3]);
    expect(most).toBe(2);
  });

  it('feeds a 2.5D network each slice with its neighbours as channels, window or whole slice', async () => {
    // class 1: the slice is bright; class 2: the slice before is brighter than the one after
    const w = [
      [0, 0, 0],
      [0, 1, 0],
      [1, 0, -1],
    ];
    const bias = [0, -1, 0.5];
    const file = 'network-25d.onnx';
    python(
      `
import sys, torch, warnings
warnings.simplefilter("ignore")
conv = torch.nn.Conv2d(3, 3, 1)
with torch.no_grad():
    conv.weight[:] = torch.tensor(${JSON.stringify(w)}).reshape(3, 3, 1, 1)
    conv.bias[:] = torch.tensor(${JSON.stringify(bias)})
torch.onnx.export(conv, (torch.zeros(1, 3, 16, 16),), sys.argv[1], input_names=["image"], output_names=["logits"],
                  dynamic_axes={"image": {0: "n", 2: "h", 3: "w"}, "logits": {0: "n", 2: "h", 3: "w"}}, opset_version=17,
                  dynamo=False)`,
      [join(tmp, file)],
    );
    const { c, plan } = modelFor([32, 24]);
    plan.network = { ...plan.network, inputSlices: 3 };
    const model = testModel(file, plan);
    const pre = createPreprocessor(c.image, plan);
    const argmax = (x: number[]) => {
      const logits = w.map((row, o) => row.reduce((sum, wc, ch) => sum + wc * x[ch]!, bias[o]!));
      return logits.indexOf(Math.max(...logits));
    };
    const expected = new Uint8Array(c.image.data.length);
    let fromNeighbours = 0;
    for (let k = 0; k < 5; k++) {
      const input = pre.input(k, 3);
      const plane = input.length / 3;
      for (let p = 0; p < plane; p++) {
        const x = [input[p]!, input[plane + p]!, input[2 * plane + p]!];
        expected[k * plane + p] = argmax(x);
        if (argmax([x[1]!, x[1]!, x[1]!]) !== expected[k * plane + p]) fromNeighbours++;
      }
    }
    expect(new Set(expected).size).toBe(3);
    expect(fromNeighbours).toBeGreaterThan(0); // a 2D input would label these voxels otherwise
    for (const [tta, wholeSlice] of [
      [true, false],
      [false, true],
    ] as [boolean, boolean][]) {
      const out = await predictVolume(model, c.image, { tta, wholeSlice, batchSize: 3, postprocess: false });
      expect(changed(out.data, expected), `tta ${tta}, whole slice ${wholeSlice}`).toBe(0);
    }
    await model.close();
  });

  it('ranks a planted ambiguous slice least certain, and labels as it would without counting', async () => {
    // disks of 100 on four slices and a faint one of 40 on slice 2, which the network below cannot decide
    const dims: [number, number, number] = [40, 40, 5];
    const image = new Float32Array(40 * 40 * 5);
    const labels = new Uint8Array(image.length);
    for (let k = 0; k < 5; k++) {
      for (let j = 0; j < 40; j++) {
        for (let i = 0; i < 40; i++) {
          if ((i - 20) ** 2 + (j - 20) ** 2 >= 64) continue;
          image[i + 40 * (j + 40 * k)] = k === 2 ? 40 : 100;
          labels[i + 40 * (j + 40 * k)] = 1;
        }
      }
    }
    const g = geometry(dims);
    const volume = { geometry: g, data: image };
    const plan = planFromCases(
      [{ image: volume, labels: { geometry: g, data: labels }, labelledSlices: [0] }],
      {
        classes: { '1': 'disk' },
      },
    );
    plan.network = { ...plan.network, patchSize: [40, 40] };
    const pre = createPreprocessor(volume, plan);
    const faint = pre.slice(2)[20 * 40 + 20]!;
    // logit(disk) - logit(background) = 2 (x - faint): 0 on the faint disk, far from 0 elsewhere
    const file = 'network-uncertain.onnx';
    python(
      `
import sys, torch, warnings
warnings.simplefilter("ignore")
conv = torch.nn.Conv2d(1, 2, 1)
with torch.no_grad():
    conv.weight[:] = torch.tensor([0.0, 2.0]).reshape(2, 1, 1, 1)
    conv.bias[:] = torch.tensor([0.0, ${-2 * faint}])
torch.onnx.export(conv, (torch.zeros(1, 1, 16, 16),), sys.argv[1], input_names=["image"], output_names=["logits"],
                  dynamic_axes={"image": {0: "n", 2: "h", 3: "w"}, "logits": {0: "n", 2: "h", 3: "w"}}, opset_version=17,
                  dynamo=False)`,
      [join(tmp, file)],
    );
    const model = testModel(file, plan);
    const uncertainty: SliceUncertainty[] = [];
    const counted = await predictVolume(model, volume, { tta: true, uncertainty, postprocess: false });
    const plain = await predictVolume(model, volume, { tta: true, postprocess: false });
    await model.close();
    expect(changed(counted.data, plain.data)).toBe(0);
    expect(uncertainty.map((u) => u.slice).sort()).toEqual([0, 1, 2, 3, 4]);
    const [worst] = leastCertainSlices(uncertainty, 3);
    expect(worst).toMatchObject({ slice: 2 });
    expect(worst!.score).toBeGreaterThan(0.9);
    expect(worst!.classes['1']).toBe(worst!.score);
    // the crisp disks have no ambiguous pixel: nothing else is suggested
    expect(leastCertainSlices(uncertainty, 3)).toHaveLength(1);
    for (const u of uncertainty) if (u.slice !== 2) expect(u.score).toBe(0);
  });

  it('lists every slice for `nnsam predict --uncertainty`: slices not run (no body) score 0', () => {
    const run = { slice: 2, score: 0.8, classes: { '1': 0.8, '2': 0.1 }, ambiguousPixels: 40 };
    const all = everySlice([run], 4, 3);
    expect(all.map((s) => [s.slice, s.score, s.run])).toEqual([
      [0, 0, false],
      [1, 0, false],
      [2, 0.8, true],
      [3, 0, false],
    ]);
    expect(all[0]).toMatchObject({ classes: { '1': 0, '2': 0 }, ambiguousPixels: 0 });
    expect(all[2]).toMatchObject(run);
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

/** Share of voxels whose labels differ. */
function changed(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  a.forEach((v, i) => (n += v === b[i] ? 0 : 1));
  return n / a.length;
}

function testModel(
  file: string,
  plan: Plan,
  encoder: EncoderRef = NONE_ENCODER,
  encoderPath: string | null = null,
) {
  const info = {
    postprocessing: { largestComponent: [] },
    encoder,
    network: { file, int8: null },
  } as unknown as ModelInfo;
  return new LoadedModel(tmp, info, plan, encoderPath, 1);
}

describe("whole-slice inference on the trainer's network (instance norm, SAM embedding)", () => {
  const classes = { '1': 'disk', '2': 'square' };
  const encoderPath = join(tmp, 'tiny-encoder.onnx');
  const c = phantom([64, 64, 4], 5);
  let model: LoadedModel;
  beforeAll(async () => {
    buildTinyEncoder(encoderPath);
    const ref = await describeOnnxEncoder(encoderPath, 'tiny', 'file');
    const plan = planFromCases([{ ...c, labelledSlices: [0, 1] }], { classes, encoder: ref, cores: 1 });
    // slices of exactly one patch: the sliding window is one tile, the same input as the whole slice
    plan.network = { ...plan.network, patchSize: [64, 64] };
    expect(plan.embedding).not.toBeNull();
    exportPlanNetwork(plan, join(tmp, 'unet.onnx'), 3);
    model = testModel('unet.onnx', plan, ref, encoderPath);
  });
  afterAll(() => model.close());
  const cache = new EmbeddingCache(join(tmp, 'cache'));

  it('gives the sliding window its labels when the slice is one patch, mirrored or not', async () => {
    for (const tta of [false, true]) {
      const runs: InferenceRun[] = [];
      const whole = await predictVolume(model, c.image, {
        tta,
        cache,
        wholeSlice: true,
        onRun: (r) => runs.push(r),
      });
      const tiled = await predictVolume(model, c.image, { tta, cache, onRun: (r) => runs.push(r) });
      expect(runs.map((r) => [r.wholeSlice, r.starts.length])).toEqual([
        [true, 1],
        [false, 1],
      ]);
      expect(new Set(whole.data).size).toBeGreaterThan(1);
      expect(changed(whole.data, tiled.data), `tta ${tta}`).toBe(0);
    }
  });

  it('gives the same labels with several slices per onnxruntime run as with one', async () => {
    const runs: InferenceRun[] = [];
    const one = await predictVolume(model, c.image, { tta: true, cache, batchSize: 1 });
    const many = await predictVolume(model, c.image, { tta: true, cache, onRun: (r) => runs.push(r) });
    expect(runs[0]!.batch).toBe(8); // 4 slices x 4 mirror passes in two runs
    expect(changed(one.data, many.data)).toBe(0);
  });

  it('runs the encoder on anchor slices only with a stride, labelling them as with every slice', async () => {
    const runs: InferenceRun[] = [];
    const everyCache = new EmbeddingCache(join(tmp, 'cache-every'));
    const every = await predictVolume(model, c.image, { cache: everyCache, onRun: (r) => runs.push(r) });
    expect(new Set(every.data).size).toBeGreaterThan(1);
    const strideCache = new EmbeddingCache(join(tmp, 'cache-stride'));
    await predictVolume(model, c.image, {
      cache: strideCache,
      embeddingStride: 2,
      onRun: (r) => runs.push(r),
    });
    // 5 mm slices of a 64 mm field of view (1 mm cells): every slice by default
    expect(runs.map((r) => [r.embeddingStride, r.slicesRun])).toEqual([
      [1, 4],
      [2, 4],
    ]);
    expect(everyCache.misses).toBe(4);
    expect(strideCache.misses).toBe(3); // anchors 0, 2 and the last slice, 3; slice 1 is interpolated
    // labels before post-processing (its 3D components reach across slices)
    const exact = await predictVolume(model, c.image, { cache: everyCache, postprocess: false });
    const strided = await predictVolume(model, c.image, {
      cache: everyCache,
      embeddingStride: 2,
      postprocess: false,
    });
    const plane = 64 * 64;
    const slice = (v: Uint8Array, k: number) => v.subarray(k * plane, (k + 1) * plane);
    for (const k of [0, 2, 3])
      expect(changed(slice(exact.data, k), slice(strided.data, k)), `slice ${k}`).toBe(0);
  });

  it('runs the encoder and the network in turns on a CPU, labelling as when they overlap', async () => {
    // both sessions counted together: how many of their runs are in flight at once; each run lasts at least
    // 20 ms, as a real encoder's or network's would, so that runs not kept apart do overlap
    let running = 0;
    let most = 0;
    const counted = (session: RunSession): RunSession => ({
      inputNames: session.inputNames,
      outputNames: session.outputNames,
      device: session.device,
      run: async (feeds) => {
        most = Math.max(most, ++running);
        try {
          await new Promise((resolve) => setTimeout(resolve, 20));
          return await session.run(feeds);
        } finally {
          running--;
        }
      },
      release: () => session.release(),
    });
    const network = counted(await model.session());
    const encoder = counted((await model.encoderSession())!);
    const sessionSpy = vi.spyOn(model, 'session').mockResolvedValue(network);
    const encoderSpy = vi.spyOn(model, 'encoderSession').mockResolvedValue(encoder);
    const mosts: number[] = [];
    const runs: InferenceRun[] = [];
    const labels: Uint8Array[] = [];
    try {
      for (const overlapSessions of [undefined, true]) {
        most = 0;
        // one slice per run and no cache: the encoder runs for every slice, beside the previous slice's run
        const out = await predictVolume(model, c.image, {
          overlapSessions,
          batchSize: 1,
          onRun: (r) => runs.push(r),
        });
        mosts.push(most);
        labels.push(out.data);
      }
    } finally {
      sessionSpy.mockRestore();
      encoderSpy.mockRestore();
    }
    expect(runs.map((r) => r.overlapSessions)).toEqual([false, true]);
    expect(mosts).toEqual([1, 2]);
    expect(new Set(labels[0]).size).toBeGreaterThan(1);
    expect(changed(labels[0]!, labels[1]!)).toBe(0);
  });
});

/**
 * A local network: a 1x1 convolution thresholds the image at t0 and t1 (h = relu(x - t)), a 3x3 one turns the
 * 3x3 means of h into logits (0.2, 4 h0 - 3 h1, 16 h1 - 0.1). Zero padding in h is what lies below both
 * thresholds, so only pixels within one of a tile's inner edge see anything else.
 */
function localNetwork(path: string, t0: number, t1: number): void {
  python(
    `
import sys, torch, warnings
warnings.simplefilter("ignore")
t0, t1 = float(sys.argv[2]), float(sys.argv[3])
c1, c2 = torch.nn.Conv2d(1, 2, 1), torch.nn.Conv2d(2, 3, 3, padding=1)
with torch.no_grad():
    c1.weight[:] = 1.0
    c1.bias[:] = torch.tensor([-t0, -t1])
    c2.weight.zero_()
    c2.weight[1, 0] = 4 / 9
    c2.weight[1, 1] = -3 / 9
    c2.weight[2, 1] = 16 / 9
    c2.bias[:] = torch.tensor([0.2, 0.0, -0.1])
net = torch.nn.Sequential(c1, torch.nn.ReLU(), c2)
torch.onnx.export(net, (torch.zeros(1, 1, 16, 16),), sys.argv[1], input_names=["image"], output_names=["logits"],
                  dynamic_axes={"image": {0: "n", 2: "h", 3: "w"}, "logits": {0: "n", 2: "h", 3: "w"}}, opset_version=17,
                  dynamo=False)`,
    [path, String(t0), String(t1)],
  );
}

describe('a local network', () => {
  it("gives nearly the sliding window's labels whole-slice on slices larger than the patch", async () => {
    const c = phantom([96, 80, 3], 7);
    const plan = planFromCases([{ ...c, labelledSlices: [0] }], { classes: { '1': 'a', '2': 'b' } });
    plan.network = { ...plan.network, patchSize: [32, 24] };
    const t = intensityTransform(c.image, plan.normalization);
    localNetwork(join(tmp, 'local-mr.onnx'), 70 * t.scale + t.offset, 140 * t.scale + t.offset);
    const model = testModel('local-mr.onnx', plan);
    const runs: InferenceRun[] = [];
    const whole = await predictVolume(model, c.image, { wholeSlice: true, onRun: (r) => runs.push(r) });
    const tiled = await predictVolume(model, c.image, { onRun: (r) => runs.push(r) }); // the default
    await model.close();
    expect(runs[0]).toMatchObject({ wholeSlice: true, tta: false, inputsPerSlice: 1 }); // CPU: no mirroring
    expect(runs[1]!.starts.length).toBeGreaterThan(9);
    expect(new Set(whole.data).size).toBe(3);
    // only pixels next to an inner tile edge differ, and those tiles weigh little there (Gaussian blending)
    expect(changed(whole.data, tiled.data)).toBeLessThan(1e-3);
  });

  it('labels the same with and without cropping to the body when what is cropped is air (CT)', async () => {
    // air around an elliptic body (a fat rim, soft tissue, a bright disk); the first and last slices are air
    const [nx, ny, nz] = [128, 112, 6];
    const image = new Int16Array(nx * ny * nz).fill(-1000);
    const labels = new Uint8Array(nx * ny * nz);
    for (let k = 1; k < nz - 1; k++) {
      for (let j = 0; j < ny; j++) {
        for (let i = 0; i < nx; i++) {
          const e = ((i - 60) / 22) ** 2 + ((j - 52) / 15) ** 2;
          if (e > 1) continue;
          const n = i + nx * (j + ny * k);
          const disk = (i - 54 - k) ** 2 + (j - 50) ** 2 < 25;
          image[n] = e > 0.75 ? -100 : disk ? 200 : 40;
          labels[n] = e > 0.75 ? 1 : disk ? 2 : 0;
        }
      }
    }
    const g = geometry([nx, ny, nz]);
    const ct = { image: { geometry: g, data: image }, labels: { geometry: g, data: labels } };
    const plan = planFromCases([{ ...ct, labelledSlices: [2, 3] }], {
      classes: { '1': 'tissue', '2': 'disk' },
      modality: 'CT',
    });
    plan.network = { ...plan.network, patchSize: [16, 16], divisibleBy: [16, 16] };
    const t = intensityTransform(ct.image, plan.normalization);
    localNetwork(join(tmp, 'local-ct.onnx'), -30 * t.scale + t.offset, 120 * t.scale + t.offset);
    const model = testModel('local-ct.onnx', plan);
    const runs: InferenceRun[] = [];
    const events: number[] = [];
    const cropped = await predictVolume(model, ct.image, {
      onRun: (r) => runs.push(r),
      onProgress: (e) => e.type === 'stage' && e.stage === 'inference' && events.push(e.done ?? 0),
    });
    const uncropped = await predictVolume(model, ct.image, { crop: false, onRun: (r) => runs.push(r) });
    await model.close();
    expect(runs[0]).toMatchObject({ slicesRun: 4, slicesSkipped: 2 });
    expect(runs[1]).toMatchObject({ slicesRun: 6, slicesSkipped: 0, region: [0, 0, ny, nx] });
    const [r0, c0, r1, c1] = runs[0]!.region;
    expect((r1 - r0) * (c1 - c0)).toBeLessThan(0.8 * nx * ny);
    expect(events).toEqual([2, 3, 4, 5, 6]); // the slices without body count as done at once
    expect(new Set(uncropped.data)).toEqual(new Set([0, 1, 2]));
    expect(changed(cropped.data, uncropped.data)).toBe(0);
  });
});
