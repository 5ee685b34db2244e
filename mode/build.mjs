// Builds the mode twice with esbuild (it has no runtime dependencies):
//  dist/plugin/nnsam-mode.js  ES module a stock OHIF viewer imports at run time from /plugins/
//  dist/index.js              the package entry for an OHIF monorepo (pluginConfig.json)
import { rmSync } from 'node:fs';

import { build } from 'esbuild';

rmSync('dist', { recursive: true, force: true }); // no stale files from older builds in the package

const common = {
  entryPoints: ['src/index.ts'],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2020',
  sourcemap: true,
  logLevel: 'warning',
};

await build({ ...common, outfile: 'dist/plugin/nnsam-mode.js', minify: true });
await build({ ...common, outfile: 'dist/index.js' });
