// `nnsam plan`, `train` and `predict` through the built bin (a short training on a small volume).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { UNCERTAINTY_RULE } from '../engine/index.js';
import { PlanSchema } from '../engine/index.js';
import { ProgressEvent } from '../engine/index.js';
import { phantom } from '../../../test/support/engine-fixtures.js';
import { serverRoot } from '../util/paths.js';
import { readNifti, writeNifti } from '../volume/index.js';
import type { UncertaintyFile } from './commands/predict.js';

const exec = promisify(execFile);
const bin = join(serverRoot, 'bin', 'nnsam.js');
const tmp = mkdtempSync(join(tmpdir(), 'nnsam-cli-engine-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function nnsam(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [bin, ...args], {
      env: { ...process.env, NNSAM_CACHE_DIR: join(tmp, 'cache') },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

beforeAll(async () => {
  for (const [name, seed] of [
    ['a', 1],
    ['b', 2],
    ['new', 3],
  ] as const) {
    const { image, labels } = phantom([40, 36, 5], seed);
    await writeNifti(join(tmp, `${name}.nii.gz`), image);
    await writeNifti(join(tmp, `${name}_lab.nii.gz`), labels);
  }
  writeFileSync(
    join(tmp, 'manifest.json'),
    JSON.stringify({
      classes: { '1': 'disk', '2': 'square' },
      modality: 'MR',
      cases: [
        { image: 'a.nii.gz', label: 'a_lab.nii.gz', labeledSlices: [0, 3] },
        { image: 'b.nii.gz', label: 'b_lab.nii.gz', labeledSlices: [1, 2, 4] },
      ],
    }),
  );
});

describe('nnsam plan / train / predict (built bin)', () => {
  it('plan prints the plan as JSON and a summary', async () => {
    const r = await nnsam(
      'plan',
      '--manifest',
      join(tmp, 'manifest.json'),
      '--encoder',
      'none',
      '--threads',
      '2',
    );
    expect(r.code).toBe(0);
    const plan = PlanSchema.parse(JSON.parse(r.stdout));
    expect(plan.fingerprint.labelledSlices).toBe(5);
    // The summary says what the JSON plan says; CPU plans train at a batch of at least 4.
    const [py, px] = plan.network.patchSize;
    expect(r.stderr).toContain(`patch ${py} x ${px}, batch ${plan.network.batchSize} (cpu`);
    expect(plan.network.batchSize).toBeGreaterThanOrEqual(4);
  });

  it('plans with an image-only case (the series to segment) beside the labelled ones', async () => {
    const manifest = JSON.parse(readFileSync(join(tmp, 'manifest.json'), 'utf8'));
    manifest.cases.push({ image: 'new.nii.gz' });
    writeFileSync(join(tmp, 'with-image-only.json'), JSON.stringify(manifest));
    const r = await nnsam('plan', '--manifest', join(tmp, 'with-image-only.json'), '--encoder', 'none');
    expect(r.code).toBe(0);
    const plan = PlanSchema.parse(JSON.parse(r.stdout));
    expect(plan.fingerprint.cases).toBe(3);
    expect(plan.fingerprint.labelledSlices).toBe(5);
  });

  it('explains a bad manifest', async () => {
    writeFileSync(
      join(tmp, 'bad.json'),
      JSON.stringify({ classes: { '1': 'x' }, cases: [{ image: 'a.nii.gz' }] }),
    );
    const r = await nnsam('train', '--manifest', join(tmp, 'bad.json'), '--out', join(tmp, 'm0'));
    expect(r.code).toBe(1);
    // a manifest of image-only cases has nothing to learn from
    expect(r.stderr).toMatch(/bad.json: cases: at least one case needs "label" and "labeledSlices"/);
    writeFileSync(
      join(tmp, 'bad2.json'),
      JSON.stringify({ classes: { '1': 'x' }, cases: [{ image: 'a.nii.gz', labeledSlices: [1] }] }),
    );
    const half = await nnsam('train', '--manifest', join(tmp, 'bad2.json'), '--out', join(tmp, 'm0'));
    expect(half.code).toBe(1);
    expect(half.stderr).toMatch(/bad2.json: cases.0: give "label" together with a non-empty "labeledSlices"/);
    const r2 = await nnsam(
      'train',
      '--manifest',
      join(tmp, 'manifest.json'),
      '--out',
      join(tmp, 'm0'),
      '--minutes',
      'x',
    );
    expect(r2.code).not.toBe(0);
    expect(r2.stderr).toMatch(/"x" is not a positive number/);

    const r3 = await nnsam(
      'train',
      '--manifest',
      join(tmp, 'manifest.json'),
      '--out',
      join(tmp, 'm0'),
      '--encoder',
      'none',
      '--set',
      'training.augmentation.pRotaton=1',
    );
    expect(r3.code).not.toBe(0);
    expect(r3.stderr).toMatch(/training\.augmentation has no "pRotaton"/);
    expect(existsSync(join(tmp, 'm0'))).toBe(false);
  });

  it('trains with --json progress, then predicts NIfTI label volumes on the input grid', async () => {
    const model = join(tmp, 'model');
    const t = await nnsam(
      'train',
      '--manifest',
      join(tmp, 'manifest.json'),
      '--out',
      model,
      '--encoder',
      'none',
      '--iterations',
      '30',
      '--threads',
      '1',
      '--device',
      'cpu',
      '--unlabelled',
      '--set',
      'training.augmentation.pRotation=0.9',
      // no int8 network: the float32 runs below stay what they were, and --precision int8 has a model to refuse
      '--set',
      'inference.int8=false',
      '--json',
    );
    expect(t.code, t.stderr).toBe(0);
    const lines = t.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const planAt = lines.findIndex((l) => l.type === 'plan');
    expect(planAt).toBeGreaterThanOrEqual(0);
    expect(planAt).toBeLessThan(lines.findIndex((l) => l.type === 'iteration'));
    const events = lines
      .filter((l) => !['plan', 'model'].includes(l.type))
      .map((l) => ProgressEvent.parse(l));
    expect(events.filter((e) => e.type === 'iteration')).toHaveLength(30);
    expect(lines.at(-1)).toMatchObject({ type: 'model', dir: model });
    const info = JSON.parse(readFileSync(join(model, 'model.json'), 'utf8'));
    expect(info.encoder.id).toBe('none');
    // --unlabelled: the 5 slices of the two 5-slice phantoms that nobody labelled fed the mean teacher
    expect(info.training.unlabelledSlices).toBe(5);
    const plan = JSON.parse(readFileSync(join(model, 'plan.json'), 'utf8'));
    expect(plan.training.semiSupervised.enabled).toBe(true);
    // --set reached the trainer's plan and is recorded
    expect(plan.training.augmentation.pRotation).toBe(0.9);
    expect(plan.overrides).toEqual(['training.augmentation.pRotation=0.9', 'inference.int8=false']);

    const out = join(tmp, 'pred');
    const scores = join(tmp, 'scores', 'uncertainty.json');
    const p = await nnsam(
      'predict',
      '--model',
      model,
      '--out',
      out,
      join(tmp, 'new.nii.gz'),
      join(tmp, 'a.nii.gz'),
      '--threads',
      '1',
      '--json',
      '--uncertainty',
      scores,
    );
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout.trim().split('\n').at(-1)).toMatch(/"type":"written"/);
    // --uncertainty: every slice of every volume scored by the segment job's rule, least certain listed first
    const file = JSON.parse(readFileSync(scores, 'utf8')) as UncertaintyFile;
    expect(file.rule).toBe(UNCERTAINTY_RULE);
    expect(file.volumes.map((v) => v.input)).toEqual([join(tmp, 'new.nii.gz'), join(tmp, 'a.nii.gz')]);
    for (const v of file.volumes) {
      expect(v.output).toBe(join(out, basename(v.input)));
      expect(v.slices.map((s) => s.index)).toEqual([0, 1, 2, 3, 4]);
      for (const s of v.slices) {
        expect(s.score).toBeGreaterThanOrEqual(0);
        expect(s.score).toBeLessThanOrEqual(1);
        expect(Object.keys(s.segments).sort()).toEqual(['1', '2']);
        expect(s.score).toBe(Math.max(...Object.values(s.segments)));
      }
      const ranked = v.leastCertain.map((k) => v.slices[k]!.score);
      expect(ranked).toEqual([...ranked].sort((x, y) => y - x));
      expect(v.leastCertain).toHaveLength(v.slices.filter((s) => s.score > 0).length);
    }
    // 30 iterations leave the phantom's disk and square in doubt somewhere
    expect(file.volumes.some((v) => v.leastCertain.length > 0)).toBe(true);
    const labels = await readNifti(join(out, 'new.nii.gz'));
    const image = await readNifti(join(tmp, 'new.nii.gz'));
    expect(labels.geometry.dims).toEqual(image.geometry.dims);
    expect(labels.data).toBeInstanceOf(Uint8Array);
    expect(Math.max(...labels.data)).toBeLessThanOrEqual(2);

    const missing = await nnsam(
      'predict',
      '--model',
      join(tmp, 'nope'),
      '--out',
      out,
      join(tmp, 'new.nii.gz'),
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/Model file .*nope.*model.json is missing/);

    // the inference options: a precision the model lacks, one that does not exist, the other flags accepted
    const predict = (dest: string, ...options: string[]) =>
      nnsam(
        'predict',
        '--model',
        model,
        '--out',
        dest,
        join(tmp, 'new.nii.gz'),
        '--threads',
        '1',
        ...options,
      );
    const int8 = await predict(out, '--precision', 'int8');
    expect(int8.code).toBe(1);
    expect(int8.stderr).toMatch(/has no int8 network/);
    const fp16 = await predict(out, '--precision', 'fp16');
    expect(fp16.code).not.toBe(0);
    expect(fp16.stderr).toMatch(/"fp16" is not fp32 or int8/);
    const notJson = await predict(out, '--uncertainty', join(tmp, 'scores.txt'));
    expect(notJson.code).not.toBe(0);
    expect(notJson.stderr).toMatch(/"\S*scores.txt" is not a .json file name/);
    mkdirSync(join(tmp, 'scores', 'dir.json'));
    const folder = await predict(out, '--uncertainty', join(tmp, 'scores', 'dir.json'));
    expect(folder.code).toBe(1);
    expect(folder.stderr).toMatch(/dir.json is a folder, not a .json file/);
    const legacy = await predict(
      join(tmp, 'pred-legacy'),
      '--tta',
      '--no-whole-slice',
      '--no-crop',
      '--max-pixels',
      '65536',
    );
    expect(legacy.code, legacy.stderr).toBe(0);
    expect((await readNifti(join(tmp, 'pred-legacy', 'new.nii.gz'))).geometry.dims).toEqual(
      image.geometry.dims,
    );
  });
});
