/**
 * The engine's embedding cache, timed: SAM embeddings of N slices through Embedder + EmbeddingCache with
 * an empty cache folder (cold: SAM input, encoder, float16 write) and again with a fresh cache object on the
 * same folder (warm: every slice a hit read from disk, not from the in-memory LRU).
 *
 *   node bench/dist/embed-cache.js --encoder ENC.onnx --image A.nii.gz [--image ...] [--slices 8] \
 *     [--runs 3] [--threads 2] [--dir DIR]
 *
 * Slices are z-scored per volume (the engine's normalization for non-CT images); the cost of an embedding
 * does not depend on the values. Prints one JSON object.
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { Embedder, EmbeddingCache, readNifti, resolveEncoder, type Volume } from '@nnsam/server';

import { peakRssMiB } from './ort-node-speed.js';

export interface Slice2 {
  data: Float32Array;
  rows: number;
  cols: number;
}

/** The first `count` slices of the volumes (in order), each volume z-scored as a whole. */
export function zScoredSlices(volumes: Volume[], count: number): Slice2[] {
  const out: Slice2[] = [];
  for (const v of volumes) {
    const [cols, rows, nz] = v.geometry.dims;
    let sum = 0;
    let sq = 0;
    for (const x of v.data) {
      sum += x;
      sq += x * x;
    }
    const mean = sum / v.data.length;
    const std = Math.sqrt(Math.max(sq / v.data.length - mean * mean, 0)) || 1;
    for (let k = 0; k < nz && out.length < count; k++) {
      const data = new Float32Array(rows * cols);
      for (let p = 0; p < rows * cols; p++) data[p] = (v.data[k * rows * cols + p]! - mean) / std;
      out.push({ data, rows, cols });
    }
  }
  if (out.length < count)
    throw new Error(`the volumes hold ${out.length} slices; --slices asks for ${count}`);
  return out;
}

async function folderBytes(dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      files++;
      bytes += (await stat(join(entry.parentPath, entry.name))).size;
    }
  }
  return { files, bytes };
}

async function embedAll(embedder: Embedder, slices: Slice2[]): Promise<number[]> {
  const seconds: number[] = [];
  for (const s of slices) {
    const started = performance.now();
    await embedder.embed(s.data, s.rows, s.cols);
    seconds.push((performance.now() - started) / 1000);
  }
  return seconds;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      encoder: { type: 'string' },
      image: { type: 'string', multiple: true },
      slices: { type: 'string', default: '8' },
      runs: { type: 'string', default: '3' },
      threads: { type: 'string' },
      dir: { type: 'string' },
    },
  });
  if (!values.encoder || !values.image?.length) {
    throw new Error('usage: embed-cache --encoder ENC.onnx --image A.nii.gz [--slices N] [--runs N]');
  }
  const threads = values.threads ? Number(values.threads) : undefined;
  const slices = zScoredSlices(
    await Promise.all(values.image.map((p) => readNifti(p))),
    Number(values.slices),
  );
  const { ref } = await resolveEncoder(values.encoder);
  const base = values.dir ?? (await mkdtemp(join(tmpdir(), 'nnsam-bench-embed-')));
  const cold: number[][] = [];
  const warm: number[][] = [];
  let size = { files: 0, bytes: 0 };
  let hits = 0;
  let misses = 0;
  let openSeconds = 0;
  try {
    for (let run = 0; run < Number(values.runs); run++) {
      const dir = join(base, `run${run}`);
      const started = performance.now();
      const embedder = await Embedder.open(ref, values.encoder, { threads, cache: new EmbeddingCache(dir) });
      openSeconds = (performance.now() - started) / 1000;
      try {
        cold.push(await embedAll(embedder, slices));
        size = await folderBytes(dir);
        // a fresh cache object: its in-memory LRU is empty, every hit is read from the folder
        const again = await Embedder.open(ref, values.encoder, { threads, cache: new EmbeddingCache(dir) });
        try {
          warm.push(await embedAll(again, slices));
          hits += again.cache.hits;
          misses += again.cache.misses;
        } finally {
          await again.close();
        }
      } finally {
        await embedder.close();
      }
    }
  } finally {
    if (!values.dir) await rm(base, { recursive: true, force: true });
  }
  const result = {
    runtime: 'engine-embedding-cache',
    encoder: ref.id,
    threads: threads ?? null,
    slices: slices.length,
    sliceShape: [slices[0]!.rows, slices[0]!.cols],
    sessionOpenSeconds: openSeconds,
    coldSeconds: cold,
    warmSeconds: warm,
    warmHits: hits,
    warmMisses: misses,
    cacheFiles: size.files,
    cacheBytes: size.bytes,
    peakRssMiB: peakRssMiB(),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`embed-cache: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
