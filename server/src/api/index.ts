/**
 * The HTTP contract between the server and the viewer extension: zod schemas and the TypeScript types
 * inferred from them. The extension imports this module (`@nnsam/server/api`); the server validates every
 * request and response with the same schemas. Keep it free of Node-only imports.
 */
import { z } from 'zod';

export const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    hint: z.string().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

export const Health = z.object({
  status: z.literal('ok'),
  version: z.string(),
});
export type Health = z.infer<typeof Health>;

export * from './labelmap.js';
