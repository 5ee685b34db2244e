import type { Example } from '../api/index.js';
import { NnsamError } from '../util/errors.js';
import type { Db } from './db.js';
import { newId, now } from './ids.js';

interface ExampleRow {
  id: string;
  project_id: string;
  study_uid: string;
  series_uid: string;
  source_kind: Example['sourceKind'];
  source: string;
  labelled_slices: string;
  labelled_sops: string;
  classes_present: string;
  created_at: string;
}

/**
 * What a stored example points at: the labelmap file (under the data dir), the SEG in the PACS, or nothing
 * but its series (image-only).
 */
export type StoredSource =
  | { kind: 'labelmap'; file: string }
  | { kind: 'image' }
  | {
      kind: 'seg';
      segSeriesInstanceUID: string;
      segSOPInstanceUID?: string;
      segmentMap?: Record<string, number>;
      labelledSOPInstanceUIDs?: string[];
    };

export interface StoredExample extends Example {
  source: StoredSource;
}

function toExample(r: ExampleRow): StoredExample {
  return {
    id: r.id,
    projectId: r.project_id,
    studyInstanceUID: r.study_uid,
    seriesInstanceUID: r.series_uid,
    sourceKind: r.source_kind,
    source: JSON.parse(r.source) as StoredSource,
    labelledSlices: JSON.parse(r.labelled_slices) as number[],
    labelledSOPInstanceUIDs: JSON.parse(r.labelled_sops) as string[],
    classesPresent: JSON.parse(r.classes_present) as number[],
    createdAt: r.created_at,
  };
}

/** The public view of an example (no server-side file names). */
export function publicExample(e: StoredExample): Example {
  const { source: _source, ...rest } = e;
  return rest;
}

export class ExampleRepo {
  constructor(private readonly db: Db) {}

  create(input: Omit<StoredExample, 'id' | 'createdAt'> & { id?: string }): StoredExample {
    const id = input.id ?? newId('ex');
    this.db
      .prepare(
        `INSERT INTO examples (id, project_id, study_uid, series_uid, source_kind, source, labelled_slices,
           labelled_sops, classes_present, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        id,
        input.projectId,
        input.studyInstanceUID,
        input.seriesInstanceUID,
        input.sourceKind,
        JSON.stringify(input.source),
        JSON.stringify(input.labelledSlices),
        JSON.stringify(input.labelledSOPInstanceUIDs),
        JSON.stringify(input.classesPresent),
        now(),
      );
    return this.get(input.projectId, id);
  }

  list(projectId: string): StoredExample[] {
    const rows = this.db
      .prepare('SELECT * FROM examples WHERE project_id = ? ORDER BY created_at, rowid')
      .all(projectId) as ExampleRow[];
    return rows.map(toExample);
  }

  get(projectId: string, id: string): StoredExample {
    const row = this.db
      .prepare('SELECT * FROM examples WHERE project_id = ? AND id = ?')
      .get(projectId, id) as ExampleRow | undefined;
    if (!row)
      throw new NnsamError('example_not_found', `Project ${projectId} has no example ${id}.`, {
        status: 404,
      });
    return toExample(row);
  }

  remove(projectId: string, id: string): StoredExample {
    const e = this.get(projectId, id);
    this.db.prepare('DELETE FROM examples WHERE id = ?').run(id);
    return e;
  }
}
