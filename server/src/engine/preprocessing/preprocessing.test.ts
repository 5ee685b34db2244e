import { describe, expect, it } from 'vitest';

import { meanStd } from '../numeric.js';
import { planFromCases } from '../planning/plan.js';
import { phantom, python } from '../../../../test/support/engine-fixtures.js';
import { resizeBilinear } from '../encoders/sam-input.js';
import { intensityTransform, normalizeInto } from './normalize.js';
import { createPreprocessor, middleSlice } from './preprocess.js';
import { resampleImage, resampleLabels, resampleProbabilities, resampledShape } from './resample.js';

describe('normalization', () => {
  it('z-scores a volume with its own statistics (MR and other)', () => {
    const { image } = phantom([30, 20, 3]);
    const t = intensityTransform(image, { scheme: 'ZScoreNormalization' });
    const out = normalizeInto(image.data, 0, image.data.length, t, new Float32Array(image.data.length));
    const { mean, std } = meanStd(out);
    expect(mean).toBeCloseTo(0, 5);
    expect(std).toBeCloseTo(1, 4);
  });

  it('clips CT to the planned percentiles before the z-score', () => {
    const data = Float32Array.from([-1000, 0, 50, 100, 3000]);
    const vol = { geometry: phantom([5, 1, 1]).image.geometry, data };
    const t = intensityTransform(vol, { scheme: 'CTNormalization', lower: 0, upper: 100, mean: 50, std: 25 });
    const out = normalizeInto(data, 0, 5, t, new Float32Array(5));
    expect(Array.from(out)).toEqual([-2, -2, 0, 2, 2]);
  });
});

describe('resampling', () => {
  it("computes nnU-Net's new shape and leaves same-shape slices untouched", () => {
    expect(resampledShape([100, 80], [0.5, 1.25], [1, 1])).toEqual([50, 100]);
    const src = Float32Array.from({ length: 12 }, (_, n) => n * 1.5);
    expect(Array.from(resampleImage(src, [3, 4], [3, 4]))).toEqual(Array.from(src));
  });

  it('reproduces a linear ramp away from the borders (cubic, half-pixel centres)', () => {
    const [h, w, H, W] = [20, 30, 37, 45];
    const src = new Float32Array(h * w);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) src[y * w + x] = 2 * x + 3 * y;
    const out = resampleImage(src, [h, w], [H, W]);
    for (let y = 4; y < H - 4; y++) {
      for (let x = 4; x < W - 4; x++) {
        const sx = ((x + 0.5) * w) / W - 0.5;
        const sy = ((y + 0.5) * h) / H - 0.5;
        expect(out[y * W + x]).toBeCloseTo(2 * sx + 3 * sy, 3);
      }
    }
  });

  it('matches torch bilinear interpolation (align_corners=False) for SAM input and probabilities', () => {
    const [h, w, H, W] = [13, 17, 40, 29];
    const src = Float32Array.from({ length: h * w }, (_, n) => Math.sin(n * 0.37) * 10);
    const ref = JSON.parse(
      python(
        `
import json, sys, torch, torch.nn.functional as F
h, w, H, W = 13, 17, 40, 29
x = torch.tensor(json.loads(sys.argv[1]), dtype=torch.float32).reshape(1, 1, h, w)
print(json.dumps(F.interpolate(x, size=(H, W), mode="bilinear", align_corners=False).flatten().tolist()))`,
        [JSON.stringify(Array.from(src))],
      ),
    ) as number[];
    const ours = resizeBilinear(src, h, w, H, W);
    const probs = resampleProbabilities(src, 1, [h, w], [H, W]);
    let maxDiff = 0;
    ref.forEach((v, n) => (maxDiff = Math.max(maxDiff, Math.abs(v - ours[n]!), Math.abs(v - probs[n]!))));
    expect(maxDiff).toBeLessThan(1e-4);
  });

  it('resamples labels by linear interpolation of one-hot masks', () => {
    // a 4x4 block of class 3 inside class 1, upsampled 2x: the block doubles, no other values appear
    const src = new Uint8Array(64).fill(1);
    for (let y = 2; y < 6; y++) for (let x = 2; x < 6; x++) src[y * 8 + x] = 3;
    const out = resampleLabels(src, [8, 8], [16, 16]);
    expect(new Set(out)).toEqual(new Set([1, 3]));
    expect(out.filter((v) => v === 3).length).toBe(64);
    expect(out[5 * 16 + 5]).toBe(3);
    expect(out[3 * 16 + 3]).toBe(1);
    // downsampling keeps the ignore value as a class of its own
    const ignore = new Uint8Array(64).fill(255);
    ignore.fill(2, 0, 32);
    expect(new Set(resampleLabels(ignore, [8, 8], [4, 4]))).toEqual(new Set([2, 255]));
  });
});

describe('preprocessor', () => {
  it('gives training and inference the same slices: normalized, resampled to the target spacing', () => {
    const a = phantom([40, 30, 4], 1, [0.5, 0.5, 5]);
    const b = phantom([20, 15, 4], 2, [1, 1, 5]);
    const plan = planFromCases(
      [
        { ...a, labelledSlices: [1] },
        { ...b, labelledSlices: [2] },
        { ...b, labelledSlices: [3] },
      ],
      { classes: { '1': 'disk', '2': 'square' } },
    );
    expect(plan.targetSpacing).toEqual([1, 1]);
    const pre = createPreprocessor(a.image, plan);
    expect(pre.shape).toEqual([15, 20]);
    expect(pre.originalShape).toEqual([30, 40]);
    const s = pre.slice(1);
    expect(s.length).toBe(15 * 20);
    expect(Array.from(pre.slice(1))).toEqual(Array.from(s));
    const labels = pre.labels(a.labels, 1);
    expect(labels.length).toBe(15 * 20);
    // the disk is bright in the normalized image too
    let inDisk = 0;
    let n = 0;
    labels.forEach((l, p) => {
      if (l === 1) {
        inDisk += s[p]!;
        n++;
      }
    });
    expect(inDisk / n).toBeGreaterThan(1);
  });

  it('stacks a slice with its neighbours for a 2.5D network, repeating the end slice past either end', () => {
    const a = phantom([20, 16, 4], 3, [1, 1, 1]);
    const plan = planFromCases([{ ...a, labelledSlices: [1] }], { classes: { '1': 'disk', '2': 'square' } });
    const pre = createPreprocessor(a.image, plan);
    const pixels = pre.shape[0] * pre.shape[1];
    for (const k of [0, 1, 2, 3]) {
      const input = pre.input(k, 3);
      expect(input.length).toBe(3 * pixels);
      [k - 1, k, k + 1].forEach((j, c) => {
        const expected = pre.slice(Math.min(3, Math.max(0, j)));
        expect(Array.from(input.subarray(c * pixels, (c + 1) * pixels)), `slice ${k} channel ${c}`).toEqual(
          Array.from(expected),
        );
      });
      expect(Array.from(middleSlice(input, 3))).toEqual(Array.from(pre.slice(k)));
    }
    expect(Array.from(pre.input(2, 1))).toEqual(Array.from(pre.slice(2)));
    expect(() => pre.input(1, 2)).toThrow(/odd/);
  });
});
