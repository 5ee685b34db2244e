/**
 * The nnU-Net export on a made-up training set whose class values are not 1..N, with an image-only example:
 * nnU-Net's own verify_dataset_integrity (nnunetv2 in the trainer's environment) accepts the folder, and
 * nibabel reads back the labels renumbered on the labelled slices and the ignore label everywhere else.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { python, tempDir } from '../../../test/support/dicom-tools.js';
import type { Geometry, Volume } from '../volume/index.js';
import { nnunetDataset, writeDatasetFolder } from './nnunet-dataset.js';
import type { TrainingSet } from './training-set.js';

const tmp = tempDir('nnsam-nnunet-');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const geometry: Geometry = {
  dims: [20, 16, 6],
  spacing: [1.5, 1.5, 4],
  origin: [-10, 20, 5],
  direction: [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ],
};
const voxels = 20 * 16 * 6;

function image(seed: number): Volume<Int16Array> {
  return { geometry, data: Int16Array.from({ length: voxels }, (_, n) => ((n * 7919 + seed) % 400) - 100) };
}

/** Class 2 left, class 5 right on every slice (the labels are read only on the labelled slices). */
function labels(): Volume<Uint8Array> {
  const data = new Uint8Array(voxels);
  for (let n = 0; n < voxels; n++) data[n] = n % 20 < 5 ? 2 : n % 20 > 14 ? 5 : 0;
  return { geometry, data };
}

/** nnU-Net's verification, then the label values per slice of case_000 and the dataset.json. */
const verify = `
import contextlib, json, sys
import nibabel as nib, numpy as np
from nnunetv2.experiment_planning.verify_dataset_integrity import verify_dataset_integrity
with contextlib.redirect_stdout(sys.stderr):
    verify_dataset_integrity(sys.argv[1], num_processes=1)
seg = np.asarray(nib.load(sys.argv[1] + '/labelsTr/case_000.nii.gz').dataobj)
print(json.dumps({'perSlice': [sorted(np.unique(seg[:, :, k]).tolist()) for k in range(seg.shape[2])],
                  'left': int(seg[0, 0, 1]), 'right': int(seg[19, 0, 1]), 'dtype': str(seg.dtype),
                  'dataset': json.load(open(sys.argv[1] + '/dataset.json'))}))
`;

describe('nnU-Net v2 raw dataset export', () => {
  it('passes verify_dataset_integrity: classes renumbered 1..N, ignore on unlabelled slices, image-only left out', async () => {
    const set: TrainingSet = {
      modality: 'CT',
      cases: [
        { image: image(1), labels: labels(), labelledSlices: [1, 4], seriesInstanceUID: '1.2.3' },
        { image: image(2), labelledSlices: [], seriesInstanceUID: '1.2.4' }, // image-only
        { image: image(3), labels: labels(), labelledSlices: [0], seriesInstanceUID: '1.2.5' },
      ],
    };
    const classes = [
      { value: 5, name: 'Spleen' },
      { value: 2, name: 'Liver' },
    ];
    const dataset = nnunetDataset({ id: 'prj-test', name: 'Abdomen', classes }, set);
    expect(dataset.leftOut).toBe(1);
    expect(dataset.files.map((f) => f.name).sort()).toEqual([
      'dataset.json',
      'imagesTr/case_000_0000.nii.gz',
      'imagesTr/case_001_0000.nii.gz',
      'labelsTr/case_000.nii.gz',
      'labelsTr/case_001.nii.gz',
    ]);
    const out = join(tmp, 'Dataset501_Abdomen');
    await writeDatasetFolder(dataset, out);
    const report = python<{
      perSlice: number[][];
      left: number;
      right: number;
      dtype: string;
      dataset: Record<string, unknown>;
    }>(verify, [out]);
    expect(report.dataset).toMatchObject({
      channel_names: { '0': 'CT' },
      labels: { background: 0, Liver: 1, Spleen: 2, ignore: 3 },
      numTraining: 2,
      file_ending: '.nii.gz',
    });
    expect(report.perSlice).toEqual([[3], [0, 1, 2], [3], [3], [0, 1, 2], [3]]);
    expect([report.left, report.right, report.dtype]).toEqual([1, 2, 'uint8']);
    // a second export never overwrites a dataset
    await expect(writeDatasetFolder(dataset, out)).rejects.toThrow(/already exists/);
    expect(existsSync(join(out, 'dataset.json'))).toBe(true);
  });

  it('refuses class names nnU-Net cannot tell apart', () => {
    const set: TrainingSet = { modality: 'MR', cases: [] };
    expect(() => nnunetDataset({ id: 'p', name: 'x', classes: [{ value: 1, name: 'ignore' }] }, set)).toThrow(
      /"ignore" names two labels/,
    );
  });
});
