/**
 * The train job: every example's series and labels from the PACS -> engine.trainModel -> a model folder in
 * the data directory. Runs in the API server's process or on a Redis worker; it writes no database rows.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

import { DEFAULT_TRAIN_MINUTES } from '../api/index.js';
import { NnsamError } from '../util/errors.js';
import { trainModel, type TrainModelOptions, type TrainedModel } from '../engine/index.js';
import { TrainJobPayload } from '../jobs/payloads.js';
import type { JobContext, JobOutcome } from '../jobs/types.js';
import { classNames } from './classes.js';
import type { ServiceEnv } from './env.js';
import { engineProgress } from './progress.js';
import { loadTrainingSet } from './training-set.js';

export async function runTrainJob(env: ServiceEnv, raw: unknown, ctx: JobContext): Promise<JobOutcome> {
  const payload = TrainJobPayload.parse(raw);
  const client = env.pacs(ctx.jobId);
  const { cases, modality } = await loadTrainingSet(client, payload.examples, payload.classes, {
    log: ctx.log,
    signal: ctx.signal,
    progress: (done, total) =>
      ctx.progress({
        stage: 'fetching',
        done,
        total,
        ...(done < total ? { message: 'loading training series' } : {}),
      }),
  });

  const outDir = env.modelDir(payload.modelId);
  // a retried job may find the folder of an attempt that finished just before the server stopped
  if (existsSync(outDir)) await rm(outDir, { recursive: true, force: true });
  const options: TrainModelOptions = {
    cases,
    classes: classNames(payload.classes),
    outDir,
    encoder: env.encoderSpec(payload.encoder),
    ...(payload.minutes !== undefined ? { minutes: payload.minutes } : {}),
    defaultMinutes: DEFAULT_TRAIN_MINUTES,
    ...(payload.maxIterations ? { maxIterations: payload.maxIterations } : {}),
    ...(payload.seed !== undefined ? { seed: payload.seed } : {}),
    ...(modality ? { modality } : {}),
    device: env.config.engine.device,
    ...(env.config.engine.threads ? { threads: env.config.engine.threads } : {}),
    cacheDir: join(env.dataDir, 'cache', 'embeddings'),
    // the trainer's input files stay in the data directory: its disk, its permissions, nothing in /tmp
    workDir: join(env.dataDir, 'tmp'),
    onProgress: engineProgress(ctx),
    signal: ctx.signal,
  };
  const trained = await trainFromLatest(env, options, payload.warmStartFrom, ctx);
  const t = trained.training;
  const labelledSliceCount = cases.reduce((n, c) => n + c.labelledSlices.length, 0);
  return {
    result: { modelId: payload.modelId },
    model: {
      id: payload.modelId,
      projectId: payload.projectId,
      name: `${payload.projectName} ${new Date().toISOString().slice(0, 16).replace('T', ' ')}`,
      encoder: trained.encoder.id,
      classes: payload.classes,
      metrics: {
        bestValDice: t.bestValDice,
        iterations: t.iterations,
        itPerSec: t.itPerSec,
        seconds: t.seconds,
        stopReason: t.stopReason,
        device: t.device,
        trainSlices: t.trainSlices,
        valSlices: t.valSlices,
        unlabelledSlices: t.unlabelledSlices,
        warmStartFrom: t.warmStartFrom,
      },
      trainingExamples: cases.length,
      labelledSlices: labelledSliceCount, // a count under the wire name (api/models.ts says why)
    },
  };
}

/**
 * Trains from the weights of the model the job names when that model still exists and fits (same classes,
 * encoder, modality); a model that does not fit is not an error: training starts from scratch and the job's
 * progress says why (a changed class list is a new start, not a mistake).
 */
async function trainFromLatest(
  env: ServiceEnv,
  options: TrainModelOptions,
  warmStartFrom: string | undefined,
  ctx: JobContext,
): Promise<TrainedModel> {
  const from = warmStartFrom ? env.modelDir(warmStartFrom) : null;
  if (!from || !existsSync(from)) return trainModel(options);
  try {
    return await trainModel({ ...options, warmStartFrom: from });
  } catch (e) {
    if (!(e instanceof NnsamError) || !['warm_start_mismatch', 'warm_start_unavailable'].includes(e.code))
      throw e;
    ctx.log.info('training from scratch', { reason: e.code });
    ctx.progress({ stage: 'planning', done: 0, total: 1, message: `${e.message} Training from scratch.` });
    return trainModel(options);
  }
}
