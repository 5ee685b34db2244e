/**
 * onnxruntime-node sessions for the SAM encoder and the trained network. CPU by default with every core
 * (intraOpNumThreads); the CUDA execution provider when NNSAM_GPU=1 and onnxruntime-node was installed with
 * it (ONNXRUNTIME_NODE_INSTALL=cuda12, done by setup when NNSAM_GPU=1), else CPU with a warning.
 * sessionOptions() is the one set of options every session of the engine (and the benchmarks) opens with.
 */
import { availableParallelism } from 'node:os';

import './ort-env.js'; // before onnxruntime-node
import * as ort from 'onnxruntime-node';

import { NnsamError } from '../util/errors.js';
import { log } from '../util/logger.js';

export { ort };

export interface SessionOptions {
  /** Intra-op threads (default: all cores) */
  threads?: number;
  /** Idle pool threads spin instead of sleeping (default false; see sessionOptions) */
  spinning?: boolean;
}

/** Whether sessions try the CUDA execution provider first (NNSAM_GPU=1). */
export function gpuRequested(): boolean {
  return process.env.NNSAM_GPU === '1';
}

/** The execution providers a session may run on, in the order tried. */
export function executionProviders(): ('cuda' | 'cpu')[][] {
  return gpuRequested() ? [['cuda', 'cpu'], ['cpu']] : [['cpu']];
}

/**
 * The engine's session options. Graph optimization 'all' includes the NCHWc layout transform of MLAS
 * convolutions; weights are pre-packed at load (onnxruntime's default, kept on). One sequential
 * executor: a U-Net is one chain of operators, so parallel mode would only add scheduling. Pool threads
 * sleep when idle (session.intra_op.allow_spinning 0): on a loaded 2-core machine a 512 x 512 slice took the
 * same wall time either way and 13 % less CPU time without spinning (docs/engine.md, Measurements); on an
 * idle 2-core AMD EPYC spinning ran the network alone 10 % faster but the whole segment path 8 % slower, its
 * idle threads taking the cores from the main thread's work between runs (docs/benchmarks.md, 2026-12-06).
 */
export function sessionOptions(options: SessionOptions = {}): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: options.threads ?? availableParallelism(),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    enableCpuMemArena: true,
    enableMemPattern: true,
    extra: { session: { intra_op: { allow_spinning: options.spinning ? '1' : '0' } } },
  };
}

let cudaWarned = false;

export async function createSession(
  path: string,
  options: SessionOptions = {},
): Promise<ort.InferenceSession> {
  const base = sessionOptions(options);
  const lists = executionProviders();
  for (const [n, providers] of lists.entries()) {
    try {
      return await ort.InferenceSession.create(path, { ...base, executionProviders: providers });
    } catch (e) {
      if (n < lists.length - 1) {
        if (!cudaWarned)
          log.warn('CUDA execution provider unavailable; running on CPU', { error: String(e) });
        cudaWarned = true;
        continue;
      }
      throw new NnsamError('invalid_onnx', `Cannot load the ONNX model ${path}: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }
  throw new Error('no execution provider to try');
}

export interface TensorInfo {
  name: string;
  shape: (number | string)[];
  type: string;
}

/** Input/output names, shapes (symbolic dims as strings) and element types. */
export function describe(session: ort.InferenceSession): { inputs: TensorInfo[]; outputs: TensorInfo[] } {
  const meta = (list: readonly ort.InferenceSession.ValueMetadata[]) =>
    list.map((m) =>
      m.isTensor
        ? { name: m.name, shape: [...m.shape], type: String(m.type) }
        : { name: m.name, shape: [], type: 'non-tensor' },
    );
  return { inputs: meta(session.inputMetadata), outputs: meta(session.outputMetadata) };
}
