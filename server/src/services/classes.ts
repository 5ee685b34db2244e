/**
 * The services' view of a project's classes: the engine's names-only ClassMap, derived from the class
 * definitions (dicom/classes.ts ClassDefinition, of which api/projects.ts ClassDef is the HTTP schema).
 */
import type { ClassDefinition } from '../dicom/index.js';
import type { ClassMap } from '../engine/index.js';

/** label value -> name, as the engine's training API and its validation take it. */
export function classNames(classes: readonly ClassDefinition[]): ClassMap {
  return Object.fromEntries(classes.map((c) => [String(c.value), c.name]));
}
