import type { Rule, RuleCreate } from '../api/index.js';
import { NnsamError } from '../util/errors.js';
import type { Db } from './db.js';
import { newId, now } from './ids.js';

export class RuleRepo {
  constructor(private readonly db: Db) {}

  create(input: RuleCreate): Rule {
    const id = newId('rule');
    const rule: Rule = { ...input, id, createdAt: now() };
    this.db
      .prepare('INSERT INTO rules (id, rule, created_at) VALUES (?, ?, ?)')
      .run(id, JSON.stringify(rule), rule.createdAt);
    return rule;
  }

  list(): Rule[] {
    return (
      this.db.prepare('SELECT rule FROM rules ORDER BY created_at, rowid').all() as { rule: string }[]
    ).map((r) => JSON.parse(r.rule) as Rule);
  }

  remove(id: string): void {
    if (!this.db.prepare('DELETE FROM rules WHERE id = ?').run(id).changes) {
      throw new NnsamError('rule_not_found', `No rule with id ${id}.`, { status: 404 });
    }
  }

  hasFired(seriesUID: string, ruleId: string): boolean {
    return Boolean(
      this.db
        .prepare('SELECT 1 FROM hook_events WHERE series_uid = ? AND rule_id = ?')
        .get(seriesUID, ruleId),
    );
  }

  /** Records that a rule fired for a series; false when it already did (hooks can fire more than once). */
  markFired(studyUID: string, seriesUID: string, ruleId: string, jobId: string): boolean {
    return (
      this.db
        .prepare(
          'INSERT OR IGNORE INTO hook_events (study_uid, series_uid, rule_id, job_id, created_at) VALUES (?, ?, ?, ?, ?)',
        )
        .run(studyUID, seriesUID, ruleId, jobId, now()).changes > 0
    );
  }
}
