#!/usr/bin/env bash
# The main job: a self-contained demo on loopback (Orthanc, demo study, nnSAM server, OHIF viewer).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
exec node "$ROOT/server/bin/nnsam.js" demo "$@"
