/**
 * Which SAM image encoder a model uses: `none` (plain nnU-Net, the paper's baseline), `mobilesam` (built from
 * the user's MobileSAM weights by ./mobilesam.ts), or any ONNX file mapping [1,3,1024,1024] to
 * [1,256,64,64]. `auto` means mobilesam when its weights are configured, else none (with a warning).
 * An encoder is identified by `<name>:<first 16 hex of the ONNX file's sha256>`, so a model can check at
 * prediction time that it gets the very encoder it was trained with.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

import { NnsamError, isNnsamError } from '../../util/errors.js';
import { createSession, describe, ort } from '../onnx.js';
import { NONE_ENCODER, type EncoderRef } from '../planning/plan.js';
import { EMBEDDING_CHANNELS, EMBEDDING_GRID } from '../types.js';
import { defaultCacheRoot } from './cache.js';
import { resolveMobileSamOnnx } from './mobilesam.js';
import { SAM_INPUT_SIZE } from './sam-input.js';

export type EncoderSpec = 'auto' | 'none' | 'mobilesam' | (string & {});

export interface ResolveOptions {
  /** Where built encoders are cached (default <cache root>/encoders) */
  encoderCacheDir?: string;
  onProgress?: (message: string) => void;
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

function encoderName(path: string): string {
  return (
    basename(path)
      .replace(/\.onnx$/i, '')
      .replace(/[^A-Za-z0-9_.-]+/g, '-')
      .slice(0, 40) || 'encoder'
  );
}

/** Opens an ONNX encoder and checks that it maps [1,3,1024,1024] float32 to [*,256,64,64]. */
export async function validateEncoderOnnx(path: string, threads?: number): Promise<ort.InferenceSession> {
  const session = await createSession(path, { threads });
  const { inputs, outputs } = describe(session);
  const fail = (what: string) => {
    void session.release();
    return new NnsamError('invalid_encoder', `${path} is not a usable SAM image encoder: ${what}`, {
      hint: `An encoder takes one float32 input [1,3,${SAM_INPUT_SIZE},${SAM_INPUT_SIZE}] and returns [1,${EMBEDDING_CHANNELS},${EMBEDDING_GRID},${EMBEDDING_GRID}].`,
    });
  };
  if (inputs.length !== 1) throw fail(`it has ${inputs.length} inputs (${inputs.map((i) => i.name)})`);
  const inp = inputs[0]!;
  const want = [1, 3, SAM_INPUT_SIZE, SAM_INPUT_SIZE];
  if (inp.type !== 'float32') throw fail(`input ${inp.name} is ${inp.type}`);
  if (
    inp.shape.length !== 4 ||
    inp.shape.some((d, a) => typeof d === 'number' && d !== want[a] && d !== -1)
  ) {
    throw fail(`input ${inp.name} has shape [${inp.shape}]`);
  }
  const out = outputs[0]!;
  const wantOut = [1, EMBEDDING_CHANNELS, EMBEDDING_GRID, EMBEDDING_GRID];
  const numeric = out.shape.length === 4 && out.shape.slice(1).every((d) => typeof d === 'number' && d > 0);
  if (
    out.shape.length !== 4 ||
    out.shape.some((d, a) => a > 0 && typeof d === 'number' && d !== wantOut[a])
  ) {
    throw fail(`output ${out.name} has shape [${out.shape}]`);
  }
  if (!numeric) {
    // symbolic output dims: one run on zeros settles it
    const r = await session.run({
      [inp.name]: new ort.Tensor('float32', new Float32Array(3 * 1024 * 1024), want),
    });
    const dims = r[out.name]!.dims;
    if (dims.length !== 4 || dims.some((d, a) => d !== wantOut[a])) {
      throw fail(`output ${out.name} has shape [${dims}] for a [${want}] input`);
    }
  }
  return session;
}

export async function describeOnnxEncoder(
  path: string,
  name: string,
  source: 'mobilesam' | 'file',
): Promise<EncoderRef> {
  const full = resolve(path);
  const session = await validateEncoderOnnx(full, 1);
  await session.release();
  const sha = (await sha256File(full)).slice(0, 16);
  return { id: `${name}:${sha}`, kind: 'onnx', name, source, sha256: sha, path: full };
}

export interface ResolvedEncoder {
  ref: EncoderRef;
  warning?: string;
}

export async function resolveEncoder(
  spec: EncoderSpec,
  options: ResolveOptions = {},
): Promise<ResolvedEncoder> {
  const cacheDir = options.encoderCacheDir ?? join(defaultCacheRoot(), 'encoders');
  if (spec === 'none') return { ref: NONE_ENCODER };
  if (spec === 'mobilesam' || spec === 'auto') {
    try {
      const path = await resolveMobileSamOnnx({ cacheDir, onProgress: options.onProgress });
      return { ref: await describeOnnxEncoder(path, 'mobilesam', 'mobilesam') };
    } catch (e) {
      if (spec === 'auto' && isNnsamError(e) && e.code === 'encoder_unavailable') {
        return {
          ref: NONE_ENCODER,
          warning: `MobileSAM is not available (${e.message}); training plain nnU-Net (--encoder none).`,
        };
      }
      throw e;
    }
  }
  if (!existsSync(spec) || !statSync(spec).isFile()) {
    throw new NnsamError(
      'unknown_encoder',
      `Unknown encoder "${spec}": not none, mobilesam, auto or an ONNX file`,
      {
        hint: 'Use --encoder none, --encoder mobilesam, or the path of an ONNX image encoder.',
      },
    );
  }
  return { ref: await describeOnnxEncoder(spec, encoderName(spec), 'file') };
}

/**
 * The ONNX file of a model's encoder, checked against the hash the model recorded: an explicit override
 * first, then MobileSAM (for mobilesam models), then the path seen at training time.
 */
export async function locateEncoder(
  ref: EncoderRef,
  override?: string,
  options: ResolveOptions = {},
): Promise<string | null> {
  if (ref.kind === 'none') return null;
  const check = async (path: string, what: string) => {
    const sha = (await sha256File(path)).slice(0, 16);
    if (sha !== ref.sha256) {
      throw new NnsamError(
        'encoder_mismatch',
        `${what} ${path} is not the encoder this model was trained with`,
        {
          hint: `The model needs encoder ${ref.id} (sha256 ${ref.sha256}...); this file hashes to ${sha}.`,
        },
      );
    }
    return resolve(path);
  };
  if (override) {
    if (!existsSync(override))
      throw new NnsamError('file_not_found', `Encoder file ${override} does not exist`);
    return check(override, 'The encoder');
  }
  if (ref.source === 'mobilesam') {
    const path = await resolveMobileSamOnnx({
      cacheDir: options.encoderCacheDir ?? join(defaultCacheRoot(), 'encoders'),
      onProgress: options.onProgress,
    });
    return check(path, 'The configured MobileSAM encoder');
  }
  if (ref.path && existsSync(ref.path)) return check(ref.path, 'The encoder');
  throw new NnsamError('encoder_missing', `This model needs the SAM encoder ${ref.id}, which was not found`, {
    hint: `It was trained with ${ref.path ?? 'an ONNX encoder'}; pass that file with --encoder FILE.onnx.`,
  });
}
