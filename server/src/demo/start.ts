/**
 * The demo stack behind `npm start`: a private Orthanc on loopback (or an existing DICOMweb server), the
 * synthetic phantom study stored in it, and one Express app that serves the OHIF viewer with the nnSAM
 * extension and mode and proxies DICOMweb. Tests start the same stack (test/support/stack.ts).
 */
import type { Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import express, { type Express } from 'express';

import { startApi, type ApiRuntime } from '../api-server.js';
import { loadConfig } from '../config.js';
import { startOrthanc, type OrthancInstance } from '../orthanc/launch.js';
import { log } from '../util/logger.js';
import { NnsamError } from '../util/errors.js';
import {
  nnsamPlugins,
  ohifDistDir,
  parseUpstream,
  viewerRouter,
  type RuntimePlugin,
} from '../viewer/index.js';
import { storeDemoLabels } from './labels-seg.js';
import { makePhantom, type Phantom, type PhantomOptions } from './phantom.js';
import { stowInstances } from './stow.js';

/** The mode's route: the study opens at /<route>?StudyInstanceUIDs=<uid> */
export const NNSAM_ROUTE = 'nnsam';

export interface DemoOptions {
  host?: string;
  /** 0 picks a free port */
  port?: number;
  /** folder for Orthanc's database (default: a temporary folder, removed on stop) */
  dir?: string;
  /** use this DICOMweb server instead of starting Orthanc */
  dicomWeb?: string;
  /** headers for every DICOMweb request to it (e.g. { authorization: 'Basic ...' }) */
  dicomWebHeaders?: Record<string, string>;
  /** store the phantom study (default: yes with our own Orthanc, no with an existing server) */
  upload?: boolean;
  phantom?: PhantomOptions;
  /** also store a SEG that labels a few of the phantom's slices (what `nnsam demo` does; tests paint their own) */
  demoLabels?: boolean;
  /** where the viewer finds the nnSAM API (default '/api' on the same origin) */
  apiBaseUrl?: string;
  /** mounts routes before the viewer and the API */
  mount?: (app: Express) => void | Promise<void>;
  /**
   * The nnSAM API at /api (local mode: no authentication, loopback only). `dataDir` holds its database and
   * models (default: a temporary folder removed on stop); false serves the viewer alone.
   */
  api?: { dataDir?: string; env?: NodeJS.ProcessEnv } | false;
  ohifDist?: string;
  plugins?: RuntimePlugin[];
  /** extra app-config.js keys */
  appConfigOverrides?: Record<string, unknown>;
}

export interface Demo {
  /** e.g. http://127.0.0.1:8900 */
  viewerUrl: string;
  /** the phantom study in the nnSAM mode, when it was stored */
  studyUrl: string | undefined;
  /** DICOMweb root the viewer's proxy forwards to */
  dicomWebUpstream: string;
  orthanc: OrthancInstance | undefined;
  phantom: Phantom | undefined;
  /** the SEG series with the phantom's labels on a few slices, when it was stored (demoLabels) */
  demoLabelsSeriesUID: string | undefined;
  /** The API's store, queue and services (undefined with api: false). */
  api: ApiRuntime | undefined;
  app: Express;
  server: Server;
  stop(): Promise<void>;
}

export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const host = options.host ?? '127.0.0.1';
  const ohifDist = options.ohifDist ?? ohifDistDir();
  const plugins = options.plugins ?? nnsamPlugins();
  if (options.dicomWeb) parseUpstream(options.dicomWeb);

  const orthanc = options.dicomWeb ? undefined : await startOrthanc({ dir: options.dir });
  const stops: Array<() => Promise<void>> = [];
  if (orthanc) stops.push(() => orthanc.stop());
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const dicomWebUpstream = options.dicomWeb ?? orthanc!.dicomWebUrl;
    let phantom: Phantom | undefined;
    let demoLabelsSeriesUID: string | undefined;
    if (options.upload ?? !options.dicomWeb) {
      phantom = makePhantom(options.phantom);
      await stowInstances(
        dicomWebUpstream,
        phantom.instances.map((i) => i.bytes),
        { headers: options.dicomWebHeaders },
      );
      if (options.demoLabels) {
        demoLabelsSeriesUID = await storeDemoLabels(dicomWebUpstream, phantom, options.dicomWebHeaders);
      }
    }

    const app = express();
    app.disable('x-powered-by');
    await options.mount?.(app);
    let api: ApiRuntime | undefined;
    if (options.api !== false) {
      let dataDir = options.api?.dataDir;
      if (!dataDir) {
        const tmp = await mkdtemp(join(tmpdir(), 'nnsam-demo-'));
        stops.push(() => rm(tmp, { recursive: true, force: true }));
        dataDir = tmp;
      }
      const config = loadConfig(
        { auth: 'none', host, data: dataDir, dicomweb: dicomWebUpstream },
        { ...process.env, ...options.api?.env },
      );
      if (options.dicomWebHeaders?.authorization)
        config.dicomweb.authorization = options.dicomWebHeaders.authorization;
      api = await startApi(config, log);
      stops.push(() => api!.close());
      api.mount(app);
    }
    app.use(
      viewerRouter({
        ohifDist,
        plugins,
        dicomWebUpstream,
        apiBaseUrl: options.apiBaseUrl ?? '/api',
        proxy: { headers: options.dicomWebHeaders },
        appConfigOverrides: options.appConfigOverrides,
      }),
    );
    const server = await listen(app, host, options.port ?? 0);
    stops.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : options.port;
    const viewerUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    return {
      viewerUrl,
      studyUrl: phantom
        ? `${viewerUrl}/${NNSAM_ROUTE}?StudyInstanceUIDs=${phantom.studyInstanceUID}`
        : undefined,
      dicomWebUpstream,
      orthanc,
      phantom,
      demoLabelsSeriesUID,
      api,
      app,
      server,
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

function listen(app: Express, host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    server.once('listening', () => resolve(server));
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new NnsamError('port_in_use', `Port ${port} on ${host} is already in use.`, {
              hint: 'Stop the other program, or choose another port with --port N (or NNSAM_PORT).',
            })
          : err,
      );
    });
  });
}
