/**
 * The classes of a label volume: label value -> name (and optionally colour and code). One JSON form for the
 * CLI (`--classes`), the in-memory API and the engine's training manifest:
 *   { "1": "Liver", "2": { "name": "Spleen", "color": [r, g, b], "code": { "type": {...}, ... } } }
 */
import { z } from 'zod';

import { NnsamError } from '../util/errors.js';
import { codingForName, type CodedConcept, type SegmentCoding } from './codes.js';

const Coded = z
  .object({
    value: z.string().min(1).max(16),
    scheme: z.string().min(1).max(16),
    meaning: z.string().min(1).max(64),
  })
  .strict();

const ClassObject = z
  .object({
    name: z.string().min(1).max(64),
    color: z
      .tuple([
        z.number().int().min(0).max(255),
        z.number().int().min(0).max(255),
        z.number().int().min(0).max(255),
      ])
      .optional(),
    code: z
      .object({ category: Coded.optional(), type: Coded.optional(), typeModifier: Coded.optional() })
      .strict()
      .optional(),
  })
  .strict();

export const ClassesJson = z.record(
  z.string().regex(/^[1-9][0-9]*$/),
  z.union([z.string().min(1).max(64), ClassObject]),
);
export type ClassesJson = z.infer<typeof ClassesJson>;

export interface ClassSpec {
  labelValue: number;
  name: string;
  color: [number, number, number];
  coding: SegmentCoding;
}

/** Validates the classes JSON and resolves names to codes and colours. Sorted by label value. */
export function parseClasses(input: unknown, where = 'classes'): ClassSpec[] {
  const parsed = ClassesJson.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new NnsamError(
      'invalid_classes',
      `${where}: ${issue.path.length ? `"${issue.path.join('.')}": ` : ''}${issue.message}`,
      { hint: 'Expected {"1": "Liver", "2": {"name": "Spleen", "color": [r, g, b]}} (label value -> name).' },
    );
  }
  const specs = Object.entries(parsed.data).map(([key, value]) => {
    const labelValue = Number(key);
    if (labelValue > 65535)
      throw new NnsamError('invalid_classes', `${where}: label value ${key} is above 65535`);
    const obj = typeof value === 'string' ? { name: value } : value;
    const standard = codingForName(obj.name);
    const code = 'code' in obj ? obj.code : undefined;
    // a code the caller gives replaces the table's; a modifier belongs to the type it came with
    const typeModifier = code?.typeModifier ?? (code?.type ? undefined : standard.typeModifier);
    const coding: SegmentCoding = {
      category: (code?.category as CodedConcept | undefined) ?? standard.category,
      type: (code?.type as CodedConcept | undefined) ?? standard.type,
      ...(typeModifier ? { typeModifier: typeModifier as CodedConcept } : {}),
    };
    const color = ('color' in obj && obj.color) || defaultColor(labelValue);
    return { labelValue, name: obj.name, color: color as [number, number, number], coding };
  });
  if (specs.length === 0) throw new NnsamError('invalid_classes', `${where} lists no classes`);
  return specs.sort((a, b) => a.labelValue - b.labelValue);
}

/** Classes named "Label N" for the values present, when the caller gives none. */
export function defaultClasses(labelValues: number[]): ClassSpec[] {
  return parseClasses(Object.fromEntries(labelValues.map((v) => [String(v), `Label ${v}`])));
}

// A palette of distinguishable colours (label 1 red, 2 green, 3 blue, ...), cycled for larger values.
const PALETTE: [number, number, number][] = [
  [230, 25, 75],
  [60, 180, 75],
  [0, 130, 200],
  [255, 225, 25],
  [245, 130, 48],
  [145, 30, 180],
  [70, 240, 240],
  [240, 50, 230],
  [210, 245, 60],
  [250, 190, 212],
  [0, 128, 128],
  [170, 110, 40],
];

export function defaultColor(labelValue: number): [number, number, number] {
  return PALETTE[(labelValue - 1) % PALETTE.length]!;
}

// --- colour spaces: DICOM stores recommended display colours as CIELab scaled to 0..65535 ---------------

/** sRGB (0..255) -> DICOM CIELab (L 0..65535 for 0..100, a/b 0..65535 for -128..127), D65. */
export function rgbToDicomLab([r, g, b]: [number, number, number]): [number, number, number] {
  const lin = (c: number) => {
    const v = c / 255;
    return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  const [R, G, B] = [lin(r), lin(g), lin(b)];
  const x = (0.4124564 * R + 0.3575761 * G + 0.1804375 * B) / 0.95047;
  const y = 0.2126729 * R + 0.7151522 * G + 0.072175 * B;
  const z = (0.0193339 * R + 0.119192 * G + 0.9503041 * B) / 1.08883;
  const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : ((24389 / 27) * t + 16) / 116);
  const [fx, fy, fz] = [f(x), f(y), f(z)];
  const L = 116 * fy - 16;
  const A = 500 * (fx - fy);
  const Bb = 200 * (fy - fz);
  const clamp = (v: number) => Math.max(0, Math.min(65535, Math.round(v)));
  return [clamp((L * 65535) / 100), clamp(((A + 128) * 65535) / 255), clamp(((Bb + 128) * 65535) / 255)];
}

/** DICOM CIELab -> sRGB (0..255), the inverse of rgbToDicomLab. */
export function dicomLabToRgb([l, a, b]: number[]): [number, number, number] {
  const L = ((l ?? 0) * 100) / 65535;
  const A = ((a ?? 32896) * 255) / 65535 - 128;
  const B = ((b ?? 32896) * 255) / 65535 - 128;
  const fy = (L + 16) / 116;
  const fx = fy + A / 500;
  const fz = fy - B / 200;
  const inv = (t: number) => (t ** 3 > 216 / 24389 ? t ** 3 : (116 * t - 16) / (24389 / 27));
  const x = inv(fx) * 0.95047;
  const y = inv(fy);
  const z = inv(fz) * 1.08883;
  const R = 3.2404542 * x - 1.5371385 * y - 0.4985314 * z;
  const G = -0.969266 * x + 1.8760108 * y + 0.041556 * z;
  const Bl = 0.0556434 * x - 0.2040259 * y + 1.0572252 * z;
  const gamma = (v: number) => (v <= 0.0031308 ? 12.92 * v : 1.055 * v ** (1 / 2.4) - 0.055);
  const to8 = (v: number) => Math.max(0, Math.min(255, Math.round(gamma(v) * 255)));
  return [to8(R), to8(G), to8(Bl)];
}
