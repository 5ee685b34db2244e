import { describe, expect, it } from 'vitest';

import { geometry } from '../../../../test/support/engine-fixtures.js';
import { InterpolatedEmbeddings, embeddingSliceStride } from './embedding-slices.js';

describe('the SAM encoder slice stride', () => {
  it('samples the slice axis twice per embedding cell: thin CT gets a stride, thick slices none', () => {
    // 512 x 0.75 mm = 384 mm field of view: 6 mm per embedding cell
    expect(embeddingSliceStride(geometry([512, 512, 300], [0.75, 0.75, 1]))).toBe(3);
    expect(embeddingSliceStride(geometry([512, 512, 600], [0.75, 0.75, 0.5]))).toBe(6);
    expect(embeddingSliceStride(geometry([512, 512, 120], [0.75, 0.75, 2.5]))).toBe(1);
    // the finer of the two in-plane cells decides (a 192 mm-wide field of view: 3 mm cells)
    expect(embeddingSliceStride(geometry([256, 512, 300], [0.75, 0.75, 1]))).toBe(1);
    // ACDC: 10 mm slices
    expect(embeddingSliceStride(geometry([216, 256, 10], [1.5, 1.5, 10]))).toBe(1);
    // too few slices or no spacing to go by
    expect(embeddingSliceStride(geometry([512, 512, 2], [0.75, 0.75, 0.5]))).toBe(1);
    expect(embeddingSliceStride(geometry([512, 512, 50], [0.75, 0.75, 0]))).toBe(1);
  });
});

describe('interpolated embeddings', () => {
  /** An "encoder" whose embedding of slice k is [k, 10 k, -k]: linear in k, so interpolation is exact. */
  function encoder() {
    const calls: number[] = [];
    const embed = (k: number) => {
      calls.push(k);
      return Promise.resolve(Float32Array.of(k, 10 * k, -k));
    };
    return { calls, embed };
  }

  it('runs the encoder once per anchor and interpolates every other slice linearly', async () => {
    const { calls, embed } = encoder();
    const e = new InterpolatedEmbeddings(embed, 3, 2, 12);
    expect(e.anchorSlices()).toEqual([2, 5, 8, 11, 12]);
    for (let k = 2; k <= 12; k++) expect([...(await e.get(k))]).toEqual([k, 10 * k, -k]);
    expect(calls).toEqual([2, 5, 8, 11, 12]);
  });

  it('mixes the two anchors around a slice by its distance to them', async () => {
    const embed = (k: number) => Promise.resolve(Float32Array.of(k === 0 ? 0 : 1));
    const e = new InterpolatedEmbeddings(embed, 4, 0, 4);
    expect((await e.get(1))[0]).toBeCloseTo(0.25, 6);
    expect((await e.get(3))[0]).toBeCloseTo(0.75, 6);
  });

  it('with stride 1 embeds every slice itself', async () => {
    const { calls, embed } = encoder();
    const e = new InterpolatedEmbeddings(embed, 1, 0, 4);
    for (const k of [0, 1, 3, 4]) await e.get(k);
    expect(calls).toEqual([0, 1, 3, 4]);
  });

  it('refuses a stride below 1 and slices outside its range', async () => {
    const { embed } = encoder();
    expect(() => new InterpolatedEmbeddings(embed, 0, 0, 4)).toThrow(/stride must be >= 1/);
    await expect(new InterpolatedEmbeddings(embed, 2, 3, 9).get(10)).rejects.toThrow(/outside 3\.\.9/);
  });

  it('passes an encoder failure to the slice that needed it', async () => {
    const e = new InterpolatedEmbeddings((k) => Promise.reject(new Error(`encoder failed on ${k}`)), 2, 0, 4);
    await expect(e.get(1)).rejects.toThrow(/encoder failed on 0/);
  });
});
