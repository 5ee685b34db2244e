#!/usr/bin/env bash
# Benchmarks (issue 6): `npm run bench -- <target> [options]`; `npm run bench -- --help` lists them.
#   npm run bench -- all                 everything, results into bench/results/<machine>, docs/benchmarks.md
#   npm run bench -- accuracy --quick    a few-minute smoke run (results kept in .cache/bench/quick-results)
# Installs nothing beyond scripts/setup.sh; benchmarks are not part of `npm test`.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh >/dev/null
# onnxruntime-node timings run the compiled bench/src scripts
npx tsc -p bench
export PYTHONPATH="$ROOT/bench:$ROOT/server/trainer${PYTHONPATH:+:$PYTHONPATH}"
export MPLBACKEND=Agg
if (($# == 0)); then
  exec "$ROOT/server/.venv/bin/python" -m nnsam_bench --help
fi
exec "${NNSAM_PYTHON:-$ROOT/server/.venv/bin/python}" -m nnsam_bench "$@"
