/**
 * The viewer as an Express router: the stock OHIF dist/ with our generated app-config.js, our plugin
 * bundles under /plugins/, DICOMweb proxied under /dicom-web, and index.html for every other page route
 * (OHIF routes on the client). Mount it at the root of an app, after the API:
 *
 *   app.use('/api', apiRouter);
 *   app.use(viewerRouter({ ohifDist, plugins, dicomWebUpstream, apiBaseUrl: '/api' }));
 *
 * The OHIF build references its assets with absolute paths (PUBLIC_URL '/'), so the router must be mounted
 * at '/', not under a prefix.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';

import express, { type Router } from 'express';

import { NnsamError } from '../util/errors.js';
import {
  DICOMWEB_PATH,
  ohifAppConfig,
  PLUGINS_PATH,
  renderAppConfig,
  type AppConfigOptions,
  type RuntimePlugin,
} from './app-config.js';
import { dicomWebProxy, type DicomWebProxyOptions } from './proxy.js';

export interface ViewerOptions {
  /** OHIF's prebuilt dist/ folder (see ohifDistDir()). */
  ohifDist: string;
  /** Runtime plugin bundles to serve and list in app-config.js (see nnsamPlugins()). */
  plugins: RuntimePlugin[];
  /** DICOMweb root to proxy under /dicom-web, e.g. http://127.0.0.1:8042/dicom-web */
  dicomWebUpstream: string;
  /** Base URL of the nnSAM API as the browser sees it; '/api' when it shares this origin. */
  apiBaseUrl: string;
  /** Proxy details (Host pass-through, extra headers). */
  proxy?: Omit<DicomWebProxyOptions, 'upstream'>;
  /** Extra app-config.js keys (see AppConfigOptions.overrides). */
  appConfigOverrides?: AppConfigOptions['overrides'];
}

export function viewerRouter(options: ViewerOptions): Router {
  const indexFile = join(options.ohifDist, 'index.html');
  if (!existsSync(indexFile)) {
    throw new NnsamError('viewer_missing', `${options.ohifDist} is not an OHIF build (no index.html).`, {
      status: 503,
      hint: 'Run `npm run setup`, or point NNSAM_OHIF_DIST at the dist/ folder of an OHIF build.',
    });
  }
  const indexHtml = readFileSync(indexFile, 'utf8');
  const appConfigJs = renderAppConfig(
    ohifAppConfig({
      plugins: options.plugins,
      apiBaseUrl: options.apiBaseUrl,
      overrides: options.appConfigOverrides,
    }),
  );
  const pluginFiles = pluginFileMap(options.plugins);

  const router = express.Router();
  router.use(DICOMWEB_PATH, dicomWebProxy({ upstream: options.dicomWebUpstream, ...options.proxy }));

  router.get('/app-config.js', (_req, res) => {
    res.type('application/javascript').set('Cache-Control', 'no-cache').send(appConfigJs);
  });

  router.get(`${PLUGINS_PATH}/:file`, (req, res, next) => {
    const file = pluginFiles.get(req.params.file);
    if (!file) return next();
    // ES modules are fetched with CORS semantics; same origin needs nothing, and no-cache keeps a rebuilt
    // plugin from being shadowed by the browser's copy.
    res.set('Cache-Control', 'no-cache').sendFile(file, { dotfiles: 'deny' });
  });

  // The prebuilt viewer: hashed bundles, wasm, fonts, icons. index.html is served by the fallback below so
  // that it always comes with no-cache.
  router.use(express.static(options.ohifDist, { index: false, fallthrough: true }));

  // Client-side routes (/nnsam?StudyInstanceUIDs=..., /segmentation, /): the page itself. Anything that
  // looks like a file, or is not asking for HTML, gets a plain 404 instead of a page.
  router.get('/{*path}', (req, res, next) => {
    if (extname(req.path) && !req.path.endsWith('.html')) return next();
    if (req.path.startsWith(`${PLUGINS_PATH}/`) || !req.accepts('html')) return next();
    res.type('html').set('Cache-Control', 'no-cache').send(indexHtml);
  });
  return router;
}

/** URL file name -> path on disk for each plugin bundle and, when present, its source map. */
function pluginFileMap(plugins: RuntimePlugin[]): Map<string, string> {
  const files = new Map<string, string>();
  for (const p of plugins) {
    if (!existsSync(p.file)) {
      throw new NnsamError('viewer_plugins_missing', `The viewer plugin ${p.file} does not exist.`, {
        status: 503,
        hint: 'Run `npm run build` in the repository root.',
      });
    }
    const name = basename(p.file);
    if (files.has(name))
      throw new NnsamError('viewer_plugins_clash', `Two viewer plugins are named ${name}.`);
    files.set(name, p.file);
    if (existsSync(`${p.file}.map`)) files.set(`${name}.map`, `${p.file}.map`);
  }
  return files;
}
