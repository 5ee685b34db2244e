/**
 * The training manifest of `nnsam train` / `nnsam plan` (NIfTI files; the server builds cases from DICOM):
 *   {"classes": {"1": "name", ...}, "modality": "MR",
 *    "cases": [{"image": "a.nii.gz", "label": "a_lab.nii.gz", "labeledSlices": [3, 7]}, {"image": "b.nii.gz"}]}
 * Paths are relative to the manifest; slice indices are 0-based along k; slices not listed are unlabelled
 * (the trainer learns from them without labels). A listed slice whose labels are all 0 is a negative: "none
 * of the classes here". A case with only "image" is image-only; at least one case must list labelled slices.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

import { z } from 'zod';

import { NnsamError } from '../util/errors.js';
import { readNifti } from '../volume/index.js';
import type { ClassMap, TrainingCase } from './types.js';

export const ManifestSchema = z.object({
  classes: z.record(z.string().regex(/^\d+$/, 'class keys are label values like "1"'), z.string().min(1)),
  modality: z.string().optional(),
  cases: z
    .array(
      z
        .object({
          image: z.string().min(1),
          label: z.string().min(1).optional(),
          labeledSlices: z.array(z.number().int().min(0)).optional(),
        })
        .strict()
        .refine(
          (c) => (c.label === undefined) === (c.labeledSlices === undefined || c.labeledSlices.length === 0),
          {
            message:
              'give "label" together with a non-empty "labeledSlices", or neither (an image-only case)',
          },
        ),
    )
    .min(1)
    .refine((cases) => cases.some((c) => c.label !== undefined), {
      message: 'at least one case needs "label" and "labeledSlices"',
    }),
});
export type Manifest = z.infer<typeof ManifestSchema>;

export async function readManifest(path: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new NnsamError('file_not_found', `Cannot read the manifest ${path}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new NnsamError('invalid_manifest', `${path} is not valid JSON: ${(e as Error).message}`);
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new NnsamError(
      'invalid_manifest',
      `${path}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`,
      {
        hint: 'Expected {"classes": {"1": "name"}, "cases": [{"image": "a.nii.gz", "label": "a_lab.nii.gz", "labeledSlices": [3, 7]}, {"image": "b.nii.gz"}]}',
      },
    );
  }
  return parsed.data;
}

export async function loadManifestCases(
  path: string,
): Promise<{ classes: ClassMap; modality: string | undefined; cases: TrainingCase[] }> {
  const manifest = await readManifest(path);
  const base = dirname(resolve(path));
  const cases: TrainingCase[] = [];
  for (const c of manifest.cases) {
    const image = await readNifti(resolve(base, c.image));
    const labels = c.label === undefined ? undefined : await readNifti(resolve(base, c.label));
    cases.push({ image, labels, labelledSlices: c.labeledSlices ?? [], name: c.image });
  }
  return { classes: manifest.classes, modality: manifest.modality, cases };
}
