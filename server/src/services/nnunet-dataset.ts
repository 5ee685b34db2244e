/**
 * A project's training set as an nnU-Net v2 raw dataset, so the viewer's labels can go to a full nnU-Net run
 * (a big GPU, all the data): imagesTr/<case>_0000.nii.gz, labelsTr/<case>.nii.gz, dataset.json.
 *
 * The rules are those of the benchmark's converter (bench/nnsam_bench/arms/nnunet_convert.py), which feeds
 * nnU-Net the same sparse slices: a label volume keeps the labels on its labelled slices and holds nnU-Net's
 * ignore label everywhere else, the ignore label is one above the highest class and is named "ignore".
 * Two things the benchmark never meets are settled here: class values that are not 1..N are renumbered
 * 1..N in ascending order (nnU-Net wants consecutive labels; the SEG writer numbers segments the same way),
 * and image-only examples are left out: nnU-Net learns only from labels, so an all-ignore case would cost
 * preprocessing and sampling time and teach nothing.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';

import type { ClassDefinition, DicomwebClient } from '../dicom/index.js';
import { NnsamError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { TarEntry } from '../util/tar.js';
import { encodeNifti } from '../volume/index.js';
import {
  loadTrainingSet,
  requireLabelledExamples,
  type TrainingSet,
  type TrainingSetExample,
} from './training-set.js';

type DatasetProject = { id: string; name: string; classes: readonly ClassDefinition[] };

/** nnU-Net v2's dataset.json, as far as we write it. */
export interface DatasetJson {
  channel_names: Record<string, string>;
  /** name -> value: background 0, the classes 1..N, ignore N + 1 */
  labels: Record<string, number>;
  numTraining: number;
  file_ending: '.nii.gz';
  name: string;
  description: string;
}

export interface NnunetDataset {
  /** Paths relative to the dataset folder (dataset.json, imagesTr/..., labelsTr/...) and their bytes. */
  files: TarEntry[];
  datasetJson: DatasetJson;
  /** Image-only examples that were left out. */
  leftOut: number;
}

/** nnU-Net's channel names: "CT" selects its CT normalization, anything else z-scores ("MRI" as the benchmark). */
function channelName(modality: string | undefined): string {
  if (modality === 'CT') return 'CT';
  if (modality === 'MR') return 'MRI';
  return modality || 'image';
}

/** The project's examples from the PACS, as an nnU-Net dataset (refused without a labelled slice). */
export async function projectDataset(
  client: DicomwebClient,
  project: DatasetProject,
  examples: (TrainingSetExample & { labelledSlices: number[] })[],
  log: Logger,
): Promise<NnunetDataset> {
  requireLabelledExamples(project, examples);
  return nnunetDataset(project, await loadTrainingSet(client, examples, project.classes, { log }));
}

export function nnunetDataset(project: DatasetProject, set: TrainingSet): NnunetDataset {
  const classes = [...project.classes].sort((a, b) => a.value - b.value);
  const names = ['background', ...classes.map((c) => c.name), 'ignore'];
  const clash = names.find((n, i) => names.indexOf(n) !== i);
  if (clash) {
    throw new NnsamError(
      'dataset_label_names',
      `nnU-Net names labels by class name, and "${clash}" names two labels (classes, "background" and "ignore" must differ).`,
      {
        status: 409,
        hint: 'Rename the class in a new project, or rename the label in dataset.json by hand.',
      },
    );
  }
  const ignore = classes.length + 1;
  const toNnunet = new Uint16Array(256);
  classes.forEach((c, n) => (toNnunet[c.value] = n + 1));
  const labelled = set.cases.filter((c) => c.labels && c.labelledSlices.length > 0);
  const files: TarEntry[] = [];
  labelled.forEach((c, n) => {
    const id = `case_${String(n).padStart(3, '0')}`;
    const [nx, ny, nz] = c.image.geometry.dims;
    const perSlice = nx * ny;
    const out = ignore > 255 ? new Uint16Array(perSlice * nz) : new Uint8Array(perSlice * nz);
    out.fill(ignore);
    for (const k of c.labelledSlices)
      for (let v = k * perSlice; v < (k + 1) * perSlice; v++) out[v] = toNnunet[c.labels!.data[v]!]!;
    const nifti = (volume: Parameters<typeof encodeNifti>[0]) => gzipSync(encodeNifti(volume), { level: 6 });
    files.push(
      { name: `imagesTr/${id}_0000.nii.gz`, data: nifti(c.image) },
      { name: `labelsTr/${id}.nii.gz`, data: nifti({ geometry: c.image.geometry, data: out }) },
    );
  });
  const leftOut = set.cases.length - labelled.length;
  const slices = labelled.reduce((s, c) => s + c.labelledSlices.length, 0);
  const datasetJson: DatasetJson = {
    channel_names: { '0': channelName(set.modality) },
    labels: Object.fromEntries(names.map((name, value) => [name, value])),
    numTraining: labelled.length,
    file_ending: '.nii.gz',
    name: project.name,
    description:
      `nnSAM project ${project.id}: ${slices} labelled slices in ${labelled.length} series; every other slice ` +
      `is the ignore label` +
      (leftOut ? `; ${leftOut} image-only example(s) left out (nnU-Net learns only from labels)` : ''),
  };
  files.push({ name: 'dataset.json', data: Buffer.from(JSON.stringify(datasetJson, null, 2) + '\n') });
  return { files, datasetJson, leftOut };
}

/** Writes the dataset into `outDir` (created; refused if it exists) all or nothing: a temporary sibling renamed. */
export async function writeDatasetFolder(dataset: NnunetDataset, outDir: string): Promise<void> {
  if (existsSync(outDir)) {
    throw new NnsamError('output_exists', `${outDir} already exists.`, {
      hint: 'Give a new folder, e.g. $nnUNet_raw/Dataset501_MyProject.',
    });
  }
  const tmp = `${outDir}.${randomBytes(4).toString('hex')}.partial`;
  try {
    for (const f of dataset.files) {
      await mkdir(dirname(join(tmp, f.name)), { recursive: true });
      await writeFile(join(tmp, f.name), f.data);
    }
    await rename(tmp, outDir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}
