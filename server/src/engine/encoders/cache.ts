/**
 * On-disk cache of SAM embeddings. The encoder is frozen, so a slice is embedded once: the key is
 * sha256(encoder id, slice dims, slice bytes) of the preprocessed slice. Entries are raw float16
 * (256x64x64 = 2 MiB), written to a temporary name and renamed, so a crash never leaves a torn entry.
 * An in-memory LRU of a few entries sits on top (training and validation read the same slices again).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { repoRoot } from '../../util/paths.js';
import { float32ToHalf, halfToFloat32 } from '../float16.js';

/** Cache root: $NNSAM_CACHE_DIR, else <$NNSAM_DATA or <repo>/.data>/cache (the server sets it to its data directory). */
export function defaultCacheRoot(): string {
  if (process.env.NNSAM_CACHE_DIR) return process.env.NNSAM_CACHE_DIR;
  return join(process.env.NNSAM_DATA ?? join(repoRoot, '.data'), 'cache');
}

/** Embeddings live in <cache root>/embeddings. */
export function defaultCacheDir(): string {
  return join(defaultCacheRoot(), 'embeddings');
}

export function embeddingKey(encoderId: string, rows: number, cols: number, slice: Float32Array): string {
  const h = createHash('sha256');
  h.update(`${encoderId}\n${rows}x${cols}\n`);
  h.update(new Uint8Array(slice.buffer, slice.byteOffset, slice.byteLength));
  return h.digest('hex');
}

export class EmbeddingCache {
  readonly dir: string;
  private readonly lru = new Map<string, Float32Array>();
  private readonly lruSize: number;
  hits = 0;
  misses = 0;

  constructor(dir: string = defaultCacheDir(), options: { memoryEntries?: number } = {}) {
    this.dir = dir;
    this.lruSize = options.memoryEntries ?? 16;
  }

  private pathOf(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.f16`);
  }

  async get(key: string, length: number): Promise<Float32Array | null> {
    const mem = this.lru.get(key);
    if (mem) {
      this.lru.delete(key);
      this.lru.set(key, mem);
      this.hits++;
      return mem;
    }
    let bytes: Buffer;
    try {
      bytes = await readFile(this.pathOf(key));
    } catch {
      this.misses++;
      return null;
    }
    if (bytes.byteLength !== length * 2) {
      // a file of the wrong size is not ours to trust: treat as a miss and let put() replace it
      this.misses++;
      return null;
    }
    const halves = new Uint16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const value = halfToFloat32(halves);
    this.remember(key, value);
    this.hits++;
    return value;
  }

  /** Stores the embedding (as float16) and returns the float16-rounded values that later reads will see. */
  async put(key: string, value: Float32Array): Promise<Float32Array> {
    const halves = float32ToHalf(value);
    const path = this.pathOf(key);
    await mkdir(join(this.dir, key.slice(0, 2)), { recursive: true });
    const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, new Uint8Array(halves.buffer));
      await rename(tmp, path);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    const rounded = halfToFloat32(halves);
    this.remember(key, rounded);
    return rounded;
  }

  private remember(key: string, value: Float32Array): void {
    this.lru.set(key, value);
    while (this.lru.size > this.lruSize) this.lru.delete(this.lru.keys().next().value!);
  }
}

/** A fresh random id, for temporary names. */
export function randomId(): string {
  return randomBytes(6).toString('hex');
}
