import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { serverRoot } from './util/paths.js';

/** The server package version (package.json is the single source). */
export const version: string = (
  JSON.parse(readFileSync(join(serverRoot, 'package.json'), 'utf8')) as { version: string }
).version;
