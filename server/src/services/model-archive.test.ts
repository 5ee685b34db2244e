/**
 * Model archives that must be refused: corrupt, truncated, from a newer server, with files that need another
 * encoder than the manifest claims. Each is refused with its own code, and nothing is stored: no model
 * record, no model folder, no leftover in tmp/.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

import { afterEach, describe, expect, it } from 'vitest';

import { Store } from '../store/index.js';
import { NnsamError } from '../util/errors.js';
import { readTar, writeTar } from '../util/tar.js';
import { ARCHIVE_FORMAT, exportModelArchive, importModelArchive } from './model-archive.js';

const dirs: string[] = [];
const stores: Store[] = [];
afterEach(() => {
  stores.splice(0).forEach((s) => s.close());
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});

function tempStore(): Store {
  const d = mkdtempSync(join(tmpdir(), 'nnsam-archive-'));
  dirs.push(d);
  const store = new Store(d);
  stores.push(store);
  return store;
}

/** A store with one model (files only; `validate` stands in for loading the network). */
async function exported(encoder = 'none'): Promise<{ store: Store; archive: Buffer }> {
  const store = tempStore();
  const model = store.models.add({
    id: 'mdl-source',
    projectId: null,
    name: 'Heart',
    encoder,
    classes: [{ value: 1, name: 'Left ventricle', color: [255, 40, 40] }],
    metrics: { bestValDice: 0.9 },
    trainingExamples: 1,
    labelledSlices: 3,
  });
  mkdirSync(store.modelDir(model.id), { recursive: true });
  writeFileSync(join(store.modelDir(model.id), 'network.onnx'), Buffer.alloc(4096, 7));
  writeFileSync(join(store.modelDir(model.id), 'plan.json'), JSON.stringify({ encoder }));
  const chunks: Buffer[] = [];
  for await (const c of await exportModelArchive(store, model)) chunks.push(c as Buffer);
  return { store, archive: Buffer.concat(chunks) };
}

/** Rewrites the archive's tar entries (to alter a file or the manifest). */
function rewrite(archive: Buffer, edit: (name: string, data: Buffer) => Buffer): Buffer {
  const entries = readTar(gunzipSync(archive)).map((e) => ({
    name: e.name,
    data: edit(e.name, Buffer.from(e.data)),
  }));
  return gzipSync(writeTar(entries));
}

function editManifest(archive: Buffer, change: (m: Record<string, unknown>) => void): Buffer {
  return rewrite(archive, (name, data) => {
    if (name !== 'nnsam-archive.json') return data;
    const m = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
    change(m);
    return Buffer.from(JSON.stringify(m));
  });
}

/** What the server's validator reports: the encoder the files really need. */
const needs = (encoder: string) => async () => ({ encoder });

async function refusal(store: Store, archive: Buffer, encoder = 'none'): Promise<NnsamError> {
  const before = store.models.list().length;
  const error = await importModelArchive(store, archive, needs(encoder)).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NnsamError);
  // nothing half-written: no record, no folder, nothing left in tmp/
  expect(store.models.list()).toHaveLength(before);
  expect(readdirSync(join(store.dataDir, 'models'))).toEqual(['mdl-source']);
  expect(readdirSync(join(store.dataDir, 'tmp'))).toEqual([]);
  return error as NnsamError;
}

describe('model archive import', () => {
  it('imports an intact archive as a new model', async () => {
    const { store, archive } = await exported();
    const model = await importModelArchive(store, archive, needs('none'));
    expect(model).toMatchObject({ encoder: 'none', projectId: null, name: 'Heart (imported)' });
    expect(readdirSync(store.modelDir(model.id)).sort()).toEqual(['network.onnx', 'plan.json']);
  });

  it('refuses a corrupt file (checksum), naming it', async () => {
    const { store, archive } = await exported();
    const corrupt = rewrite(archive, (name, data) => {
      if (name === 'network.onnx') data[100] ^= 0xff;
      return data;
    });
    const e = await refusal(store, corrupt);
    expect(e.code).toBe('invalid_archive');
    expect(e.message).toMatch(/network\.onnx is corrupt/);
  });

  it('refuses truncated archives at any length, and flipped gzip bytes', async () => {
    const { store, archive } = await exported();
    for (const length of [0, 1, 10, 100, archive.length >> 1, archive.length - 8, archive.length - 1]) {
      const e = await refusal(store, archive.subarray(0, length));
      expect(e.code, `truncated to ${length} bytes`).toBe('invalid_archive');
    }
    const flipped = Buffer.from(archive);
    flipped[flipped.length >> 1] ^= 0x55;
    expect((await refusal(store, flipped)).code).toBe('invalid_archive');
  });

  it('refuses a file added to or missing from the manifest', async () => {
    const { store, archive } = await exported();
    const entries = readTar(gunzipSync(archive));
    const extra = gzipSync(writeTar([...entries, { name: 'extra.bin', data: Buffer.from('x') }]));
    expect((await refusal(store, extra)).message).toMatch(/not the ones its manifest lists/);
    const missing = gzipSync(writeTar(entries.filter((e) => e.name !== 'plan.json')));
    expect((await refusal(store, missing)).message).toMatch(/not the ones its manifest lists/);
  });

  it('refuses an archive of a newer format, saying to upgrade', async () => {
    const { store, archive } = await exported();
    const newer = editManifest(archive, (m) => (m.format = ARCHIVE_FORMAT + 1));
    const e = await refusal(store, newer);
    expect(e.code).toBe('archive_too_new');
    expect(e.hint).toMatch(/Upgrade/);
  });

  it('refuses a model whose files need another encoder than the manifest claims', async () => {
    const { store, archive } = await exported();
    const claimed = editManifest(
      archive,
      (m) => ((m.model as { encoder: string }).encoder = 'mobilesam:0123abcd'),
    );
    const e = await refusal(store, claimed, 'none');
    expect(e.code).toBe('archive_encoder_mismatch');
    expect(e.message).toMatch(/mobilesam:0123abcd.*none/);
  });

  it('refuses a manifest that is not JSON or does not describe a model', async () => {
    const { store, archive } = await exported();
    const notJson = rewrite(archive, (name, data) =>
      name === 'nnsam-archive.json' ? Buffer.from('{') : data,
    );
    expect((await refusal(store, notJson)).message).toMatch(/not JSON/);
    const noModel = editManifest(archive, (m) => delete m.model);
    expect((await refusal(store, noModel)).message).toMatch(/does not describe a model/);
  });
});
