/** `nnsam serve` (the API server, and the OHIF viewer when installed) and `nnsam worker` (jobs from Redis). */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import type { Command } from 'commander';

import { serve } from '../../api-server.js';
import { loadConfig, type ConfigFlags } from '../../config.js';
import { createJobHandlers, ServiceEnv } from '../../services/index.js';
import { RedisWorkers } from '../../jobs/redis-queue.js';
import { Store } from '../../store/index.js';
import { NnsamError } from '../../util/errors.js';
import { log } from '../../util/logger.js';
import { ohifDistDir } from '../../viewer/index.js';

const serverFlags = (cmd: Command) =>
  cmd
    .option('--data <dir>', 'data directory: database, models, caches (env NNSAM_DATA)')
    .option('--dicomweb <url>', 'DICOMweb root of the PACS (env NNSAM_DICOMWEB_URL)')
    .option('--queue <backend>', 'local | redis (env NNSAM_QUEUE)')
    .option('--redis <url>', 'Redis URL for --queue redis (env NNSAM_REDIS_URL)');

/** Resolves when the process is asked to stop (Ctrl-C, SIGTERM from a service manager). */
function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
}

export function registerServe(program: Command): void {
  serverFlags(
    program
      .command('serve')
      .description('start the HTTP API server (and the OHIF viewer, when its build is installed)')
      .option('--port <n>', 'port (env NNSAM_PORT, default 8900)')
      .option('--host <address>', 'address to listen on (env NNSAM_HOST, default 127.0.0.1)')
      .option('--auth <mode>', 'bearer | none (none: local use on loopback only; env NNSAM_AUTH)')
      .option('--no-workers', 'only serve the API; jobs run on `nnsam worker` processes (Redis queue)')
      .option('--no-viewer', 'do not serve the OHIF viewer'),
  ).action(async (opts: ConfigFlags & { viewer: boolean }) => {
    const config = loadConfig(opts);
    const viewer = opts.viewer && existsSync(join(ohifDistDir(), 'index.html'));
    const running = await serve(config, log, { viewer });
    console.log(
      `nnSAM server listening on ${running.url} (API: ${running.url}/api, OpenAPI: ${running.url}/api/openapi.json)`,
    );
    if (viewer) console.log(`OHIF viewer: ${running.url}/`);
    console.log(
      `data: ${config.dataDir}; DICOMweb: ${config.dicomweb.url}; auth: ${config.auth.mode}; queue: ${config.queue.backend}`,
    );
    const signal = await untilSignal();
    log.info('shutting down', { signal });
    await running.close();
  });
}

export function registerWorker(program: Command): void {
  serverFlags(
    program
      .command('worker')
      .description('run training and segmentation jobs from the Redis queue (a GPU host, say)'),
  ).action(async (opts: ConfigFlags) => {
    const config = loadConfig({ ...opts, queue: 'redis' });
    const env = new ServiceEnv(config, log);
    const workers = new RedisWorkers(
      config.queue.redisUrl!,
      createJobHandlers(env),
      { train: config.queue.trainWorkers, segment: config.queue.segmentWorkers },
      log,
    );
    await workers.start();
    console.log(`nnSAM worker taking jobs from ${config.queue.redisUrl} (data: ${config.dataDir})`);
    await untilSignal();
    await workers.stop();
    await env.close();
  });
}

export function registerToken(program: Command): void {
  const token = program.command('token').description('manage API tokens (stored as SHA-256 hashes)');
  const open = (data?: string) => new Store(loadConfig({ data }).dataDir);
  token
    .command('create <name>')
    .description('create a token; it is printed once and never stored in clear')
    .option('--data <dir>', 'data directory (env NNSAM_DATA)')
    .action((name: string, opts: { data?: string }) => {
      if (!/^[\w .@-]{1,64}$/.test(name))
        throw new NnsamError('invalid_name', 'Token names are 1-64 letters, digits, spaces, . @ _ -');
      const store = open(opts.data);
      const { token: value, info } = store.tokens.create(name);
      store.close();
      console.log(value);
      console.error(`created token ${info.id} ("${name}"); keep it now, it cannot be shown again`);
    });
  token
    .command('list')
    .option('--data <dir>', 'data directory (env NNSAM_DATA)')
    .action((opts: { data?: string }) => {
      const store = open(opts.data);
      for (const t of store.tokens.list())
        console.log(`${t.id}\t${t.name}\tcreated ${t.createdAt}\tlast used ${t.lastUsedAt ?? 'never'}`);
      store.close();
    });
  token
    .command('revoke <id>')
    .option('--data <dir>', 'data directory (env NNSAM_DATA)')
    .action((id: string, opts: { data?: string }) => {
      const store = open(opts.data);
      try {
        store.tokens.revoke(id);
      } finally {
        store.close();
      }
      console.log(`revoked ${id}`);
    });
}
