import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createSession, ort } from './onnx.js';
import { createThreadSession } from './session-thread.js';
import { python } from '../../../test/support/engine-fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'nnsam-thread-'));
const netPath = join(tmp, 'convs.onnx');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

beforeAll(() => {
  // a stack of 3x3 convolutions: enough work per run (tens of ms or more) to see the event loop
  python(
    `
import sys, torch, warnings
warnings.simplefilter("ignore")
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Conv2d(1, 48, 3, padding=1), torch.nn.ReLU(),
                          *[m for _ in range(4) for m in (torch.nn.Conv2d(48, 48, 3, padding=1), torch.nn.ReLU())],
                          torch.nn.Conv2d(48, 3, 1))
torch.onnx.export(net, (torch.zeros(1, 1, 64, 64),), sys.argv[1], input_names=["image"], output_names=["logits"],
                  dynamic_axes={"image": {0: "n", 2: "h", 3: "w"}, "logits": {0: "n", 2: "h", 3: "w"}},
                  opset_version=17, dynamo=False)`,
    [netPath],
  );
});

function input(): ort.Tensor {
  const n = 2;
  const data = new Float32Array(n * 256 * 256 + 7).map((_, i) => Math.sin(i / 97));
  // a view into a larger buffer, as the sliding window passes its batches
  return new ort.Tensor('float32', data.subarray(0, n * 256 * 256), [n, 1, 256, 256]);
}

/** Milliseconds of the longest gap between 2 ms timer ticks while `work` runs. */
async function longestStall<T>(work: () => Promise<T>): Promise<{ stall: number; result: T; ms: number }> {
  let last = performance.now();
  let stall = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    stall = Math.max(stall, now - last);
    last = now;
  }, 2);
  const t0 = performance.now();
  const result = await work();
  const ms = performance.now() - t0;
  clearInterval(timer);
  stall = Math.max(stall, performance.now() - last);
  return { stall, result, ms };
}

describe('inference session in a worker thread', () => {
  it('gives the main-thread result and leaves the event loop free while it runs', async () => {
    const main = await createSession(netPath, { threads: 1 });
    const thread = await createThreadSession(netPath, { threads: 1 });
    try {
      expect(thread.inputNames).toEqual(['image']);
      expect(thread.outputNames).toEqual(['logits']);
      expect(thread.device).toBe('cpu');
      const onMain = await longestStall(() => main.run({ image: input() }));
      const onThread = await longestStall(() => thread.run({ image: input() }));

      const a = onMain.result.logits!.data as Float32Array;
      const b = onThread.result.logits!.data as Float32Array;
      expect(onThread.result.logits!.dims).toEqual([2, 3, 256, 256]);
      expect(b.length).toBe(a.length);
      expect(b.every((v, i) => v === a[i])).toBe(true);

      // onnxruntime-node computes synchronously: on the main thread one run is one stall
      expect(onMain.stall).toBeGreaterThan(0.8 * onMain.ms);
      // in the worker the timers keep firing (a busy 2-core CI machine may still delay one now and then)
      expect(onThread.stall).toBeLessThan(Math.max(0.5 * onThread.ms, 20));
    } finally {
      await main.release();
      await thread.release();
    }
  });

  it('runs batches queued behind a running one, each with its own result (inference pipelines them)', async () => {
    const thread = await createThreadSession(netPath, { threads: 1 });
    try {
      const x = (v: number) => new ort.Tensor('float32', new Float32Array(2 * 64).fill(v), [2, 1, 8, 8]);
      const alone: ort.Tensor[] = [];
      for (const v of [1, 2, 3]) alone.push((await thread.run({ image: x(v) })).logits!);
      const queued = await Promise.all([
        thread.run({ image: x(1) }),
        thread.run({ image: x(2) }),
        thread.run({ image: x(3) }),
      ]);
      queued.forEach((r, i) =>
        expect(Array.from(r.logits!.data as Float32Array)).toEqual(
          Array.from(alone[i]!.data as Float32Array),
        ),
      );
      expect(alone[0]!.data).not.toEqual(alone[1]!.data);
    } finally {
      await thread.release();
    }
  });

  it('reports a file that is not a model, and a run with wrong inputs, as errors', async () => {
    await expect(createThreadSession(join(tmp, 'missing.onnx'))).rejects.toMatchObject({
      code: 'invalid_onnx',
    });
    const thread = await createThreadSession(netPath, { threads: 1 });
    try {
      await expect(
        thread.run({ image: new ort.Tensor('float32', new Float32Array(8), [1, 2, 2, 2]) }),
      ).rejects.toMatchObject({ code: 'inference_failed' });
      // the session survives a failed run
      const ok = await thread.run({ image: new ort.Tensor('float32', new Float32Array(64), [1, 1, 8, 8]) });
      expect(ok.logits!.dims).toEqual([1, 3, 8, 8]);
    } finally {
      await thread.release();
    }
    await expect(thread.run({ image: input() })).rejects.toMatchObject({ code: 'inference_failed' });
  });
});
