// Writes the JSON Schemas of the trainer's input (src/engine/training/trainer-input.ts) into the trainer
// package, where nnsam_trainer/contract.py validates against them. Run after changing the plan's schema:
//   npm run -w server schemas
// (trainer-input.test.ts fails while the files differ from what the zod schemas generate).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { trainerSchemaFiles } from '../dist/engine/training/trainer-input.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'trainer', 'nnsam_trainer', 'schemas');
mkdirSync(dir, { recursive: true });
for (const [name, schema] of Object.entries(trainerSchemaFiles())) {
  writeFileSync(join(dir, name), JSON.stringify(schema, null, 2) + '\n');
  console.log(`wrote ${join(dir, name)}`);
}
