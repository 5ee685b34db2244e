/**
 * A model is one folder:
 *   model.json          what this file's ModelInfo schema says (classes, encoder id and hash, post-processing,
 *                       training summary), the entry point
 *   plan.json           the plan it was trained with (preprocessing and inference follow it)
 *   network.onnx        the trained network (inputs `image` [+ `embedding`], output `logits`)
 *   network-int8.onnx   the same, statically quantized on training slices (only with plan.inference.int8)
 *   weights.pt          the network's PyTorch weights (float16), what a retrain starts from (warm start)
 *   training_log.jsonl  the trainer's progress lines
 *   metrics.json        the trainer's metrics (iterations, speed, validation Dice, export check)
 * Training writes the folder under a temporary name and renames it at the end, so a folder with model.json
 * is always complete.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { z } from 'zod';

import { NnsamError } from '../util/errors.js';
import { issuesText } from '../util/zod-issues.js';
import { locateEncoder, validateEncoderOnnx } from './encoders/registry.js';
import { gpuRequested } from './onnx.js';
import { createThreadSession, type RunSession } from './session-thread.js';

/** Which network file inference runs: the exported float32 one, or its int8 quantization. */
export type Precision = 'fp32' | 'int8';
import { EncoderRefSchema, PlanSchema, type Plan } from './planning/plan.js';

export const MODEL_FILE = 'model.json';

export const ModelInfoSchema = z.object({
  format: z.literal(1),
  nnsamVersion: z.string(),
  createdAt: z.string(),
  classes: z.record(z.string(), z.string()),
  numClasses: z.number().int(),
  encoder: EncoderRefSchema,
  network: z.object({
    file: z.string(),
    inputs: z.array(z.string()),
    sha256: z.string(),
    /** The int8 network (plan.inference.int8); null when the model has none */
    int8: z
      .object({ file: z.string(), sha256: z.string(), calibrationSlices: z.number().int() })
      .nullable()
      .default(null),
    /** PyTorch weights a retrain can start from (training/warm-start.ts); null in models before warm starts */
    weights: z.string().nullable().default(null),
  }),
  plan: z.string(),
  postprocessing: z.object({
    /** classes whose largest 3D connected component alone is kept */
    largestComponent: z.array(z.number().int()),
    decidedOn: z.enum(['validation', 'none']),
    dicePerClass: z
      .record(z.string(), z.object({ before: z.number().nullable(), after: z.number().nullable() }))
      .nullable(),
  }),
  training: z.object({
    seed: z.number().int(),
    minutes: z.number().nullable(),
    maxIterations: z.number().int().nullable(),
    iterations: z.number().int(),
    seconds: z.number(),
    itPerSec: z.number().nullable(),
    stopReason: z.string(),
    device: z.string(),
    threads: z.number().int(),
    trainSlices: z.number().int(),
    valSlices: z.number().int(),
    /** Slices the trainer learnt from without labels (semi-supervised; absent in models before it) */
    unlabelledSlices: z.number().int().default(0),
    bestValDice: z.number().nullable(),
    exportMaxAbsDiff: z.number().nullable(),
    /** The model whose weights this one started from (folder name); null when trained from scratch */
    warmStartFrom: z.string().nullable().default(null),
  }),
  warnings: z.array(z.string()),
});
export type ModelInfo = z.infer<typeof ModelInfoSchema>;

export async function writeModelInfo(dir: string, info: ModelInfo): Promise<void> {
  await writeFile(join(dir, MODEL_FILE), JSON.stringify(ModelInfoSchema.parse(info), null, 2) + '\n');
}

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new NnsamError('model_not_found', `${what} ${path} is missing`, {
      hint: 'Point --model at a folder written by `nnsam train`.',
    });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new NnsamError('invalid_model', `${path} is not valid JSON: ${(e as Error).message}`);
  }
}

export async function readModelInfo(dir: string): Promise<{ info: ModelInfo; plan: Plan }> {
  const raw = await readJson(join(dir, MODEL_FILE), 'Model file');
  const info = ModelInfoSchema.safeParse(raw);
  if (!info.success) {
    throw new NnsamError('invalid_model', `${join(dir, MODEL_FILE)} is not an nnSAM model description`, {
      hint: issuesText(info.error),
    });
  }
  const planRaw = await readJson(join(dir, info.data.plan), 'Plan file');
  const plan = PlanSchema.safeParse(planRaw);
  if (!plan.success) {
    throw new NnsamError('invalid_model', `${join(dir, info.data.plan)} is not a valid plan`, {
      hint: issuesText(plan.error),
    });
  }
  if (!existsSync(join(dir, info.data.network.file))) {
    throw new NnsamError('invalid_model', `${join(dir, info.data.network.file)} is missing`);
  }
  return { info: info.data, plan: plan.data };
}

export interface LoadModelOptions {
  /** ONNX file of the SAM encoder, when it is not where training found it */
  encoder?: string;
  /** onnxruntime intra-op threads (default: all cores) */
  threads?: number;
}

/** A model ready for inference; sessions open lazily and are released by close(). */
export class LoadedModel {
  private readonly networks = new Map<Precision, Promise<RunSession>>();
  private encoder: Promise<RunSession> | null = null;

  constructor(
    readonly dir: string,
    readonly info: ModelInfo,
    readonly plan: Plan,
    readonly encoderPath: string | null,
    readonly threads: number | undefined,
  ) {}

  /**
   * The network inference runs unless told otherwise: the int8 one on a CPU when the model has it (within the
   * precision rule on ACDC: docs/benchmarks.md, 2026-12-06 evening), else float32 (a GPU runs float32).
   */
  defaultPrecision(): Precision {
    return this.info.network.int8 && !gpuRequested() ? 'int8' : 'fp32';
  }

  networkPath(precision: Precision = 'fp32'): string {
    if (precision === 'fp32') return join(this.dir, this.info.network.file);
    const int8 = this.info.network.int8;
    if (!int8) {
      throw new NnsamError('no_int8_network', `The model in ${this.dir} has no int8 network.`, {
        hint: 'Train it with `--set inference.int8=true`, or predict with --precision fp32.',
      });
    }
    return join(this.dir, int8.file);
  }

  /** The network's session, in a worker thread so that inference never blocks the server's event loop. */
  session(precision: Precision = 'fp32'): Promise<RunSession> {
    let session = this.networks.get(precision);
    if (!session) {
      session = createThreadSession(this.networkPath(precision), { threads: this.threads });
      this.networks.set(precision, session);
      session.catch(() => this.networks.delete(precision));
    }
    return session;
  }

  /** The SAM encoder's session (null for models without one). */
  async encoderSession(): Promise<RunSession | null> {
    if (!this.encoderPath) return null;
    const path = this.encoderPath;
    this.encoder ??= validateEncoderOnnx(path, this.threads).then(async (checked) => {
      await checked.release(); // checked here, run in a worker thread like the network
      return createThreadSession(path, { threads: this.threads });
    });
    return this.encoder;
  }

  async close(): Promise<void> {
    const sessions = [...this.networks.values(), this.encoder];
    this.networks.clear();
    this.encoder = null;
    for (const s of sessions) if (s) await (await s.catch(() => null))?.release();
  }
}

export async function loadModel(dir: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const full = resolve(dir);
  const { info, plan } = await readModelInfo(full);
  const encoderPath = await locateEncoder(info.encoder, options.encoder);
  return new LoadedModel(full, info, plan, encoderPath, options.threads);
}
