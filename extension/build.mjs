// Builds the extension twice with esbuild:
//  dist/plugin/nnsam-extension.js  one self-contained ES module (React included) that a stock OHIF viewer
//                                  imports at run time from /plugins/ (see docs/viewer.md)
//  dist/index.js                   the package entry for an OHIF monorepo (pluginConfig.json): React and
//                                  react-dom stay external, the host app provides them
import { rmSync } from 'node:fs';

import { build } from 'esbuild';

rmSync('dist', { recursive: true, force: true }); // no stale files from older builds in the package

const common = {
  entryPoints: ['src/index.tsx'],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2020',
  jsx: 'automatic',
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'warning',
};

await build({
  ...common,
  outfile: 'dist/plugin/nnsam-extension.js',
  minify: true,
  define: { 'process.env.NODE_ENV': '"production"' },
});
await build({
  ...common,
  outfile: 'dist/index.js',
  external: ['react', 'react-dom', 'react/*', 'react-dom/*'],
});
