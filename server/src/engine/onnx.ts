/**
 * onnxruntime-node sessions for the SAM encoder and the trained network. CPU by default with every core
 * (intraOpNumThreads); the CUDA execution provider when NNSAM_GPU=1 and onnxruntime-node was installed with
 * it (ONNXRUNTIME_NODE_INSTALL=cuda12, done by setup when NNSAM_GPU=1), else CPU with a warning.
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
}

let cudaWarned = false;

export async function createSession(
  path: string,
  options: SessionOptions = {},
): Promise<ort.InferenceSession> {
  const base: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: options.threads ?? availableParallelism(),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  };
  if (process.env.NNSAM_GPU === '1') {
    try {
      return await ort.InferenceSession.create(path, { ...base, executionProviders: ['cuda', 'cpu'] });
    } catch (e) {
      if (!cudaWarned) log.warn('CUDA execution provider unavailable; running on CPU', { error: String(e) });
      cudaWarned = true;
    }
  }
  try {
    return await ort.InferenceSession.create(path, { ...base, executionProviders: ['cpu'] });
  } catch (e) {
    throw new NnsamError('invalid_onnx', `Cannot load the ONNX model ${path}: ${(e as Error).message}`, {
      cause: e,
    });
  }
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
