import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { serverRoot, trainerDir, trainerPython } from '../../util/paths.js';
import { readOnnxMetadata } from './encoder.js';

const exec = promisify(execFile);
const bin = join(serverRoot, 'bin', 'nnsam.js');

async function nnsam(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [bin, ...args]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

async function python(...args: string[]): Promise<string> {
  const { stdout } = await exec(trainerPython(), args, { env: { ...process.env, PYTHONPATH: trainerDir } });
  return stdout;
}

let work: string;
let checkpoint: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'nnsam-encoder-cli-'));
  checkpoint = join(work, 'mobile_sam.pt');
  await python(
    '-m',
    'nnsam_trainer',
    'encoder',
    'make-random-checkpoint',
    '--out',
    checkpoint,
    '--seed',
    '5',
  );
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('nnsam encoder (built bin)', () => {
  it('exports a MobileSAM checkpoint to ONNX, then checks the file with onnxruntime-node', async () => {
    const out = join(work, 'mobilesam-encoder.onnx');
    const exported = await nnsam(
      'encoder',
      'export',
      '--checkpoint',
      checkpoint,
      '--out',
      out,
      '--threads',
      '2',
    );
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toMatch(/^ {2}exporting to ONNX \(opset 17\)$/m);
    expect(exported.stdout).toMatch(/^max abs difference PyTorch vs onnxruntime: \d\.\d\de-\d+$/m);

    const bytes = await readFile(out);
    const sha = createHash('sha256').update(bytes).digest('hex');
    const checkpointSha = createHash('sha256')
      .update(await readFile(checkpoint))
      .digest('hex');
    expect(exported.stdout).toContain(`id: mobilesam:${sha.slice(0, 16)}`);
    expect(readOnnxMetadata(bytes)).toMatchObject({ encoder: 'mobilesam', source_sha256: checkpointSha });

    const checked = await nnsam('encoder', 'check', out, '--threads', '2');
    expect(checked.code, checked.stderr).toBe(0);
    expect(checked.stdout).toContain(`id: mobilesam:${sha.slice(0, 16)}\n`);
    expect(checked.stdout).toContain('input:  image float32 [batch, 3, 1024, 1024]');
    expect(checked.stdout).toContain('output: embedding float32 [batch, 256, 64, 64]');
    expect(checked.stdout).toMatch(/^seconds per slice: \d+\.\d{3} \(onnxruntime CPU, 2 threads\)$/m);
    expect(checked.stdout).not.toContain('warning');
  });

  it('rejects an ONNX model that does not give a 256x64x64 embedding', async () => {
    // an identity "encoder": right input, wrong output
    const identity = join(work, 'identity.onnx');
    await python(
      '-c',
      [
        'import sys, onnx',
        'from onnx import helper, TensorProto as T',
        "x = helper.make_tensor_value_info('pixels', T.FLOAT, ['n', 3, 1024, 1024])",
        "y = helper.make_tensor_value_info('features', T.FLOAT, ['n', 3, 1024, 1024])",
        "g = helper.make_graph([helper.make_node('Identity', ['pixels'], ['features'])], 'g', [x], [y])",
        "m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)])",
        'm.ir_version = 8',
        'onnx.save(m, sys.argv[1])',
      ].join('\n'),
      identity,
    );
    const r = await nnsam('encoder', 'check', identity, '--threads', '1', '--runs', '1');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'output features has shape [1, 3, 1024, 1024] for one slice; expected [1, 256, 64, 64]',
    );
    expect(r.stderr).toMatch(/hint: .*nnsam encoder export/);
  });

  it('says so when the file is not ONNX or not there', async () => {
    const text = join(work, 'notes.onnx');
    await writeFile(text, 'this is not a model\n');
    const notOnnx = await nnsam('encoder', 'check', text);
    expect(notOnnx.code).toBe(1);
    expect(notOnnx.stderr).toContain(`${text} is not an ONNX model`);

    const missing = await nnsam('encoder', 'check', join(work, 'absent.onnx'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('ONNX encoder not found');
  });

  it('fails an export from a missing checkpoint with the reason', async () => {
    const r = await nnsam(
      'encoder',
      'export',
      '--checkpoint',
      join(work, 'absent.pt'),
      '--out',
      join(work, 'x.onnx'),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/checkpoint not found: .*absent\.pt/);
  });

  it('validates its options', async () => {
    const r = await nnsam('encoder', 'check', 'x.onnx', '--threads', 'many');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('expected a positive whole number');
    const help = await nnsam('encoder', '--help');
    expect(help.stdout).toMatch(/^\s+export \[options\]/m);
    expect(help.stdout).toMatch(/^\s+check \[options\] <file>/m);
  });
});
