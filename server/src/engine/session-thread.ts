/**
 * An onnxruntime-node session in a worker thread. onnxruntime-node's `run` computes synchronously under its
 * promise: a 0.6 s sliding-window batch freezes the server's event loop for 0.6 s, so health checks, SSE
 * and every other request wait behind segmentation. In a worker thread the main thread stays free; the
 * tensors cross by copy (a few MiB per batch, microseconds next to the run).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

import './ort-env.js'; // the worker inherits process.env, telemetry setting included
import { NnsamError } from '../util/errors.js';
import { log } from '../util/logger.js';
import { executionProviders, ort, sessionOptions, type SessionOptions } from './onnx.js';

/** Where a session computes: its first execution provider. */
export type Device = 'cpu' | 'cuda';

/** What inference code needs of a session; an ort.InferenceSession has it too. */
export interface RunSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** The execution provider the session opened with (absent: cpu) */
  readonly device?: Device;
  run(feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>>;
  release(): Promise<void>;
}

interface WireTensor {
  type: ort.Tensor.Type;
  data: ort.Tensor.DataType;
  dims: readonly number[];
}

type Reply =
  | {
      id: number;
      ok: true;
      inputNames?: string[];
      outputNames?: string[];
      device?: Device;
      result?: Record<string, WireTensor>;
    }
  | { id: number; ok: false; message: string };

// Plain JavaScript evaluated by the worker (an eval worker runs the same under vitest and from dist/).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
let session = null;
parentPort.on('message', async (msg) => {
  try {
    if (msg.op === 'open') {
      let lastError;
      let device;
      for (const executionProviders of msg.providers) {
        try {
          session = await ort.InferenceSession.create(msg.path, { ...msg.options, executionProviders });
          device = executionProviders[0];
          break;
        } catch (e) { lastError = e; }
      }
      if (!session) throw lastError;
      parentPort.postMessage({ id: msg.id, ok: true, inputNames: session.inputNames, outputNames: session.outputNames, device });
    } else if (msg.op === 'run') {
      const feeds = {};
      for (const [name, t] of Object.entries(msg.feeds)) feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
      const out = await session.run(feeds);
      const result = {};
      for (const [name, t] of Object.entries(out)) result[name] = { type: t.type, data: t.data, dims: t.dims };
      parentPort.postMessage({ id: msg.id, ok: true, result });
    } else if (msg.op === 'release') {
      if (session) await session.release();
      session = null;
      parentPort.postMessage({ id: msg.id, ok: true });
    }
  } catch (e) {
    parentPort.postMessage({ id: msg.id, ok: false, message: String((e && e.message) || e) });
  }
});
`;

let ortPath: string | undefined;

class ThreadSession implements RunSession {
  inputNames: readonly string[] = [];
  outputNames: readonly string[] = [];
  device: Device = 'cpu';
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(r: Reply): void; reject(e: Error): void }>();
  private dead: Error | null = null;

  constructor(
    private readonly worker: Worker,
    private readonly path: string,
  ) {
    worker.unref(); // an idle session never keeps a command-line process alive
    worker.on('message', (reply: Reply) => {
      const waiter = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      waiter?.resolve(reply);
    });
    const fail = (error: Error) => {
      this.dead ??= error;
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
    };
    worker.on('error', (e) =>
      fail(new NnsamError('inference_failed', `Inference thread failed: ${e.message}`)),
    );
    worker.on('exit', (code) =>
      fail(new NnsamError('inference_failed', `Inference thread exited (${code})`)),
    );
  }

  call(message: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<Reply> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    this.worker.ref(); // while a run is pending, the process waits for it
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id }, transfer);
    });
  }

  async run(feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
    const wire: Record<string, WireTensor> = {};
    const transfer: ArrayBuffer[] = [];
    for (const [name, t] of Object.entries(feeds)) {
      // a copy of just this view (a view would clone its whole, often larger, buffer), moved not copied
      const data = (t.data as Float32Array).slice();
      wire[name] = { type: t.type, data, dims: t.dims };
      transfer.push(data.buffer as ArrayBuffer);
    }
    const reply = await this.call({ op: 'run', feeds: wire }, transfer);
    if (!reply.ok) {
      throw new NnsamError('inference_failed', `Running ${this.path} failed: ${reply.message}`);
    }
    const out: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(reply.result ?? {})) {
      out[name] = new ort.Tensor(t.type, t.data as Float32Array, t.dims);
    }
    return out;
  }

  async release(): Promise<void> {
    if (!this.dead) await this.call({ op: 'release' }).catch(() => undefined);
    this.dead ??= new NnsamError('inference_failed', 'The inference session was released');
    await this.worker.terminate();
  }
}

/** Opens the ONNX file in a new worker thread (CUDA first with NNSAM_GPU=1, as createSession does). */
export async function createThreadSession(path: string, options: SessionOptions = {}): Promise<RunSession> {
  ortPath ??= createRequire(import.meta.url).resolve('onnxruntime-node');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ortPath } });
  const session = new ThreadSession(worker, path);
  const reply = await session.call({
    op: 'open',
    path,
    providers: executionProviders(),
    options: sessionOptions(options),
  });
  if (!reply.ok) {
    await worker.terminate();
    throw new NnsamError('invalid_onnx', `Cannot load the ONNX model ${path}: ${reply.message}`);
  }
  session.inputNames = reply.inputNames ?? [];
  session.outputNames = reply.outputNames ?? [];
  session.device = reply.device ?? 'cpu';
  log.debug('inference session opened in a worker thread', {
    inputs: session.inputNames,
    device: session.device,
  });
  return session;
}
