#!/usr/bin/env bash
# Benchmarks (issue 6): not built yet. Says so instead of pretending.
echo "npm run bench: no benchmarks are built yet (tracked in issue 6)." >&2
exit 1
