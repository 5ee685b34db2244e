/**
 * Figures the reliability tests measure (cases tried, faults injected, load figures) as JSON under
 * test-results/reliability/, so docs/reliability.md can be refreshed from a CI run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const reportDir = resolve(import.meta.dirname, '..', '..', 'test-results', 'reliability');

export function writeReport(name: string, data: unknown): string {
  mkdirSync(reportDir, { recursive: true });
  const file = join(reportDir, `${name}.json`);
  writeFileSync(file, JSON.stringify(data, null, 2) + '\n');
  return file;
}

/** p-th percentile (0..100) of a list of numbers (nearest rank). */
export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}
