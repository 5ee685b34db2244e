/**
 * `nnsam encoder export | check`: build and inspect the frozen SAM image encoder nnSAM embeds slices with.
 *   export  mobile_sam.pt -> ONNX (Python trainer; compared with onnxruntime before it is written)
 *   check   load any ONNX encoder with onnxruntime-node, run it on a zero input, print its id and speed
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';

import { type Command, InvalidArgumentError } from 'commander';
import '../../engine/ort-env.js'; // before onnxruntime-node: its one setup import, not an engine API
import * as ort from 'onnxruntime-node';

import { exportMobileSamOnnx } from '../../engine/index.js';
import { NnsamError, errorMessage } from '../../util/errors.js';

/** What every nnSAM encoder takes and gives (N slices): SAM-normalized 1024x1024 RGB -> 256x64x64. */
export const ENCODER_INPUT_SHAPE = [3, 1024, 1024] as const;
export const ENCODER_OUTPUT_SHAPE = [256, 64, 64] as const;
const CONTRACT_NAMES = { input: 'image', output: 'embedding' };

export interface OnnxEncoderCheck {
  /** `<name>:<first 16 hex of the file's sha256>`; name from the file's `encoder` metadata, else its file name. */
  id: string;
  sha256: string;
  metadata: Record<string, string>;
  input: { name: string; shape: (number | string)[] };
  output: { name: string; shape: (number | string)[] };
  secondsPerSlice: number;
  threads: number | undefined;
  /** Departures from the contract that do not stop the encoder from working (e.g. other tensor names). */
  warnings: string[];
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}

export function registerEncoder(program: Command): void {
  const encoder = program
    .command('encoder')
    .description('export or inspect SAM image encoders (MobileSAM): encoder export | encoder check');

  encoder
    .command('export')
    .description("export MobileSAM's image encoder from mobile_sam.pt to ONNX (checked against onnxruntime)")
    .requiredOption('--checkpoint <path>', 'mobile_sam.pt (or a state dict of its image encoder)')
    .requiredOption('--out <path>', 'ONNX file to write, e.g. mobilesam-encoder.onnx')
    .option('--threads <n>', 'CPU threads for PyTorch and onnxruntime', positiveInt)
    .option('--no-verify', 'skip the PyTorch vs onnxruntime comparison')
    .action(async (opts: { checkpoint: string; out: string; threads?: number; verify: boolean }) => {
      const result = await exportMobileSamOnnx({
        checkpoint: opts.checkpoint,
        out: opts.out,
        threads: opts.threads,
        verify: opts.verify,
        onProgress: (msg) => console.log(`  ${msg}`),
      });
      console.log(`wrote ${result.out} (${(result.bytes / 1e6).toFixed(1)} MB)`);
      console.log(`id: ${result.encoder}:${result.sha256.slice(0, 16)}`);
      console.log(`checkpoint sha256: ${result.source_sha256}`);
      if (result.max_abs_diff !== undefined)
        console.log(`max abs difference PyTorch vs onnxruntime: ${result.max_abs_diff.toExponential(2)}`);
    });

  encoder
    .command('check <file>')
    .description(
      'load an ONNX encoder, verify its inputs and outputs on a zero input, print its id and speed',
    )
    .option('--threads <n>', 'onnxruntime intra-op threads (default: all cores)', positiveInt)
    .option('--runs <n>', 'forward passes; the first is warm-up when there are several', positiveInt, 2)
    .action(async (file: string, opts: { threads?: number; runs: number }) => {
      const r = await checkOnnxEncoder(file, { threads: opts.threads, runs: opts.runs });
      console.log(`id: ${r.id}`);
      console.log(`input:  ${r.input.name} float32 [${r.input.shape.join(', ')}]`);
      console.log(`output: ${r.output.name} float32 [${r.output.shape.join(', ')}]`);
      for (const w of r.warnings) console.log(`warning: ${w}`);
      const threads = r.threads ? `${r.threads} thread${r.threads > 1 ? 's' : ''}` : 'all cores';
      console.log(`seconds per slice: ${r.secondsPerSlice.toFixed(3)} (onnxruntime CPU, ${threads})`);
      console.log('encoder check passed');
    });
}

/** Loads `file` with onnxruntime-node and checks it against the encoder contract on a zero input. */
export async function checkOnnxEncoder(
  file: string,
  options: { threads?: number; runs?: number } = {},
): Promise<OnnxEncoderCheck> {
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile())
    throw new NnsamError('encoder_not_found', `ONNX encoder not found: ${file}`, { status: 404 });
  const bytes = await readFile(file);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const incompatible = (what: string) =>
    new NnsamError('encoder_onnx_incompatible', `${file}: ${what}`, {
      status: 422,
      hint:
        'An nnSAM encoder takes float32 [N, 3, 1024, 1024] SAM-normalized images and gives [N, 256, 64, 64] ' +
        'embeddings; export MobileSAM with `nnsam encoder export --checkpoint mobile_sam.pt --out FILE.onnx`.',
    });
  let metadata: Record<string, string>;
  try {
    metadata = readOnnxMetadata(bytes);
  } catch (e) {
    throw new NnsamError('encoder_onnx_invalid', `${file} is not an ONNX model (${errorMessage(e)})`, {
      status: 422,
    });
  }

  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: options.threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
  } catch (e) {
    throw new NnsamError('encoder_onnx_invalid', `onnxruntime cannot load ${file}: ${errorMessage(e)}`, {
      status: 422,
    });
  }
  try {
    const warnings: string[] = [];
    if (session.inputNames.length !== 1) {
      throw incompatible(
        `has ${session.inputNames.length} inputs (${session.inputNames.join(', ')}); expected one`,
      );
    }
    const input = session.inputMetadata[0];
    const output = session.outputMetadata[0];
    if (!input?.isTensor || input.type !== 'float32')
      throw incompatible(`input ${input?.name} is not a float32 tensor`);
    if (!output?.isTensor || output.type !== 'float32') {
      throw incompatible(`output ${output?.name} is not a float32 tensor`);
    }
    const declared = [...input.shape];
    const fixed = declared.slice(1);
    if (
      declared.length !== 4 ||
      fixed.some((d, i) => typeof d === 'number' && d !== ENCODER_INPUT_SHAPE[i])
    ) {
      throw incompatible(
        `input ${input.name} has shape [${declared.join(', ')}]; expected [N, 3, 1024, 1024]`,
      );
    }
    if (input.name !== CONTRACT_NAMES.input || output.name !== CONTRACT_NAMES.output) {
      warnings.push(
        `tensors are named ${input.name} -> ${output.name} (nnSAM's exports use ${CONTRACT_NAMES.input} -> ` +
          `${CONTRACT_NAMES.output}); the first input and output are used`,
      );
    }
    if (session.outputNames.length > 1)
      warnings.push(`only the first of ${session.outputNames.length} outputs is used`);

    const zeros = new ort.Tensor('float32', new Float32Array(3 * 1024 * 1024), [1, ...ENCODER_INPUT_SHAPE]);
    const runs = Math.max(1, options.runs ?? 2);
    let timed = 0;
    let got: ort.Tensor | undefined;
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      const result = await session.run({ [input.name]: zeros }, [output.name]);
      const seconds = (performance.now() - started) / 1000;
      if (i > 0 || runs === 1) timed += seconds;
      got = result[output.name] as ort.Tensor;
    }
    const dims = [...(got?.dims ?? [])];
    const want = [1, ...ENCODER_OUTPUT_SHAPE];
    if (dims.length !== 4 || dims.some((d, i) => d !== want[i])) {
      throw incompatible(
        `output ${output.name} has shape [${dims.join(', ')}] for one slice; expected [1, 256, 64, 64]`,
      );
    }
    const values = got!.data as Float32Array;
    if (!values.every(Number.isFinite))
      throw incompatible(`output ${output.name} holds NaN or infinite values`);

    const name = (metadata.encoder || basename(file).replace(/\.onnx$/i, '')).replace(/[^\w.-]/g, '_');
    return {
      id: `${name}:${sha256.slice(0, 16)}`,
      sha256,
      metadata,
      input: { name: input.name, shape: declared },
      output: { name: output.name, shape: [...output.shape] },
      secondsPerSlice: timed / (runs === 1 ? 1 : runs - 1),
      threads: options.threads,
      warnings,
    };
  } finally {
    await session.release();
  }
}

/**
 * The metadata_props of an ONNX file (ModelProto field 14: repeated {key = 1, value = 2}), read straight
 * from the protobuf wire format; every other field is skipped. Throws on bytes that are not protobuf.
 */
export function readOnnxMetadata(bytes: Uint8Array): Record<string, string> {
  const decoder = new TextDecoder();
  const metadata: Record<string, string> = {};
  let sawModelField = false;
  for (const field of protobufFields(bytes, 0, bytes.length)) {
    if (field.number === 7 || field.number === 1) sawModelField = true; // graph, ir_version
    if (field.number !== 14 || field.wire !== 2) continue;
    let key = '';
    let value = '';
    for (const entry of protobufFields(bytes, field.start, field.end)) {
      if (entry.wire !== 2) continue;
      const text = decoder.decode(bytes.subarray(entry.start, entry.end));
      if (entry.number === 1) key = text;
      else if (entry.number === 2) value = text;
    }
    metadata[key] = value;
  }
  if (!sawModelField) throw new Error('no ONNX graph in the file');
  return metadata;
}

interface ProtobufField {
  number: number;
  wire: number;
  /** Byte range of a length-delimited payload (wire type 2); empty otherwise. */
  start: number;
  end: number;
}

function* protobufFields(bytes: Uint8Array, from: number, to: number): Generator<ProtobufField> {
  let pos = from;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= to) throw new Error('truncated varint');
      const b = bytes[pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    throw new Error('varint too long');
  };
  while (pos < to) {
    const tag = varint();
    const number = Math.floor(tag / 8);
    const wire = tag % 8;
    if (number === 0) throw new Error('field number 0');
    let start = pos;
    if (wire === 0) varint();
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const length = varint();
      start = pos;
      pos += length;
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
    if (pos > to) throw new Error('truncated field');
    yield { number, wire, start, end: wire === 2 ? pos : start };
  }
}
