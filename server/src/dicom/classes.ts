/**
 * The classes of a label volume, owned here: `ClassDefinition` is the one shape of a class in the server
 * (label value, name, optional colour and codes). Its other forms are views of it:
 *   - the classes JSON (`ClassesJson`, the CLI's `--classes`): a file form, read by `parseClasses`
 *       { "1": "Liver", "2": { "name": "Spleen", "color": [r, g, b], "code": { "type": {...}, ... } } }
 *   - api/projects.ts `ClassDef`: the HTTP schema of a project's class, values 1..255, no type modifier
 *     (structurally a ClassDefinition, so a project's or model's classes go to writeSeg as they are)
 *   - engine/types.ts `ClassMap` (label value -> name): the engine's names-only view (services classNames)
 * The DICOM codes and colours of a class (`segmentCoding`, `displayColor`) are resolved here and nowhere else.
 */
import { z } from 'zod';

import { NnsamError } from '../util/errors.js';
import { codingForName, type CodedConcept, type SegmentCoding } from './codes.js';

/** One class of a label volume. */
export interface ClassDefinition {
  /** Label value in label volumes (1..65535; a project's are 1..255). */
  value: number;
  name: string;
  /** sRGB display colour; default: a palette colour by value (`defaultColor`). */
  color?: [number, number, number];
  /** Codes that replace the ones the name would get from the table (codes.ts). */
  category?: CodedConcept;
  type?: CodedConcept;
  typeModifier?: CodedConcept;
}

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

/** The classes JSON: label value -> name, or name with colour and codes. */
export const ClassesJson = z.record(
  z.string().regex(/^[1-9][0-9]*$/),
  z.union([z.string().min(1).max(64), ClassObject]),
);
export type ClassesJson = z.infer<typeof ClassesJson>;

const CLASSES_HINT =
  'Expected {"1": "Liver", "2": {"name": "Spleen", "color": [r, g, b]}} (label value -> name).';

/** Validates the classes JSON into class definitions, sorted by label value. */
export function parseClasses(input: unknown, where = 'classes'): ClassDefinition[] {
  const parsed = ClassesJson.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new NnsamError(
      'invalid_classes',
      `${where}: ${issue.path.length ? `"${issue.path.join('.')}": ` : ''}${issue.message}`,
      { hint: CLASSES_HINT },
    );
  }
  const defs = Object.entries(parsed.data).map(([key, entry]): ClassDefinition => {
    const value = Number(key);
    if (value > 65535) throw new NnsamError('invalid_classes', `${where}: label value ${key} is above 65535`);
    if (typeof entry === 'string') return { value, name: entry };
    const code = entry.code;
    return {
      value,
      name: entry.name,
      ...(entry.color ? { color: entry.color as [number, number, number] } : {}),
      ...(code?.category ? { category: code.category } : {}),
      ...(code?.type ? { type: code.type } : {}),
      ...(code?.typeModifier ? { typeModifier: code.typeModifier } : {}),
    };
  });
  if (defs.length === 0) throw new NnsamError('invalid_classes', `${where} lists no classes`);
  return defs.sort((a, b) => a.value - b.value);
}

/**
 * Class definitions given as a list (a project's or model's classes): sorted by label value; a value listed
 * twice is refused (`invalid_classes`), since a SEG holds one segment per value.
 */
export function checkClasses(classes: readonly ClassDefinition[], where = 'classes'): ClassDefinition[] {
  const seen = new Set<number>();
  for (const c of classes) {
    if (seen.has(c.value)) {
      const names = classes.filter((d) => d.value === c.value).map((d) => `"${d.name}"`);
      throw new NnsamError(
        'invalid_classes',
        `${where}: label value ${c.value} is listed twice (${names.join(', ')})`,
        { hint: 'Give each class its own label value.' },
      );
    }
    seen.add(c.value);
  }
  return [...classes].sort((a, b) => a.value - b.value);
}

/** Classes named "Label N" for the values present, when the caller gives none. */
export function defaultClasses(labelValues: number[]): ClassDefinition[] {
  return parseClasses(Object.fromEntries(labelValues.map((v) => [String(v), `Label ${v}`])));
}

/**
 * A class's segment codes: the codes it gives replace the table's (codes.ts, by name); a type modifier belongs
 * to the type it came with, so the table's modifier is kept only when the class gives no type.
 */
export function segmentCoding(c: ClassDefinition): SegmentCoding {
  const standard = codingForName(c.name);
  const typeModifier = c.typeModifier ?? (c.type ? undefined : standard.typeModifier);
  return {
    category: c.category ?? standard.category,
    type: c.type ?? standard.type,
    ...(typeModifier ? { typeModifier } : {}),
  };
}

/** A class's display colour: its own, else the palette's for its value. */
export function displayColor(c: ClassDefinition): [number, number, number] {
  return c.color ?? defaultColor(c.value);
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
