import { mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { fromHalf, float32ToHalf, halfToFloat32 } from '../float16.js';
import { buildTinyEncoder, python } from '../../../../test/support/engine-fixtures.js';
import { EmbeddingCache, embeddingKey } from './cache.js';
import { Embedder, EMBEDDING_LENGTH } from './embedder.js';
import { locateEncoder, resolveEncoder } from './registry.js';
import { samInput } from './sam-input.js';

const tmp = mkdtempSync(join(tmpdir(), 'nnsam-encoders-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const tinyPath = join(tmp, 'tiny_encoder.onnx');
buildTinyEncoder(tinyPath);

describe('float16', () => {
  it('rounds like numpy astype(float16)', () => {
    const values = Float32Array.from([0, -0.5, 1 / 3, 65504, 70000, 1e-6, 6e-8, -123.456, 2.0009765625]);
    const ref = JSON.parse(
      python(
        `import json, sys, numpy as np
with np.errstate(over="ignore"):
    print(json.dumps(np.array(json.loads(sys.argv[1]), np.float32).astype(np.float16).view(np.uint16).tolist()))`,
        [JSON.stringify(Array.from(values))],
      ),
    );
    expect(Array.from(float32ToHalf(values))).toEqual(ref);
    expect(halfToFloat32(Uint16Array.from([0x3c00, 0xc000, 0x7c00]))).toEqual(
      Float32Array.from([1, -2, Infinity]),
    );
    expect(fromHalf(0x0001)).toBeCloseTo(5.96e-8, 10);
  });
});

describe('embedding cache', () => {
  it('keys by encoder id, dims and slice bytes; persists float16 on disk; treats a torn file as a miss', async () => {
    const dir = join(tmp, 'cache');
    const slice = Float32Array.from({ length: 12 }, (_, n) => n);
    const key = embeddingKey('tiny:abc', 3, 4, slice);
    expect(embeddingKey('tiny:abd', 3, 4, slice)).not.toBe(key);
    expect(embeddingKey('tiny:abc', 4, 3, slice)).not.toBe(key);
    expect(
      embeddingKey(
        'tiny:abc',
        3,
        4,
        Float32Array.from(slice, (v) => v + 1e-3),
      ),
    ).not.toBe(key);

    const cache = new EmbeddingCache(dir, { memoryEntries: 1 });
    expect(await cache.get(key, 5)).toBeNull();
    const stored = await cache.put(key, Float32Array.from([0.1, 0.2, 0.3, 1000.5, -2]));
    expect(stored[0]).toBeCloseTo(0.1, 3);
    const fresh = new EmbeddingCache(dir);
    expect(Array.from((await fresh.get(key, 5))!)).toEqual(Array.from(stored));
    expect(fresh.hits).toBe(1);
    // a file of the wrong size (torn write from another tool) is ignored
    const file = join(dir, key.slice(0, 2), `${key}.f16`);
    writeFileSync(file, new Uint8Array(3));
    expect(await new EmbeddingCache(dir).get(key, 5)).toBeNull();
    expect(readdirSync(join(dir, key.slice(0, 2))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('SAM input', () => {
  it('matches the PyTorch definition (percentiles, bilinear 1024, 3 channels, SAM mean/std)', () => {
    const [h, w] = [23, 31];
    const slice = Float32Array.from({ length: h * w }, (_, n) => Math.cos(n * 0.11) * 3 + (n % 7));
    const ref = JSON.parse(
      python(
        `
import json, sys, numpy as np, torch, torch.nn.functional as F
h, w = 23, 31
x = np.array(json.loads(sys.argv[1]), np.float32).reshape(h, w)
lo, hi = np.percentile(x, [0.5, 99.5])
x = np.clip((x - lo) / (hi - lo) * 255, 0, 255).astype(np.float32)
t = F.interpolate(torch.from_numpy(x)[None, None], size=(1024, 1024), mode="bilinear", align_corners=False)[0, 0]
mean = torch.tensor([123.675, 116.28, 103.53])[:, None, None]
std = torch.tensor([58.395, 57.12, 57.375])[:, None, None]
t = (t[None].repeat(3, 1, 1) - mean) / std
idx = [0, 1, 5000, 524287, 1048575, 1048576 + 777777, 2 * 1048576 + 123456, 3 * 1048576 - 1]
print(json.dumps([t.flatten()[i].item() for i in idx]))`,
        [JSON.stringify(Array.from(slice))],
      ),
    ) as number[];
    const ours = samInput(slice, h, w);
    expect(ours.length).toBe(3 * 1024 * 1024);
    const idx = [0, 1, 5000, 524287, 1048575, 1048576 + 777777, 2 * 1048576 + 123456, 3 * 1048576 - 1];
    idx.forEach((i, n) => expect(ours[i]).toBeCloseTo(ref[n]!, 3));
  });
});

describe('encoder registry', () => {
  it('resolves none, falls back from auto to none with a warning, and rejects unknown names', async () => {
    expect((await resolveEncoder('none')).ref.id).toBe('none');
    const auto = await resolveEncoder('auto');
    expect(auto.ref.kind).toBe('none');
    expect(auto.warning).toMatch(/MobileSAM is not available/);
    await expect(resolveEncoder('mobilesam')).rejects.toMatchObject({ code: 'encoder_unavailable' });
    await expect(resolveEncoder('sam-huge')).rejects.toMatchObject({ code: 'unknown_encoder' });
  });

  it('accepts an ONNX encoder with the SAM shapes, identified by name and hash', async () => {
    const { ref } = await resolveEncoder(tinyPath);
    expect(ref.id).toMatch(/^tiny_encoder:[0-9a-f]{16}$/);
    expect(ref.path).toBe(tinyPath);
    expect(await locateEncoder(ref)).toBe(tinyPath);
    const copy = join(tmp, 'other.onnx');
    buildTinyEncoder(copy, 256, 64);
    // same weights, same bytes: the same encoder
    expect(await locateEncoder(ref, copy)).toBe(copy);
  });

  it('rejects an ONNX file with the wrong output shape, and a different encoder at predict time', async () => {
    const wrong = join(tmp, 'wrong.onnx');
    buildTinyEncoder(wrong, 128, 64);
    await expect(resolveEncoder(wrong)).rejects.toThrow(
      /not a usable SAM image encoder: output embedding has shape \[1,128,64,64\]/,
    );
    const { ref } = await resolveEncoder(tinyPath);
    await expect(locateEncoder(ref, wrong)).rejects.toMatchObject({ code: 'encoder_mismatch' });
    await expect(locateEncoder({ ...ref, path: '/nowhere/x.onnx' })).rejects.toMatchObject({
      code: 'encoder_missing',
    });
  });

  it('embeds a slice once: the second call is served by the cache', async () => {
    const { ref } = await resolveEncoder(tinyPath);
    const cache = new EmbeddingCache(join(tmp, 'cache2'));
    const embedder = await Embedder.open(ref, tinyPath, { threads: 1, cache });
    const slice = Float32Array.from({ length: 40 * 30 }, (_, n) => (n % 40) / 40);
    const a = await embedder.embed(slice, 30, 40);
    const b = await embedder.embed(slice, 30, 40);
    await embedder.close();
    expect(a.length).toBe(EMBEDDING_LENGTH);
    expect(cache.misses).toBe(1);
    expect(cache.hits).toBe(1);
    expect(b).toEqual(a);
    expect(a.some((v) => v !== 0)).toBe(true);
  });
});
