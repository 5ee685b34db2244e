import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { openDb, type Db } from './db.js';
import { ExampleRepo } from './examples.js';
import { JobRepo } from './jobs.js';
import { ModelRepo } from './models.js';
import { ProjectRepo } from './projects.js';
import { RuleRepo } from './rules.js';
import { TokenRepo } from './tokens.js';

/** The server's persistent state: one SQLite database plus folders for files, all under the data dir. */
export class Store {
  readonly db: Db;
  readonly projects: ProjectRepo;
  readonly examples: ExampleRepo;
  readonly models: ModelRepo;
  readonly jobs: JobRepo;
  readonly rules: RuleRepo;
  readonly tokens: TokenRepo;

  constructor(readonly dataDir: string) {
    for (const d of ['examples', 'models', 'results', 'cache', 'tmp'])
      mkdirSync(join(dataDir, d), { recursive: true });
    this.db = openDb(join(dataDir, 'nnsam.sqlite'));
    this.projects = new ProjectRepo(this.db);
    this.examples = new ExampleRepo(this.db);
    this.models = new ModelRepo(this.db);
    this.jobs = new JobRepo(this.db);
    this.rules = new RuleRepo(this.db);
    this.tokens = new TokenRepo(this.db);
  }

  /** Folder of a model's files. Ids are validated (no path characters), so the join cannot escape. */
  modelDir(id: string): string {
    return join(this.dataDir, 'models', id);
  }

  exampleFile(id: string): string {
    return join(this.dataDir, 'examples', `${id}.json`);
  }

  resultFile(jobId: string): string {
    return join(this.dataDir, 'results', `${jobId}.dcm`);
  }

  close(): void {
    this.db.close();
  }
}

export type { StoredExample, StoredSource } from './examples.js';
export { publicExample } from './examples.js';
export type { StoredJob } from './jobs.js';
export { publicJob } from './jobs.js';
export { newId } from './ids.js';
export { hashToken, TokenRepo } from './tokens.js';
