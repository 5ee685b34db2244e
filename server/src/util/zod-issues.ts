/** A zod failure as one line a user can act on: the first few fields and what is wrong with each. */
import type { z } from 'zod';

export function issuesText(error: z.ZodError, max = 3): string {
  return error.issues
    .slice(0, max)
    .map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`)
    .join('; ');
}
