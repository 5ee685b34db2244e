/** The HTTP contract of projects and their classes (POST/GET /api/projects). */
import { z } from 'zod';

import { Id, Timestamp, UserText } from './common.js';

/** A coded concept (e.g. SNOMED CT) for a class; written into DICOM SEG segment descriptions. */
export const Code = z
  .object({
    scheme: z.string().min(1).max(16),
    /** DICOM CodeValue (SH: at most 16 characters). */
    value: z.string().min(1).max(16),
    meaning: z.string().min(1).max(64),
  })
  .strict();

/**
 * A project's class as HTTP carries it: the schema of the server's class definition (dicom/classes.ts
 * ClassDefinition, which owns the shape and resolves DICOM codes and colours) with values 1..255 and no type
 * modifier. Stored with the project and copied into each model it trains.
 */
export const ClassDef = z
  .object({
    /** Label value in label volumes and segment number in SEGs. */
    value: z.number().int().min(1).max(255),
    name: UserText(1, 64),
    color: z
      .tuple([
        z.number().int().min(0).max(255),
        z.number().int().min(0).max(255),
        z.number().int().min(0).max(255),
      ])
      .optional(),
    category: Code.optional(),
    type: Code.optional(),
  })
  .strict();
export type ClassDef = z.infer<typeof ClassDef>;

export const ProjectCreate = z
  .object({
    name: UserText(1, 128),
    description: UserText(0, 2000, { trim: false }).optional(),
    classes: z
      .array(ClassDef)
      .min(1)
      .max(255)
      .refine((cs) => new Set(cs.map((c) => c.value)).size === cs.length, 'class values must be unique')
      // JSON Schema's uniqueItems compares whole items, not one field: said here, refused with a 400
      .meta({
        description: 'The classes; their values must be unique (a 400 names the duplicate otherwise).',
      }),
  })
  .strict();
export type ProjectCreate = z.infer<typeof ProjectCreate>;

export const Project = ProjectCreate.extend({
  id: Id,
  createdAt: Timestamp,
  exampleCount: z.number().int(),
  latestModelId: Id.nullable(),
});
export type Project = z.infer<typeof Project>;
