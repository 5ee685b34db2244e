/**
 * Composition of the API server: store + queue + services + Express routes. `startApi` builds the pieces
 * (used by `nnsam serve`, `nnsam demo` and the tests), `serve` also listens and shuts down gracefully.
 */
import { readdirSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';

import express, { type Express } from 'express';

import type { ServerConfig } from './config.js';
import { createApp } from './http/app.js';
import type { AppContext } from './http/context.js';
import { LocalQueue } from './jobs/local-queue.js';
import { RedisQueue, RedisWorkers } from './jobs/redis-queue.js';
import type { JobQueue } from './jobs/types.js';
import { createJobHandlers, createServices, ServiceEnv } from './services/index.js';
import { Store } from './store/index.js';
import type { Logger } from './util/logger.js';
import { nnsamPlugins, ohifDistDir, viewerRouter } from './viewer/index.js';
import { version } from './version.js';

export interface ApiRuntime {
  ctx: AppContext;
  env: ServiceEnv;
  /** Mounts /api on an Express app. */
  mount(app: Express): void;
  close(): Promise<void>;
}

export async function startApi(config: ServerConfig, log: Logger): Promise<ApiRuntime> {
  const store = new Store(config.dataDir);
  const forwardedTokens = new Map<string, string>();
  const env = new ServiceEnv(config, log, forwardedTokens);
  const handlers = createJobHandlers(env);
  const workers = { train: config.queue.trainWorkers, segment: config.queue.segmentWorkers };
  let queue: JobQueue;
  let redisWorkers: RedisWorkers | undefined;
  if (config.queue.backend === 'redis') {
    queue = new RedisQueue(store, config.queue.redisUrl!, log);
    if (config.queue.runWorkers)
      redisWorkers = new RedisWorkers(config.queue.redisUrl!, handlers, workers, log);
  } else {
    // this process is the only one running jobs on this data directory: what a killed run left is garbage
    removeLeftovers(store, log);
    queue = new LocalQueue(
      store,
      handlers,
      { workers: config.queue.runWorkers ? workers : { train: 0, segment: 0 } },
      log,
    );
  }
  try {
    await queue.start();
    await redisWorkers?.start();
  } catch (e) {
    store.close();
    throw e;
  }
  const ctx: AppContext = {
    config,
    store,
    queue,
    services: createServices(env, store),
    log,
    version,
    forwardedTokens,
  };
  if (config.auth.mode === 'none')
    log.warn('authentication is OFF (NNSAM_AUTH=none): local use on loopback only');
  else if (!config.auth.tokens.length && !config.auth.oidc && !store.tokens.list().length) {
    log.warn('no API token or OIDC issuer is configured: every request will be refused', {
      hint: 'create a token with `nnsam token create NAME` or set NNSAM_API_TOKENS / NNSAM_OIDC_ISSUER',
    });
  }
  let closed = false;
  return {
    ctx,
    env,
    mount: (app) => void createApp(ctx, app),
    async close() {
      if (closed) return;
      closed = true;
      await redisWorkers?.stop();
      await queue.shutdown();
      await env.close();
      store.close();
    },
  };
}

/**
 * Removes what jobs killed with the server (SIGKILL, power loss) left half-written: the trainer's input
 * folders and imports in tmp/, model folders still under their temporary names, result files not yet
 * renamed. Their jobs are marked interrupted by the queue; nothing refers to these files.
 */
function removeLeftovers(store: Store, log: Logger): void {
  const leftovers = [
    ...readdirSync(join(store.dataDir, 'tmp')).map((n) => join('tmp', n)),
    ...readdirSync(join(store.dataDir, 'models'))
      .filter((n) => /^\..+\.(partial|old)-/.test(n))
      .map((n) => join('models', n)),
    ...['results', 'examples'].flatMap((d) =>
      readdirSync(join(store.dataDir, d))
        .filter((n) => n.endsWith('.tmp'))
        .map((n) => join(d, n)),
    ),
  ];
  for (const path of leftovers) rmSync(join(store.dataDir, path), { recursive: true, force: true });
  if (leftovers.length) log.warn('removed files left by jobs of a stopped server', { paths: leftovers });
}

export interface ServeOptions {
  /** Also serve the OHIF viewer with the nnSAM plugins and a /dicom-web proxy (default: when its dist exists). */
  viewer?: boolean;
}

export interface RunningServer {
  url: string;
  api: ApiRuntime;
  server: Server;
  close(): Promise<void>;
}

export async function serve(
  config: ServerConfig,
  log: Logger,
  options: ServeOptions = {},
): Promise<RunningServer> {
  const api = await startApi(config, log);
  const app = express();
  app.disable('x-powered-by');
  api.mount(app);
  if (options.viewer) {
    app.use(
      viewerRouter({
        ohifDist: ohifDistDir(),
        plugins: nnsamPlugins(),
        dicomWebUpstream: config.dicomweb.url,
        apiBaseUrl: '/api',
        ...(config.dicomweb.authorization
          ? { proxy: { headers: { authorization: config.dicomweb.authorization } } }
          : {}),
      }),
    );
  }
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  }).catch(async (e) => {
    await api.close();
    throw e;
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return {
    url: `http://${host}:${port}`,
    api,
    server,
    async close() {
      // stop taking requests, end streams, then stop the queue (running jobs become interrupted)
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      });
      await api.close();
    },
  };
}
