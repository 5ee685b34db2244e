import type { ClassDef, Model } from '../api/index.js';
import { NnsamError } from '../util/errors.js';
import type { Db } from './db.js';
import { now } from './ids.js';

interface ModelRow {
  id: string;
  project_id: string | null;
  name: string;
  created_at: string;
  encoder: string;
  classes: string;
  metrics: string;
  training_examples: number;
  labelled_slices: number;
}

function toModel(r: ModelRow): Model {
  return {
    id: r.id,
    projectId: r.project_id,
    name: r.name,
    createdAt: r.created_at,
    encoder: r.encoder,
    classes: JSON.parse(r.classes) as ClassDef[],
    metrics: JSON.parse(r.metrics) as Record<string, unknown>,
    trainingExamples: r.training_examples,
    labelledSlices: r.labelled_slices,
  };
}

export class ModelRepo {
  constructor(private readonly db: Db) {}

  /** Records a model whose folder is complete on disk (the caller moved it into place first). */
  add(m: Omit<Model, 'createdAt'> & { createdAt?: string }): Model {
    this.db
      .prepare(
        `INSERT INTO models (id, project_id, name, created_at, encoder, classes, metrics, training_examples, labelled_slices)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        m.id,
        m.projectId,
        m.name,
        m.createdAt ?? now(),
        m.encoder,
        JSON.stringify(m.classes),
        JSON.stringify(m.metrics),
        m.trainingExamples,
        m.labelledSlices,
      );
    return this.get(m.id);
  }

  list(projectId?: string): Model[] {
    const rows = (
      projectId
        ? this.db
            .prepare('SELECT * FROM models WHERE project_id = ? ORDER BY created_at, rowid')
            .all(projectId)
        : this.db.prepare('SELECT * FROM models ORDER BY created_at, rowid').all()
    ) as ModelRow[];
    return rows.map(toModel);
  }

  find(id: string): Model | undefined {
    const row = this.db.prepare('SELECT * FROM models WHERE id = ?').get(id) as ModelRow | undefined;
    return row && toModel(row);
  }

  get(id: string): Model {
    const m = this.find(id);
    if (!m) throw new NnsamError('model_not_found', `No model with id ${id}.`, { status: 404 });
    return m;
  }

  latestOfProject(projectId: string): Model | undefined {
    const row = this.db
      .prepare('SELECT * FROM models WHERE project_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1')
      .get(projectId) as ModelRow | undefined;
    return row && toModel(row);
  }

  remove(id: string): void {
    this.db.prepare('DELETE FROM models WHERE id = ?').run(id);
  }
}
