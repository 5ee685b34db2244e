/**
 * Times the engine's own inference path (predictVolume: preprocessing, SAM embedding through the cache,
 * tiles, test-time augmentation, softmax, resampling, argmax, post-processing) on NIfTI volumes, split by
 * stage with predictVolume's `timings` hook.
 *
 *   node bench/dist/engine-predict.js --model MODEL_DIR --image A.nii.gz [--image B.nii.gz] \
 *     [--runs 3] [--warmup 1] [--threads 2] [--tta on|off] [--cache-dir DIR]
 *
 * Prints one JSON object: per timed run the seconds of each stage and in total, slices, peak RSS.
 * Without --cache-dir an empty embedding cache folder is made per run (every run embeds afresh).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import {
  EmbeddingCache,
  emptyPredictTimings,
  loadModel,
  predictVolume,
  readNifti,
  type PredictTimings,
  type Volume,
} from '@nnsam/server';

import { peakRssMiB } from './ort-node-speed.js';

export interface PredictRun {
  seconds: number;
  slices: number;
  stages: PredictTimings;
}

/** One predictVolume call per volume, timed; stages summed over the volumes. */
export async function timedPredict(
  modelDir: string,
  volumes: Volume[],
  options: { tta: boolean; threads?: number; cacheDir?: string },
): Promise<PredictRun> {
  const model = await loadModel(modelDir, { threads: options.threads });
  const cacheDir = options.cacheDir ?? (await mkdtemp(join(tmpdir(), 'nnsam-bench-cache-')));
  try {
    const stages = emptyPredictTimings();
    const cache = new EmbeddingCache(cacheDir);
    const started = performance.now();
    let slices = 0;
    for (const volume of volumes) {
      await predictVolume(model, volume, { tta: options.tta, cache, timings: stages });
      slices += volume.geometry.dims[2];
    }
    return { seconds: (performance.now() - started) / 1000, slices, stages };
  } finally {
    await model.close();
    if (!options.cacheDir) await rm(cacheDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      image: { type: 'string', multiple: true },
      runs: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '1' },
      threads: { type: 'string' },
      tta: { type: 'string', default: 'off' },
      'cache-dir': { type: 'string' },
    },
  });
  if (!values.model || !values.image?.length) {
    throw new Error(
      'usage: engine-predict --model MODEL_DIR --image A.nii.gz [--image ...] [--runs N] [--tta on]',
    );
  }
  if (values.tta !== 'on' && values.tta !== 'off')
    throw new Error(`--tta must be on or off, got ${values.tta}`);
  const volumes = await Promise.all(values.image.map((path) => readNifti(path)));
  const options = {
    tta: values.tta === 'on',
    threads: values.threads ? Number(values.threads) : undefined,
    cacheDir: values['cache-dir'],
  };
  const warmup: PredictRun[] = [];
  const runs: PredictRun[] = [];
  for (let i = 0; i < Number(values.warmup) + Number(values.runs); i++) {
    (i < Number(values.warmup) ? warmup : runs).push(await timedPredict(values.model, volumes, options));
  }
  process.stdout.write(
    `${JSON.stringify({ runtime: 'engine-predictVolume', tta: options.tta, threads: options.threads ?? null, warmup, runs, peakRssMiB: peakRssMiB() })}\n`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`engine-predict: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
