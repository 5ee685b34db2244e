/**
 * Times one ONNX model in onnxruntime-node (the runtime the nnSAM server uses) on a given input, so the
 * Python side of the benchmark can put it next to PyTorch and onnxruntime-python on identical data.
 *
 *   node bench/dist/ort-node-speed.js --model F.onnx --input X.f32 --shape 1,3,1024,1024 \
 *     [--input E.f32 --shape 1,256,64,64] [--runs 5] [--warmup 1] [--threads 2] [--output Y.f32]
 *
 * Inputs: raw little-endian float32 (C order), one --input/--shape pair per model input in the model's
 * input order. Session options are the engine's (server/src/engine/onnx.ts: intra-op threads, one
 * inter-op thread, all graph optimizations, CPU provider). Prints one JSON object: seconds of every timed
 * run, session creation time, output shape; writes the first output's values to --output when given.
 */
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import * as ort from 'onnxruntime-node';

import { sessionOptions } from '@nnsam/server';

export interface OrtNodeTiming {
  runtime: 'onnxruntime-node';
  version: string;
  threads: number | null;
  createSeconds: number;
  warmupSeconds: number[];
  seconds: number[];
  inputShape: number[];
  outputName: string;
  outputShape: number[];
  peakRssMiB: number;
}

/**
 * Peak resident memory of this process in MiB. VmHWM (Linux) starts afresh at exec; maxRSS keeps the
 * parent's high-water mark across exec, so a child of a large process would report the parent's size.
 */
export function peakRssMiB(): number {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (hwm) return Number(hwm[1]) / 1024;
  } catch {
    // not Linux: fall through
  }
  return process.resourceUsage().maxRSS / 1024;
}

export function parseShape(text: string): number[] {
  const dims = text.split(',').map((d) => Number(d.trim()));
  if (dims.length === 0 || dims.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new Error(`--shape must be positive whole numbers separated by commas, got "${text}"`);
  }
  return dims;
}

export async function timeOrtNode(options: {
  model: string;
  /** one per model input, in the model's input order */
  inputs: { data: Float32Array; shape: number[] }[];
  runs: number;
  warmup: number;
  threads?: number;
}): Promise<{ timing: OrtNodeTiming; output: Float32Array }> {
  for (const { data, shape } of options.inputs) {
    const expected = shape.reduce((a, b) => a * b, 1);
    if (data.length !== expected) {
      throw new Error(`input holds ${data.length} values; shape [${shape}] needs ${expected}`);
    }
  }
  let started = performance.now();
  const session = await ort.InferenceSession.create(
    options.model,
    sessionOptions({ threads: options.threads }),
  );
  const createSeconds = (performance.now() - started) / 1000;
  try {
    if (options.inputs.length !== session.inputNames.length) {
      throw new Error(
        `${options.model} takes ${session.inputNames.length} inputs (${session.inputNames.join(', ')}); ` +
          `${options.inputs.length} were given`,
      );
    }
    const outputName = session.outputNames[0]!;
    const feeds: Record<string, ort.Tensor> = {};
    session.inputNames.forEach((name, i) => {
      feeds[name] = new ort.Tensor('float32', options.inputs[i]!.data, options.inputs[i]!.shape);
    });
    const warmupSeconds: number[] = [];
    const seconds: number[] = [];
    let output: ort.Tensor | undefined;
    for (let i = 0; i < options.warmup + options.runs; i++) {
      started = performance.now();
      const result = await session.run(feeds, [outputName]);
      const elapsed = (performance.now() - started) / 1000;
      (i < options.warmup ? warmupSeconds : seconds).push(elapsed);
      output = result[outputName] as ort.Tensor;
    }
    return {
      timing: {
        runtime: 'onnxruntime-node',
        version: ort.env.versions.common,
        threads: options.threads ?? null,
        createSeconds,
        warmupSeconds,
        seconds,
        inputShape: options.inputs[0]!.shape,
        outputName,
        outputShape: [...(output?.dims ?? [])],
        peakRssMiB: peakRssMiB(),
      },
      output: output!.data as Float32Array,
    };
  } finally {
    await session.release();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      input: { type: 'string', multiple: true },
      shape: { type: 'string', multiple: true },
      runs: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      threads: { type: 'string' },
      output: { type: 'string' },
    },
  });
  if (!values.model || !values.input?.length || values.input.length !== values.shape?.length) {
    throw new Error(
      'usage: ort-node-speed --model F.onnx --input X.f32 --shape 1,3,1024,1024 [--input ... --shape ...] [--runs N]',
    );
  }
  const shapes = values.shape;
  const inputs = await Promise.all(
    values.input.map(async (path, i) => {
      const bytes = await readFile(path);
      const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      return { data, shape: parseShape(shapes[i]!) };
    }),
  );
  const { timing, output } = await timeOrtNode({
    model: values.model,
    inputs,
    runs: Number(values.runs),
    warmup: Number(values.warmup),
    threads: values.threads ? Number(values.threads) : undefined,
  });
  if (values.output)
    await writeFile(values.output, new Uint8Array(output.buffer, output.byteOffset, output.byteLength));
  process.stdout.write(`${JSON.stringify(timing)}\n`);
}

// run as a script, not when imported
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`ort-node-speed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
