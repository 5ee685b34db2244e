// Sums JUnit XML reports (vitest, pytest) into one closing line: "N passed, N failed, N skipped".
// Exits non-zero when a report is missing or counts a failure, so the summary cannot hide one.
import { existsSync, readFileSync } from 'node:fs';

let tests = 0;
let failed = 0;
let skipped = 0;
for (const file of process.argv.slice(2)) {
  if (!existsSync(file)) {
    console.error(`missing test report ${file}`);
    process.exitCode = 1;
    continue;
  }
  const xml = readFileSync(file, 'utf8');
  // count <testcase> elements and their outcomes: robust to how each runner writes the totals
  const cases = xml.match(/<testcase\b[\s\S]*?(?:\/>|<\/testcase>)/g) ?? [];
  for (const c of cases) {
    tests++;
    if (/<(failure|error)\b/.test(c)) failed++;
    else if (/<skipped\b/.test(c)) skipped++;
  }
}
if (tests === 0) {
  console.error('no tests were run');
  process.exitCode = 1;
}
if (failed > 0) process.exitCode = 1;
console.log(`${tests - failed - skipped} passed, ${failed} failed, ${skipped} skipped`);
