/**
 * Where the viewer's files are on disk: the prebuilt OHIF dist/ that scripts/setup.sh unpacks into
 * .cache/, and our two plugin bundles built by the extension and mode workspaces.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { NnsamError } from '../util/errors.js';
import { repoRoot } from '../util/paths.js';
import type { RuntimePlugin } from './app-config.js';

/** The OHIF release the viewer is pinned to (scripts/setup.sh pins the tarball's integrity). */
export const OHIF_VERSION = '3.13.2';

/** The prebuilt OHIF viewer: NNSAM_OHIF_DIST, else .cache/ohif-app-<version>/dist in the repository. */
export function ohifDistDir(): string {
  const dir = process.env.NNSAM_OHIF_DIST ?? join(repoRoot, '.cache', `ohif-app-${OHIF_VERSION}`, 'dist');
  if (!existsSync(join(dir, 'index.html'))) {
    throw new NnsamError('viewer_missing', `The OHIF viewer is not installed: ${dir} has no index.html.`, {
      status: 503,
      hint:
        `Run \`npm run setup\` (it fetches @ohif/app@${OHIF_VERSION} into .cache/), ` +
        'or set NNSAM_OHIF_DIST to the dist/ folder of an OHIF build.',
    });
  }
  return dir;
}

/** Our extension and mode, built for runtime loading (`npm run build` in extension/ and mode/). */
export function nnsamPlugins(): RuntimePlugin[] {
  const plugins: RuntimePlugin[] = [
    { kind: 'extension', file: join(repoRoot, 'extension', 'dist', 'plugin', 'nnsam-extension.js') },
    { kind: 'mode', file: join(repoRoot, 'mode', 'dist', 'plugin', 'nnsam-mode.js') },
  ];
  const missing = plugins.filter((p) => !existsSync(p.file));
  if (missing.length) {
    throw new NnsamError(
      'viewer_plugins_missing',
      `The nnSAM viewer plugins are not built: ${missing.map((p) => p.file).join(', ')} missing.`,
      { status: 503, hint: 'Run `npm run build` in the repository root.' },
    );
  }
  return plugins;
}
