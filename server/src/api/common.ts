import { z } from 'zod';

/** A DICOM UID: digits and dots, at most 64 characters (PS3.5 9.1). */
export const Uid = z
  .string()
  .max(64)
  .regex(/^[0-9]+(\.[0-9]+)*$/, 'must be a DICOM UID (digits separated by dots)');

/** Our own identifiers (projects, models, jobs...): never path-like, so they are safe in file names. */
export const Id = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, "_" or "-"');

/**
 * Exactly one of `keys`: refused at run time with `message`, and stated in the JSON Schema as a `oneOf` of
 * `required` (with the object's `additionalProperties: false` the OpenAPI document then says what the
 * server enforces).
 */
export function exactlyOneOf<T extends z.ZodObject>(schema: T, keys: string[], message: string): T {
  return schema
    .refine((v) => keys.filter((k) => (v as Record<string, unknown>)[k] !== undefined).length === 1, message)
    .meta({ oneOf: keys.map((k) => ({ required: [k] })) });
}

/**
 * Text a user names things with (projects, classes, rules): trimmed (unless told not to), min..max
 * characters, and well-formed Unicode. JSON can carry an unpaired surrogate ("\\ud800") that no database or
 * DICOM writer keeps as sent: it is refused with a 400 instead of stored as something else.
 */
export function UserText(min: number, max: number, options: { trim?: boolean } = {}) {
  const text = options.trim === false ? z.string() : z.string().trim();
  return text
    .min(min)
    .max(max)
    .refine(
      (s) => !/[\uD800-\uDFFF]/u.test(s),
      'must be valid Unicode text (it holds an unpaired surrogate)',
    );
}

/** ISO 8601 timestamp. */
export const Timestamp = z.string();

export const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    hint: z.string().optional(),
    /** For validation errors: where in the request each problem is. */
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
