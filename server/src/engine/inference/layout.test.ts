import { describe, expect, it } from 'vitest';

import { geometry } from '../../../../test/support/engine-fixtures.js';
import { BODY_HU, bodyExtent, type Box } from './body.js';
import { CROP_MARGIN, inferenceLayout, type LayoutInput } from './layout.js';
import { mirrorPasses, resolveTta, ttaFromSetting } from './tta.js';

const base: LayoutInput = {
  slice: [512, 512],
  original: [512, 512],
  body: null,
  patch: [320, 256],
  divisibleBy: [64, 64],
  align: [8, 8],
  tileStep: 0.5,
  wholeSlice: true,
  maxPixels: 1 << 20,
  batchSize: 8,
};

const inside = (inner: Box, outer: Box) =>
  inner[0] >= outer[0] && inner[1] >= outer[1] && inner[2] <= outer[2] && inner[3] <= outer[3];

describe('inference layout', () => {
  it('runs a slice that fits the pixel limit whole, batching as many as fit', () => {
    const l = inferenceLayout(base);
    expect(l.wholeSlice).toBe(true);
    expect(l.canvas).toEqual([512, 512]);
    expect(l.tile).toEqual([512, 512]);
    expect(l.starts).toEqual([[0, 0]]);
    expect(l.batch).toBe(4); // 2^20 pixels / 512^2
    expect(inferenceLayout({ ...base, batchSize: 2 }).batch).toBe(2);
    // padded at the end to the divisibility, and at least the patch (as the trainer validates)
    expect(inferenceLayout({ ...base, slice: [500, 130], original: [500, 130] }).canvas).toEqual([512, 256]);
  });

  it("falls back to nnU-Net's sliding window above the pixel limit or when asked", () => {
    for (const l of [
      inferenceLayout({ ...base, maxPixels: 200_000 }),
      inferenceLayout({ ...base, wholeSlice: false }),
    ]) {
      expect(l.wholeSlice).toBe(false);
      expect(l.tile).toEqual([320, 256]);
      expect(l.starts.length).toBe(9); // 3 x 3 half-overlapping tiles
      for (const [y, x] of l.starts) expect([y % 8, x % 8]).toEqual([0, 0]);
    }
    expect(inferenceLayout({ ...base, maxPixels: 200_000 }).batch).toBe(2); // 200000 / (320 x 256)
  });

  it('crops to the body when that is clearly smaller, with real pixels up to the divisibility', () => {
    const body: Box = [100, 40, 400, 470]; // 300 x 430 of 512 x 512
    const l = inferenceLayout({ ...base, body });
    expect(l.keep).toEqual([99, 39, 401, 471]);
    expect(inside(l.keep, l.region)).toBe(true);
    expect(inside(l.region, [0, 0, 512, 512])).toBe(true);
    expect(l.region[0] % 8).toBe(0);
    expect(l.region[1] % 8).toBe(0);
    expect(l.region[0]).toBeLessThanOrEqual(l.keep[0] - CROP_MARGIN);
    const size = [l.region[2] - l.region[0], l.region[3] - l.region[1]];
    expect(size).toEqual([384, 512]); // 334 rows -> 384 of real pixels; 462 columns -> the whole 512
    expect(l.canvas).toEqual([384, 512]);
    expect(l.batch).toBe(5);
  });

  it('keeps the whole slice when the body fills most of it, and maps the body box to a resampled grid', () => {
    const l = inferenceLayout({ ...base, body: [10, 10, 500, 480] });
    expect(l.region).toEqual([0, 0, 512, 512]);
    expect(l.keep).toEqual([9, 9, 501, 481]);
    const r = inferenceLayout({ ...base, original: [256, 256], body: [100, 100, 150, 150] });
    expect(r.keep).toEqual([199, 199, 301, 301]);
    expect(inside(r.keep, r.region)).toBe(true);
  });
});

describe('body extent', () => {
  it('finds the CT body above -500 HU and the slices without any', () => {
    const [nx, ny, nz] = [12, 10, 4];
    const data = new Int16Array(nx * ny * nz).fill(-1000);
    const set = (i: number, j: number, k: number, v: number) => (data[i + nx * (j + ny * k)] = v);
    set(3, 2, 1, 40);
    set(8, 6, 2, BODY_HU + 1);
    set(11, 9, 2, BODY_HU); // at the threshold: air
    const ct = bodyExtent({ geometry: geometry([nx, ny, nz]), data }, 'CT');
    expect(ct.box).toEqual([2, 3, 7, 9]);
    expect(ct.slices).toEqual([false, true, true, false]);
    // other modalities: nnU-Net's non-zero rule
    const mr = bodyExtent({ geometry: geometry([nx, ny, nz]), data: new Float32Array(nx * ny * nz) }, 'MR');
    expect(mr.box).toBeNull();
    expect(mr.slices).toEqual([false, false, false, false]);
  });
});

describe('test-time augmentation policy', () => {
  it('takes the first explicit choice, else the device default (GPU mirrors, CPU does not)', () => {
    expect(resolveTta('cpu')).toBe(false);
    expect(resolveTta('cuda')).toBe(true);
    expect(resolveTta('cpu', undefined, null, true)).toBe(true);
    expect(resolveTta('cuda', false, true)).toBe(false);
    expect(ttaFromSetting('auto')).toBeUndefined();
    expect(ttaFromSetting('on')).toBe(true);
    expect(ttaFromSetting('off')).toBe(false);
  });

  it("mirrors over the plan's axes", () => {
    expect(mirrorPasses([0, 1], false)).toEqual([[false, false]]);
    expect(mirrorPasses([0, 1], true)).toEqual([
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ]);
    expect(mirrorPasses([1], true)).toEqual([
      [false, false],
      [false, true],
    ]);
  });
});
