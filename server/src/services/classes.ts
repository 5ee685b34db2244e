import type { ClassDef } from '../api/index.js';
import type { ClassesJson } from '../dicom/index.js';

/** A project's classes in the classes-JSON form the DICOM layer and the engine read. */
export function classesJson(classes: ClassDef[]): ClassesJson {
  const out: ClassesJson = {};
  for (const c of classes) {
    const code =
      c.category || c.type
        ? { ...(c.category ? { category: c.category } : {}), ...(c.type ? { type: c.type } : {}) }
        : undefined;
    out[String(c.value)] =
      c.color || code
        ? { name: c.name, ...(c.color ? { color: c.color } : {}), ...(code ? { code } : {}) }
        : c.name;
  }
  return out;
}

/** label value -> name, as the engine's training API takes it. */
export function classNames(classes: ClassDef[]): Record<string, string> {
  return Object.fromEntries(classes.map((c) => [String(c.value), c.name]));
}
