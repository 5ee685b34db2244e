/**
 * The server's state in one SQLite file (better-sqlite3, WAL): projects, examples, models, jobs, job events,
 * rules and API token hashes. Large things (labelmaps, model folders, SEG files) live as files under the data
 * directory; rows point at them by id. Schema changes are numbered migrations applied at open.
 */
import Database from 'better-sqlite3';

import { NnsamError } from '../util/errors.js';

export type Db = Database.Database;

const MIGRATIONS: string[] = [
  `
  CREATE TABLE projects (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT,
    classes TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE TABLE examples (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    study_uid TEXT NOT NULL,
    series_uid TEXT NOT NULL,
    source_kind TEXT NOT NULL,
    source TEXT NOT NULL,
    labelled_slices TEXT NOT NULL,
    labelled_sops TEXT NOT NULL,
    classes_present TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE INDEX examples_project ON examples(project_id);
  CREATE TABLE models (
    id TEXT PRIMARY KEY,
    project_id TEXT REFERENCES projects(id) ON DELETE SET NULL,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    encoder TEXT NOT NULL,
    classes TEXT NOT NULL,
    metrics TEXT NOT NULL,
    training_examples INTEGER NOT NULL,
    labelled_slices INTEGER NOT NULL
  );
  CREATE INDEX models_project ON models(project_id, created_at);
  CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    project_id TEXT,
    model_id TEXT,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    progress TEXT,
    error TEXT,
    result TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    owner TEXT
  );
  CREATE INDEX jobs_state ON jobs(state, created_at);
  CREATE TABLE job_events (
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
  );
  CREATE TABLE rules (
    id TEXT PRIMARY KEY,
    rule TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    last_used_at TEXT
  );
  CREATE TABLE hook_events (
    study_uid TEXT NOT NULL,
    series_uid TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (series_uid, rule_id)
  );
  `,
];

export function openDb(path: string): Db {
  let db: Db;
  try {
    db = new Database(path);
  } catch (e) {
    throw new NnsamError(
      'database_unavailable',
      `Cannot open the server database ${path}: ${(e as Error).message}`,
      {
        status: 500,
        hint: 'Check that the data directory exists and is writable.',
      },
    );
  }
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    db.close();
    throw new NnsamError(
      'database_too_new',
      `The database ${path} was written by a newer nnSAM server (schema ${current}, this one knows ${MIGRATIONS.length}).`,
      { status: 500, hint: 'Upgrade the server, or point it at another data directory.' },
    );
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return db;
}
