#!/usr/bin/env node
// Thin launcher: the command line lives in src/cli (compiled to dist/cli by `npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error(
    'nnsam: the server is not built yet. Run `npm run setup` (or `npm run build`) in the repository root.',
  );
  process.exit(1);
}
const { run } = await import(main.href);
process.exitCode = await run(process.argv.slice(2));
