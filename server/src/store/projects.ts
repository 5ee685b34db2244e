import type { ClassDef, Project, ProjectCreate } from '../api/index.js';
import { NnsamError } from '../util/errors.js';
import type { Db } from './db.js';
import { newId, now } from './ids.js';

interface ProjectRow {
  id: string;
  name: string;
  description: string | null;
  classes: string;
  created_at: string;
  example_count: number;
  latest_model_id: string | null;
}

const SELECT = `
  SELECT p.*,
    (SELECT COUNT(*) FROM examples e WHERE e.project_id = p.id) AS example_count,
    (SELECT m.id FROM models m WHERE m.project_id = p.id ORDER BY m.created_at DESC, m.rowid DESC LIMIT 1) AS latest_model_id
  FROM projects p`;

function toProject(r: ProjectRow): Project {
  return {
    id: r.id,
    name: r.name,
    ...(r.description ? { description: r.description } : {}),
    classes: JSON.parse(r.classes) as ClassDef[],
    createdAt: r.created_at,
    exampleCount: r.example_count,
    latestModelId: r.latest_model_id,
  };
}

export class ProjectRepo {
  constructor(private readonly db: Db) {}

  create(input: ProjectCreate): Project {
    const id = newId('prj');
    this.db
      .prepare('INSERT INTO projects (id, name, description, classes, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(id, input.name, input.description ?? null, JSON.stringify(input.classes), now());
    return this.get(id);
  }

  list(): Project[] {
    return (this.db.prepare(`${SELECT} ORDER BY p.created_at, p.rowid`).all() as ProjectRow[]).map(toProject);
  }

  find(id: string): Project | undefined {
    const row = this.db.prepare(`${SELECT} WHERE p.id = ?`).get(id) as ProjectRow | undefined;
    return row && toProject(row);
  }

  get(id: string): Project {
    const p = this.find(id);
    if (!p) throw new NnsamError('project_not_found', `No project with id ${id}.`, { status: 404 });
    return p;
  }

  remove(id: string): void {
    this.get(id);
    this.db.prepare('DELETE FROM projects WHERE id = ?').run(id);
  }
}
