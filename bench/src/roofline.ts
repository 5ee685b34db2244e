/**
 * How close inference comes to what onnxruntime-node can do on this machine (`npm run bench -- roofline`):
 *
 * - the limit: convolution throughput (GFLOP/s) of single 3x3 convolutions built here (onnx-conv.ts): one
 *   large probe, and each stage's own convolution at the feature-map size it has for a whole slice;
 * - the network: its convolutions' FLOPs for a whole slice, counted from the plan (networkMacs, checked
 *   against PyTorch's counter), and the seconds one whole-slice run takes, float32 (with and without spinning
 *   pool threads) and int8 when the model has it; achieved GFLOP/s and their fraction of the limit.
 *
 *   node bench/dist/roofline.js run --model MODEL_DIR [--size 512] [--threads 2] [--runs 3] [--warmup 1]
 *   node bench/dist/roofline.js conv --cin C --cout C --kernel K --out FILE.onnx   (the probe's model, for tests)
 *
 * Every session opens with the engine's options (sessionOptions). Prints one JSON object.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import * as ort from 'onnxruntime-node';

import { DEFAULT_MAX_PIXELS, inferenceLayout, networkMacs, PlanSchema, sessionOptions } from '@nnsam/server';

import { convModel, type ConvSpec } from './onnx-conv.js';
import { peakRssMiB } from './ort-node-speed.js';

export interface Timing {
  /** wall seconds of each timed run */
  seconds: number[];
  median: number;
  /** CPU seconds (all threads of this process) per run, median */
  cpuSeconds: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function time(
  model: string | Uint8Array,
  feeds: Record<string, ort.Tensor>,
  o: { threads?: number; spinning?: boolean; runs: number; warmup: number },
): Promise<Timing> {
  const options = sessionOptions({ threads: o.threads, spinning: o.spinning });
  const session =
    typeof model === 'string'
      ? await ort.InferenceSession.create(model, options)
      : await ort.InferenceSession.create(model, options);
  try {
    const seconds: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < o.warmup + o.runs; i++) {
      const c = process.cpuUsage();
      const t = performance.now();
      await session.run(feeds);
      if (i < o.warmup) continue;
      seconds.push((performance.now() - t) / 1000);
      const used = process.cpuUsage(c);
      cpu.push((used.user + used.system) / 1e6);
    }
    return { seconds, median: median(seconds), cpuSeconds: median(cpu) };
  } finally {
    await session.release();
  }
}

const zeros = (dims: number[]) =>
  new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
const filled = (dims: number[]) =>
  new ort.Tensor(
    'float32',
    Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.37)),
    dims,
  );

interface ConvProbe extends ConvSpec {
  name: string;
  shape: [number, number];
  flops: number;
  timing: Timing;
  gflops: number;
}

async function probe(
  name: string,
  spec: ConvSpec,
  shape: [number, number],
  o: { threads?: number; runs: number; warmup: number },
): Promise<ConvProbe> {
  const flops = 2 * spec.cin * spec.cout * spec.kernel ** 2 * shape[0] * shape[1];
  const timing = await time(convModel(spec), { x: filled([1, spec.cin, ...shape]) }, o);
  return { name, ...spec, shape, flops, timing, gflops: flops / timing.median / 1e9 };
}

async function run(values: Record<string, string | undefined>): Promise<void> {
  const dir = values.model!;
  const size = Number(values.size ?? 512);
  const o = {
    threads: values.threads ? Number(values.threads) : undefined,
    runs: Number(values.runs ?? 3),
    warmup: Number(values.warmup ?? 1),
  };
  const plan = PlanSchema.parse(JSON.parse(readFileSync(join(dir, 'plan.json'), 'utf8')));
  const net = plan.network;
  // the input predictVolume gives a size x size slice at the plan's spacing (whole slice, no crop)
  const { canvas } = inferenceLayout({
    slice: [size, size],
    original: [size, size],
    body: null,
    patch: net.patchSize as [number, number],
    divisibleBy: net.divisibleBy as [number, number],
    align: [1, 1],
    tileStep: plan.inference.tileStep,
    wholeSlice: true,
    maxPixels: Math.max(DEFAULT_MAX_PIXELS, size * size * 4),
    batchSize: 1,
  });
  const macs = networkMacs(plan, canvas);

  const convs: ConvProbe[] = [
    await probe('large 3x3, 64 -> 64 at 256 x 256', { cin: 64, cout: 64, kernel: 3 }, [256, 256], o),
  ];
  for (const s of macs.stages) {
    const k = net.kernelSizes[s.stage]![0]!;
    convs.push(
      await probe(
        `stage ${s.stage}: ${k}x${k}, ${s.features} -> ${s.features}`,
        {
          cin: s.features,
          cout: s.features,
          kernel: k,
        },
        s.shape,
        o,
      ),
    );
  }
  const limit = convs.reduce((best, c) => (c.gflops > best.gflops ? c : best));

  const feeds: Record<string, ort.Tensor> = { image: filled([1, 1, ...canvas]) };
  if (plan.embedding) {
    const [sy, sx] = plan.embedding.stride;
    feeds.embedding = zeros([1, plan.embedding.channels, canvas[0] / sy, canvas[1] / sx]);
  }
  const flops = 2 * macs.total;
  const entry = (timing: Timing) => ({
    timing,
    gflops: flops / timing.median / 1e9,
    fractionOfLimit: flops / timing.median / 1e9 / limit.gflops,
    gflopsPerCpuSecond: flops / timing.cpuSeconds / 1e9,
  });
  const network: Record<string, ReturnType<typeof entry>> = {
    fp32: entry(await time(join(dir, 'network.onnx'), feeds, o)),
    fp32_spinning: entry(await time(join(dir, 'network.onnx'), feeds, { ...o, spinning: true })),
  };
  if (existsSync(join(dir, 'network-int8.onnx')))
    network.int8 = entry(await time(join(dir, 'network-int8.onnx'), feeds, o));

  process.stdout.write(
    `${JSON.stringify({
      runtime: 'onnxruntime-node',
      version: ort.env.versions.common,
      threads: o.threads ?? null,
      runs: o.runs,
      plan: {
        patch: net.patchSize,
        features: net.featuresPerStage,
        divisibleBy: net.divisibleBy,
        embedding: plan.embedding ? { stage: plan.embedding.stage, channels: plan.embedding.channels } : null,
      },
      slice: [size, size],
      input: canvas,
      macs,
      flops,
      convs,
      limit: { name: limit.name, gflops: limit.gflops },
      network,
      peakRssMiB: peakRssMiB(),
    })}\n`,
  );
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      size: { type: 'string' },
      threads: { type: 'string' },
      runs: { type: 'string' },
      warmup: { type: 'string' },
      cin: { type: 'string' },
      cout: { type: 'string' },
      kernel: { type: 'string' },
      out: { type: 'string' },
    },
  });
  if (positionals[0] === 'run' && values.model) return run(values);
  if (positionals[0] === 'conv' && values.cin && values.cout && values.kernel && values.out) {
    const spec = { cin: Number(values.cin), cout: Number(values.cout), kernel: Number(values.kernel) };
    await writeFile(values.out, convModel(spec));
    return;
  }
  throw new Error(
    'usage: roofline run --model MODEL_DIR [--size 512] [--threads N] [--runs 3] [--warmup 1]\n' +
      '       roofline conv --cin C --cout C --kernel K --out FILE.onnx',
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`roofline: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  });
}
