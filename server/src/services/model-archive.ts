/**
 * One-file model archives (export / import), so a model trained here serves other studies, users and sites.
 * The archive is a gzip'd tar of the model folder plus `nnsam-archive.json`: format version, the model
 * record and the SHA-256 of every file. Import checks all of it (format, checksums, that the folder loads as
 * a model whose encoder matches the record) in a temporary folder before anything is stored.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';

import { z } from 'zod';

import { ClassDef, Model } from '../api/index.js';
import { newId, type Store } from '../store/index.js';
import { NnsamError } from '../util/errors.js';
import { readTar, writeTar } from '../util/tar.js';

export const ARCHIVE_FORMAT = 1;
const MANIFEST = 'nnsam-archive.json';

const Manifest = z.object({
  format: z.number().int(),
  model: Model.extend({ classes: z.array(ClassDef) }),
  files: z.record(z.string(), z.object({ sha256: z.string(), bytes: z.number().int() })),
});

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export async function exportModelArchive(store: Store, model: Model): Promise<Readable> {
  const dir = store.modelDir(model.id);
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => e.name)
    .sort();
  const entries = await Promise.all(
    names.map(async (name) => ({ name, data: await readFile(join(dir, name)) })),
  );
  const manifest = {
    format: ARCHIVE_FORMAT,
    model,
    files: Object.fromEntries(entries.map((e) => [e.name, { sha256: sha256(e.data), bytes: e.data.length }])),
  };
  const tar = writeTar([
    { name: MANIFEST, data: Buffer.from(JSON.stringify(manifest, null, 2)) },
    ...entries,
  ]);
  return Readable.from([gzipSync(tar)]);
}

/**
 * Imports an archive as a new model (new id; the project link is dropped, the model stands alone).
 * `validate` loads the unpacked folder as a model and returns the encoder id it needs.
 */
export async function importModelArchive(
  store: Store,
  archive: Buffer,
  validate: (dir: string) => Promise<{ encoder: string }>,
): Promise<Model> {
  let tar: Buffer;
  try {
    tar = gunzipSync(archive);
  } catch (e) {
    throw invalid(`it is not gzip data (${(e as Error).message})`);
  }
  const entries = readTar(tar);
  const manifestEntry = entries.find((e) => e.name === MANIFEST);
  if (!manifestEntry) throw invalid(`it has no ${MANIFEST}`);
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(manifestEntry.data).toString('utf8'));
  } catch {
    throw invalid(`${MANIFEST} is not JSON`);
  }
  const format = (raw as { format?: unknown })?.format;
  if (typeof format === 'number' && format > ARCHIVE_FORMAT) {
    throw new NnsamError(
      'archive_too_new',
      `The archive has format ${format}; this server reads format ${ARCHIVE_FORMAT}.`,
      {
        hint: 'Upgrade this nnSAM server to import it.',
      },
    );
  }
  const parsed = Manifest.safeParse(raw);
  if (!parsed.success)
    throw invalid(`${MANIFEST} does not describe a model (${parsed.error.issues[0]?.message})`);
  const manifest = parsed.data;
  const files = entries.filter((e) => e.name !== MANIFEST);
  const listed = Object.keys(manifest.files).sort();
  const present = files.map((f) => f.name).sort();
  if (listed.join('\n') !== present.join('\n')) {
    throw invalid(
      `its files (${present.join(', ')}) are not the ones its manifest lists (${listed.join(', ')})`,
    );
  }
  for (const f of files) {
    if (sha256(f.data) !== manifest.files[f.name]!.sha256)
      throw invalid(`${f.name} is corrupt (checksum mismatch)`);
  }

  const id = newId('mdl');
  const tmp = join(store.dataDir, 'tmp', `import-${id}`);
  await mkdir(tmp, { recursive: true });
  try {
    for (const f of files) await writeFile(join(tmp, f.name), f.data);
    const { encoder } = await validate(tmp);
    if (encoder !== manifest.model.encoder) {
      throw new NnsamError(
        'archive_encoder_mismatch',
        `The archive says the model needs encoder ${manifest.model.encoder}, but its files need ${encoder}.`,
        { hint: 'The archive was altered; export the model again.' },
      );
    }
    await rename(tmp, store.modelDir(id));
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  const { createdAt: _c, id: _id, projectId: _p, ...rest } = manifest.model;
  return store.models.add({ ...rest, id, projectId: null, name: `${manifest.model.name} (imported)` });
}

function invalid(why: string): NnsamError {
  return new NnsamError('invalid_archive', `The model archive is not a valid nnSAM archive: ${why}.`, {
    hint: 'Export it again with GET /api/models/{id}/export.',
  });
}
