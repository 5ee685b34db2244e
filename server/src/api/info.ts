import { z } from 'zod';

export const Health = z.object({
  status: z.literal('ok'),
  version: z.string(),
});
export type Health = z.infer<typeof Health>;

export const Info = z.object({
  version: z.string(),
  devices: z.object({
    cpuThreads: z.number().int(),
    cuda: z.boolean(),
    gpus: z.array(z.string()),
  }),
  encoders: z.array(
    z.object({
      id: z.string(),
      available: z.boolean(),
      description: z.string(),
      hint: z.string().optional(),
    }),
  ),
  mobileSam: z.object({ configured: z.boolean(), source: z.string().optional() }),
  dicomweb: z.object({ url: z.string() }),
  auth: z.enum(['none', 'bearer']),
  queue: z.enum(['local', 'redis']),
});
export type Info = z.infer<typeof Info>;
