/** Runs a SAM image encoder (onnxruntime-node) on preprocessed slices, through the embedding cache. */
import type { EncoderRef } from '../planning/plan.js';
import { ort } from '../onnx.js';
import { createThreadSession, type RunSession } from '../session-thread.js';
import { EMBEDDING_CHANNELS, EMBEDDING_GRID } from '../types.js';
import { EmbeddingCache, embeddingKey } from './cache.js';
import { validateEncoderOnnx } from './registry.js';
import { SAM_INPUT_SIZE, samInput } from './sam-input.js';

export const EMBEDDING_LENGTH = EMBEDDING_CHANNELS * EMBEDDING_GRID * EMBEDDING_GRID;

export class Embedder {
  private constructor(
    readonly ref: EncoderRef,
    private readonly session: RunSession,
    readonly cache: EmbeddingCache,
  ) {}

  static async open(
    ref: EncoderRef,
    path: string,
    options: { threads?: number; cache?: EmbeddingCache } = {},
  ) {
    await (await validateEncoderOnnx(path, options.threads)).release();
    // run in a worker thread: a 0.4 s encoder pass must not freeze the server's event loop
    const session = await createThreadSession(path, { threads: options.threads });
    return new Embedder(ref, session, options.cache ?? new EmbeddingCache());
  }

  /** An embedder over a session someone else owns (a LoadedModel): do not close() it then. */
  static over(ref: EncoderRef, session: RunSession, cache?: EmbeddingCache): Embedder {
    return new Embedder(ref, session, cache ?? new EmbeddingCache());
  }

  /** The 256x64x64 embedding of a preprocessed slice (float16-rounded, as stored in the cache). */
  async embed(slice: Float32Array, rows: number, cols: number): Promise<Float32Array> {
    const key = embeddingKey(this.ref.id, rows, cols, slice);
    const hit = await this.cache.get(key, EMBEDDING_LENGTH);
    if (hit) return hit;
    const input = new ort.Tensor('float32', samInput(slice, rows, cols), [
      1,
      3,
      SAM_INPUT_SIZE,
      SAM_INPUT_SIZE,
    ]);
    const result = await this.session.run({ [this.session.inputNames[0]!]: input });
    const data = result[this.session.outputNames[0]!]!.data as Float32Array;
    return this.cache.put(key, data.length === EMBEDDING_LENGTH ? data : data.slice(0, EMBEDDING_LENGTH));
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
