/**
 * Dataset fingerprint (nnU-Net's extract_fingerprint, for the 2D slices we train on): in-plane spacing and
 * shape of every case, slice counts, and the intensity statistics of labelled foreground pixels, which CT
 * normalization needs. Spacing and shape are [rows, cols] = [j, i].
 */
import { NnsamError } from '../../util/errors.js';
import type { Volume } from '../../volume/index.js';
import { meanStd, percentiles } from '../numeric.js';
import type { ClassMap, TrainingCase } from '../types.js';

export interface ForegroundStats {
  count: number;
  mean: number;
  std: number;
  percentile00_5: number;
  percentile99_5: number;
  min: number;
  max: number;
}

export interface Fingerprint {
  cases: number;
  labelledSlices: number;
  slicesPerCase: number[];
  /** [row spacing, col spacing] in mm per case */
  spacings: [number, number][];
  /** [rows, cols] per case */
  shapes: [number, number][];
  /** Raw intensities of labelled foreground pixels (label > 0 on labelled slices) */
  foreground: ForegroundStats | null;
}

const MAX_FOREGROUND_SAMPLES = 1_000_000;

export function caseName(c: TrainingCase, n: number): string {
  return c.name ?? `case ${n + 1}`;
}

/** Checks one training case and throws a clear error naming the case and slice when it is unusable. */
export function validateCase(c: TrainingCase, n: number, classes: ClassMap): void {
  const name = caseName(c, n);
  const [nx, ny, nz] = c.image.geometry.dims;
  const { spacing } = c.image.geometry;
  if (
    ![nx, ny, nz].every((d) => Number.isInteger(d) && d >= 1) ||
    !spacing.every((s) => Number.isFinite(s) && s > 0)
  ) {
    throw new NnsamError(
      'no_geometry',
      `${name}: the image has no usable geometry (dims ${[nx, ny, nz].join('x')}, spacing ${spacing.join(' x ')} mm)`,
      { hint: 'Every image needs its voxel spacing (NIfTI pixdim, DICOM PixelSpacing and slice positions).' },
    );
  }
  if (!c.labels) {
    if (c.labelledSlices.length > 0) {
      throw new NnsamError('no_labels', `${name}: labelled slices are listed but no label volume is given`, {
        hint: 'Give the label volume ("label": "x_lab.nii.gz"), or drop "labeledSlices" for an image-only case.',
      });
    }
    return;
  }
  if (c.labels.geometry.dims.some((d, a) => d !== c.image.geometry.dims[a])) {
    throw new NnsamError(
      'shape_mismatch',
      `${name}: the label volume is ${c.labels.geometry.dims.join('x')} but the image is ${nx}x${ny}x${nz}`,
      { hint: 'Labels must be on the image grid (same rows, columns and slices).' },
    );
  }
  const maxClass = Math.max(...Object.keys(classes).map(Number));
  const plane = nx * ny;
  for (const k of c.labelledSlices) {
    if (!Number.isInteger(k) || k < 0 || k >= nz) {
      throw new NnsamError('bad_slice_index', `${name}: labelled slice ${k} is outside 0..${nz - 1}`);
    }
    const base = k * plane;
    for (let p = 0; p < plane; p++) {
      const v = c.labels.data[base + p]!;
      if (!(v >= 0 && v <= maxClass && Number.isInteger(v)) && v !== 255) {
        throw new NnsamError(
          'bad_label_value',
          `${name}: slice ${k} holds label value ${v}, but the classes are 1..${maxClass}`,
          { hint: 'Add the value to "classes" or fix the label volume.' },
        );
      }
    }
  }
  if (new Set(c.labelledSlices).size !== c.labelledSlices.length) {
    throw new NnsamError('bad_slice_index', `${name}: labelled slices are listed twice`);
  }
}

/** At least one case must carry a labelled slice; image-only cases alone teach nothing. */
export function checkSomethingLabelled(cases: TrainingCase[]): void {
  if (!cases.some((c) => c.labels && c.labelledSlices.length > 0)) {
    throw new NnsamError('no_labelled_slices', 'No case has a labelled slice', {
      hint: 'List the slice indices (0-based, along k) that carry labels, e.g. "labeledSlices": [3, 7].',
    });
  }
}

export function inPlaneSpacing(v: Volume): [number, number] {
  return [v.geometry.spacing[1], v.geometry.spacing[0]];
}

export function inPlaneShape(v: Volume): [number, number] {
  return [v.geometry.dims[1], v.geometry.dims[0]];
}

export function computeFingerprint(cases: TrainingCase[]): Fingerprint {
  const total = cases.reduce((s, c) => {
    if (!c.labels) return s;
    const plane = c.image.geometry.dims[0] * c.image.geometry.dims[1];
    let n = 0;
    for (const k of c.labelledSlices) {
      const base = k * plane;
      for (let p = 0; p < plane; p++)
        if (c.labels.data[base + p]! > 0 && c.labels.data[base + p] !== 255) n++;
    }
    return s + n;
  }, 0);
  const stride = Math.max(1, Math.ceil(total / MAX_FOREGROUND_SAMPLES));
  const samples: number[] = [];
  let seen = 0;
  for (const c of cases) {
    if (!c.labels) continue;
    const plane = c.image.geometry.dims[0] * c.image.geometry.dims[1];
    for (const k of c.labelledSlices) {
      const base = k * plane;
      for (let p = 0; p < plane; p++) {
        const l = c.labels.data[base + p]!;
        if (l > 0 && l !== 255 && seen++ % stride === 0) samples.push(c.image.data[base + p]!);
      }
    }
  }
  let foreground: ForegroundStats | null = null;
  if (samples.length) {
    const [p005, p995, min, max] = percentiles(samples, [0.5, 99.5, 0, 100]);
    const { mean, std } = meanStd(samples);
    foreground = {
      count: total,
      mean,
      std,
      percentile00_5: p005!,
      percentile99_5: p995!,
      min: min!,
      max: max!,
    };
  }
  return {
    cases: cases.length,
    labelledSlices: cases.reduce((s, c) => s + c.labelledSlices.length, 0),
    slicesPerCase: cases.map((c) => c.image.geometry.dims[2]),
    spacings: cases.map((c) => inPlaneSpacing(c.image)),
    shapes: cases.map((c) => inPlaneShape(c.image)),
    foreground,
  };
}
