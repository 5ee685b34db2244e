/**
 * Server configuration: command-line flags over environment variables over defaults, validated once at
 * start so a bad value stops the server with a message naming the variable. docs/server.md lists them all.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

import { z } from 'zod';

import { NnsamError } from './util/errors.js';

const bool = z
  .union([z.boolean(), z.enum(['1', '0', 'true', 'false', 'yes', 'no'])])
  .transform((v) => v === true || v === '1' || v === 'true' || v === 'yes');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const list = z
  .union([z.array(z.string()), z.string()])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean));

export const ServerConfig = z.object({
  host: z.string().min(1).default('127.0.0.1'),
  port: int(0, 65535).default(8900),
  dataDir: z.string().min(1),
  dicomweb: z.object({
    url: z.string().url(),
    /** Authorization header value the server sends to the PACS (its own credentials). */
    authorization: z.string().optional(),
    /** Forward the viewer's Authorization header to the PACS instead (deployments that share one IdP). */
    forwardViewerToken: bool.default(false),
    timeoutMs: int(100, 3_600_000).default(60_000),
    retries: int(0, 10).default(3),
  }),
  auth: z.object({
    mode: z.enum(['none', 'bearer']).default('bearer'),
    /** Static API tokens from configuration (hashed at start, never logged). */
    tokens: list.default([]),
    oidc: z
      .object({
        issuer: z.string().url(),
        audience: z.string().min(1),
        jwksUrl: z.string().url().optional(),
      })
      .optional(),
  }),
  cors: z.object({ origins: list.default([]) }),
  queue: z.object({
    backend: z.enum(['local', 'redis']).default('local'),
    redisUrl: z.string().optional(),
    /** Whether this process also runs jobs (false: API only; run `nnsam worker` elsewhere). */
    runWorkers: bool.default(true),
    trainWorkers: int(0, 64).default(1),
    segmentWorkers: int(0, 64).default(1),
  }),
  limits: z.object({
    bodyBytes: int(1024, 2 ** 31).default(256 * 1024 * 1024),
    jobsPerMinute: int(1, 100_000).default(30),
  }),
  engine: z.object({
    device: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
    threads: int(1, 1024).optional(),
    /** Mirror test-time augmentation of segment jobs that do not ask: auto = the plan's, else the device's */
    tta: z.enum(['auto', 'on', 'off']).default('auto'),
    /** Pixels of one onnxruntime run at most (inference/layout.ts); larger slices use the sliding window */
    maxPixels: int(4096, 2 ** 30).optional(),
    /** Each slice as one input where it fits (opt-in: its instance-norm statistics are not a patch's) */
    wholeSlice: bool.default(false),
  }),
});
export type ServerConfig = z.infer<typeof ServerConfig>;

export interface ConfigFlags {
  host?: string;
  port?: number | string;
  data?: string;
  dicomweb?: string;
  auth?: string;
  queue?: string;
  redis?: string;
  workers?: boolean;
}

/** Builds the configuration from flags and the environment; throws NnsamError naming the bad setting. */
export function loadConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const raw = {
    host: flags.host ?? env.NNSAM_HOST,
    port: flags.port ?? env.NNSAM_PORT,
    dataDir: resolve(
      flags.data ?? env.NNSAM_DATA ?? join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'nnsam'),
    ),
    dicomweb: {
      url: flags.dicomweb ?? env.NNSAM_DICOMWEB_URL ?? 'http://127.0.0.1:8042/dicom-web',
      authorization: env.NNSAM_DICOMWEB_AUTHORIZATION || undefined,
      forwardViewerToken: env.NNSAM_FORWARD_VIEWER_TOKEN,
      timeoutMs: env.NNSAM_DICOMWEB_TIMEOUT_MS,
      retries: env.NNSAM_DICOMWEB_RETRIES,
    },
    auth: {
      mode: flags.auth ?? env.NNSAM_AUTH,
      tokens: env.NNSAM_API_TOKENS,
      oidc: env.NNSAM_OIDC_ISSUER
        ? {
            issuer: env.NNSAM_OIDC_ISSUER,
            audience: env.NNSAM_OIDC_AUDIENCE,
            jwksUrl: env.NNSAM_OIDC_JWKS_URL,
          }
        : undefined,
    },
    cors: { origins: env.NNSAM_CORS_ORIGINS },
    queue: {
      backend: flags.queue ?? env.NNSAM_QUEUE,
      redisUrl: flags.redis ?? env.NNSAM_REDIS_URL,
      runWorkers: flags.workers ?? env.NNSAM_RUN_WORKERS,
      trainWorkers: env.NNSAM_TRAIN_WORKERS,
      segmentWorkers: env.NNSAM_SEGMENT_WORKERS,
    },
    limits: { bodyBytes: env.NNSAM_MAX_BODY_BYTES, jobsPerMinute: env.NNSAM_JOBS_PER_MINUTE },
    engine: {
      device: env.NNSAM_DEVICE,
      threads: env.NNSAM_THREADS,
      tta: env.NNSAM_TTA,
      maxPixels: env.NNSAM_MAX_PIXELS,
      wholeSlice: env.NNSAM_WHOLE_SLICE,
    },
  };
  const parsed = ServerConfig.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `${i.path.join('.') || 'config'}: ${i.message}`)
      .join('; ');
    throw new NnsamError('invalid_config', `Invalid server configuration: ${problems}`, {
      hint: 'See docs/server.md for every setting and its environment variable.',
    });
  }
  const config = parsed.data;
  if (config.queue.backend === 'redis' && !config.queue.redisUrl) {
    throw new NnsamError('invalid_config', 'NNSAM_QUEUE=redis needs NNSAM_REDIS_URL (or --redis URL).');
  }
  if (config.auth.mode === 'none' && !isLoopback(config.host)) {
    throw new NnsamError(
      'insecure_config',
      `Authentication is off (NNSAM_AUTH=none) but the server would listen on ${config.host}, not loopback.`,
      {
        hint: 'Local mode is for 127.0.0.1 only: configure API tokens or OIDC to listen on other interfaces.',
      },
    );
  }
  return config;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
