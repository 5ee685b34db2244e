/**
 * The layer rules of docs/architecture.md, checked on every relative import under server/src:
 *   1. a layer enters another layer that has an index.ts through that index.ts, never one of its files;
 *   2. a shipped (non-test) file imports only layers below its own (siblings are independent);
 *   3. a shipped file never imports the test helpers (test/support) or a *.test.ts file.
 * Test files follow rule 1 but not rule 2: a test may set up with an upper layer (the viewer's router test
 * serves the demo phantom). Every exception is listed below with its reason; `layerViolations` is exported
 * so the test can show it catches a made-up violation of each rule.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const SRC = dirname(fileURLToPath(import.meta.url));

/**
 * Rank of each layer, bottom first: a file may import a layer of lower rank only. A layer is the first
 * folder under server/src, or a file directly in it (by name).
 */
const RANK: Record<string, number> = {
  util: 0,
  volume: 1,
  orthanc: 1, // launches a private Orthanc (demo, tests); knows nothing of DICOM content
  config: 1,
  version: 1, // reads the package version (util/paths)
  dicom: 2,
  engine: 2,
  api: 3, // the HTTP contract: zod schemas of the wire, for store/jobs/services/http and the extension
  store: 4,
  jobs: 5,
  services: 6,
  http: 7,
  viewer: 7,
  'api-server': 8,
  demo: 9,
  cli: 10,
  index: 10, // the package entry (re-exports the public layers)
};

/** Imports that break a rule on purpose: "from -> to" (paths under server/src) and why. */
export const EXCEPTIONS: Record<string, string> = {
  'cli/commands/encoder.ts -> engine/ort-env.ts':
    "onnxruntime-node's environment must be set before the module loads; engine/index.ts would load it first. " +
    'A side-effect import, no API.',
  'engine/training/train.ts -> api/training-budget.ts':
    'the retrain budget fraction is one constant shared by the engine and the viewer panel, which bundles ' +
    'only api/; training-budget.ts is zod-free and no wire type.',
};

/** Layers without an index.ts are entered file by file; they say so here. */
export const OPEN_LAYERS: Record<string, string> = {
  util: 'independent helpers (errors, logger, tar, paths, net, zod issues), each imported by name',
  jobs:
    'independent modules: the payload schemas, the queue interface and two queue backends (redis-queue ' +
    'loads bullmq, which the local queue and the HTTP layer do not need)',
  http: 'only api-server.ts enters it (http/app.ts builds the app, http/context.ts types its context)',
  cli: 'the command line: nothing imports it',
  orthanc: 'one module (launch.ts)',
};

export interface Import {
  /** Importing file, relative to server/src with / separators. */
  from: string;
  /** The specifier as written. */
  specifier: string;
}

/** Relative import specifiers of a source text (import/export ... from, side-effect and dynamic imports). */
export function importsOf(text: string): string[] {
  const found: string[] = [];
  const pattern =
    /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;
  for (const m of text.matchAll(pattern)) {
    const s = m[1] ?? m[2] ?? m[3];
    if (s?.startsWith('.')) found.push(s);
  }
  return found;
}

function layerOf(path: string): string {
  const parts = path.split('/');
  return parts.length > 1 ? parts[0]! : parts[0]!.replace(/(\.test)?\.ts$/, '');
}

/** The rule each import breaks (empty: none), given which layers have an index.ts. */
export function layerViolations(imports: Import[], indexed: Set<string>): string[] {
  const out: string[] = [];
  for (const { from, specifier } of imports) {
    const target = normalize(join(dirname(from), specifier))
      .split(sep)
      .join('/')
      .replace(/\.js$/, '.ts');
    const isTest = from.endsWith('.test.ts');
    const key = `${from} -> ${target}`;
    if (EXCEPTIONS[key]) continue;
    if (target.startsWith('..')) {
      if (!isTest && /(^|\/)test\//.test(target)) out.push(`${key}: shipped code imports a test helper`);
      continue;
    }
    if (!isTest && target.endsWith('.test.ts')) out.push(`${key}: shipped code imports a test`);
    const [a, b] = [layerOf(from), layerOf(target)];
    if (a === b) continue;
    if (indexed.has(b) && target !== `${b}/index.ts`) out.push(`${key}: enters ${b}/ past its index.ts`);
    if (isTest) continue;
    const [ra, rb] = [RANK[a], RANK[b]];
    if (ra === undefined || rb === undefined)
      out.push(`${key}: layer ${ra === undefined ? a : b} has no rank`);
    else if (rb > ra) out.push(`${key}: ${a} (rank ${ra}) imports the upper layer ${b} (rank ${rb})`);
    else if (rb === ra) out.push(`${key}: ${a} imports its sibling ${b} (rank ${ra})`);
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(join(dir, e.name))
      : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

function serverImports(): { imports: Import[]; indexed: Set<string> } {
  // this file is left out: its sample imports are strings, not imports
  const files = sourceFiles(SRC)
    .map((f) => relative(SRC, f).split(sep).join('/'))
    .filter((f) => f !== 'layers.test.ts');
  const indexed = new Set(files.filter((f) => /^[^/]+\/index\.ts$/.test(f)).map(layerOf));
  const imports = files.flatMap((from) =>
    importsOf(readFileSync(join(SRC, from), 'utf8')).map((specifier) => ({ from, specifier })),
  );
  return { imports, indexed };
}

describe('layers', () => {
  const { imports, indexed } = serverImports();

  it('reads the imports of server/src (multi-line, type-only, side-effect and dynamic ones)', () => {
    expect(imports.length).toBeGreaterThan(300);
    expect(
      importsOf(
        "import {\n  a,\n  type B,\n} from '../x/y.js';\nimport type { C } from './c.js';\n" +
          "import '../side.js';\nexport { d } from '../d/index.js';\nconst m = await import('../m.js');\n" +
          "import { z } from 'zod';",
      ),
    ).toEqual(['../x/y.js', './c.js', '../side.js', '../d/index.js', '../m.js']);
  });

  it('every layer is ranked, every layer without an index.ts says why, every exception is used', () => {
    const layers = new Set(imports.map((i) => layerOf(i.from)));
    expect([...layers].filter((l) => RANK[l] === undefined)).toEqual([]);
    const dirs = new Set(imports.filter((i) => i.from.includes('/')).map((i) => layerOf(i.from)));
    expect([...dirs].filter((d) => !indexed.has(d) && !OPEN_LAYERS[d])).toEqual([]);
    const keys = imports.map(
      ({ from, specifier }) =>
        `${from} -> ${normalize(join(dirname(from), specifier))
          .split(sep)
          .join('/')
          .replace(/\.js$/, '.ts')}`,
    );
    expect(Object.keys(EXCEPTIONS).filter((e) => !keys.includes(e))).toEqual([]);
  });

  it('no layer reaches past an index.ts or imports an upper layer, and no shipped file imports tests', () => {
    expect(layerViolations(imports, indexed)).toEqual([]);
  });

  it('catches a made-up violation of each rule', () => {
    const made = (from: string, specifier: string) => layerViolations([{ from, specifier }], indexed);
    expect(made('services/x.ts', '../engine/training/train.js')).toEqual([
      'services/x.ts -> engine/training/train.ts: enters engine/ past its index.ts',
    ]);
    expect(made('dicom/x.ts', '../api/index.js')).toEqual([
      'dicom/x.ts -> api/index.ts: dicom (rank 2) imports the upper layer api (rank 3)',
    ]);
    expect(made('dicom/x.ts', '../engine/index.js')).toEqual([
      'dicom/x.ts -> engine/index.ts: dicom imports its sibling engine (rank 2)',
    ]);
    expect(made('engine/x.ts', '../../../test/support/engine-fixtures.js')).toEqual([
      'engine/x.ts -> ../../test/support/engine-fixtures.ts: shipped code imports a test helper',
    ]);
    // a test may set up with an upper layer, but through its index.ts
    expect(made('viewer/x.test.ts', '../demo/index.js')).toEqual([]);
    expect(made('viewer/x.test.ts', '../demo/phantom.js')).toEqual([
      'viewer/x.test.ts -> demo/phantom.ts: enters demo/ past its index.ts',
    ]);
  });
});
