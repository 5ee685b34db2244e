#!/usr/bin/env bash
# Every test of the project (what CI runs through .ci/run). Installs what is missing first.
#   npm test                       everything
#   npm test -- server/src/dicom   only vitest files matching a filter (pytest and lint are skipped)
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh || exit 1

RESULTS="$ROOT/test-results"
rm -rf "$RESULTS" && mkdir -p "$RESULTS"
status=0
step() { printf '\n=== %s\n' "$*"; }

if (($# == 0)); then
  step "lint (eslint + prettier)"
  npx eslint . || status=1
  npx prettier --check . >/dev/null || { npx prettier --check . ; status=1; }
fi

step "TypeScript tests (vitest: unit, integration, browser)"
npx vitest run --reporter=default --reporter=junit --outputFile.junit="$RESULTS/vitest.xml" "$@" || status=1

if (($# == 0)); then
  step "Python tests (pytest: trainer)"
  (cd server/trainer && ../.venv/bin/python -m pytest -q --junitxml="$RESULTS/pytest.xml") || status=1
  step "Python tests (pytest: benchmark harness)"
  (cd bench && ../server/.venv/bin/python -m pytest -q --junitxml="$RESULTS/pytest-bench.xml") || status=1
fi

# One closing line over both runners, in the plain form CI reads: "N passed, N failed, N skipped".
node scripts/junit-summary.mjs "$RESULTS"/*.xml || status=1
exit $status
