#!/usr/bin/env bash
# Training and inference benchmarks on a CUDA machine, in under 10 minutes, ending with one table.
#
#   bash bench/gpu.sh            (after `npm run setup` on a machine whose PyTorch sees a CUDA GPU)
#   bash bench/gpu.sh --dry-run  (any machine: prints the commands, checks their options with the harness's
#                                 own parser and reports what a real run would find missing; runs nothing)
#
# What it runs (results into bench/results/cuda-<gpu>/, then docs/benchmarks.md is regenerated):
#   training   side by side: bare PyTorch loop of the engine's network (fp16 autocast), our trainer's loop
#              (`nnsam train --iterations 40 --device cuda`, with and without the SAM encoder), the bare loop
#              again, nnU-Net v2's own loop for 1 minute on the same slices; FLOPs/step, measured fp16 peak
#   inference  the engine's exported network: PyTorch eager (CUDA) vs onnxruntime-python vs onnxruntime-node
#   encoder    MobileSAM image encoder (random weights unless NNSAM_MOBILESAM_ONNX is set)
#   accuracy   nnU-Net v2 and nnsam-none on 20 labelled slices (seed 0), same budget (1 minute), all 20
#              validation volumes, validation-Dice curve from 3 snapshots: it/s and time to 95 % of the final
#              Dice, ours vs nnU-Net
# Environment: NNSAM_PYTHON (interpreter with CUDA PyTorch and the trainer's packages; default
# server/.venv/bin/python), NNSAM_SHARED_DATA (ACDC; default ../shared/data), GPU_BENCH_BUDGET (minutes,
# default 1), GPU_BENCH_LONG_BUDGET (extra nnU-Net budgets in minutes, default none), nnUNet_compile (default
# false here: compiling takes about a minute, which a 1-minute budget cannot absorb; set it to true to measure
# nnU-Net's default). `NNSAM_GPU=1 npm run setup` installs onnxruntime-node's CUDA provider.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PY="${NNSAM_PYTHON:-$ROOT/server/.venv/bin/python}"
fail() { printf 'bench/gpu.sh: %s\n' "$*" >&2; exit 1; }
dry=0
[[ "${1:-}" == "--dry-run" ]] && dry=1
threads="$(nproc)"
budget="${GPU_BENCH_BUDGET:-1}"
long="${GPU_BENCH_LONG_BUDGET:-}"
# one harness command per line (each also gets --device cuda --threads N)
COMMANDS="training --runs 20 --iterations 40 --nnunet-minutes 1
inference --runs 20
encoder --runs 10
accuracy --arms nnunetv2,nnsam-none --sizes 20 --seeds 0 --budget $budget --long-budget '$long' --snapshots 3 --iters-per-epoch 250
report"

[[ -x "$PY" ]] || fail "no Python at $PY (run \`npm run setup\`, or set NNSAM_PYTHON)"
export PYTHONPATH="$ROOT/bench:$ROOT/server/trainer${PYTHONPATH:+:$PYTHONPATH}"

if ((dry)); then
  echo "bench/gpu.sh --dry-run: would run, each with --device cuda --threads $threads:"
  while IFS= read -r line; do
    eval "args=($line)"
    echo "  python -m nnsam_bench $line"
    # the harness's own parser: a wrong option fails here, not minutes into a GPU session
    "$PY" -c 'import sys; from nnsam_bench.__main__ import parse; parse(sys.argv[1:])' "${args[@]}" \
      --device cuda --threads "$threads" || fail "bad options: $line"
  done <<<"$COMMANDS"
  echo "what a real run needs:"
  if command -v nvidia-smi >/dev/null; then echo "  nvidia-smi: found"; else echo "  nvidia-smi: MISSING"; fi
  "$PY" -c 'import torch; print("  PyTorch", torch.__version__, "with CUDA" if torch.cuda.is_available() else "WITHOUT CUDA")'
  if "$PY" -c 'import nnunetv2, nibabel, SimpleITK' 2>/dev/null; then echo "  nnunetv2: found"; else echo "  nnunetv2: MISSING"; fi
  "$PY" -c 'from nnsam_bench.fewshot import acdc_dir; print("  ACDC:", acdc_dir())' 2>/dev/null || echo "  ACDC: MISSING"
  if command -v node >/dev/null; then echo "  Node: $(node --version)"; else echo "  Node: MISSING"; fi
  exit 0
fi

command -v nvidia-smi >/dev/null || fail "nvidia-smi not found: this script needs a CUDA GPU (none here)"
"$PY" - <<'PY' || fail "PyTorch at $PY cannot use CUDA (CPU build, or no driver): this script needs a CUDA GPU"
import sys, torch
sys.exit(0 if torch.cuda.is_available() else 1)
PY
"$PY" -c 'import nnunetv2, nibabel, SimpleITK' 2>/dev/null ||
  fail "nnunetv2 / nibabel / SimpleITK missing in $PY (install server/trainer/requirements.lock)"
"$PY" -c 'from nnsam_bench.fewshot import acdc_dir; acdc_dir()' || fail "ACDC data not found (NNSAM_SHARED_DATA)"
command -v node >/dev/null || fail "Node.js not found: our trainer runs through \`nnsam train\` (server/bin/nnsam.js)"
[[ -f server/dist/index.js ]] || npx tsc -b server
if [[ -d node_modules/onnxruntime-node ]]; then
  npx tsc -p bench
else
  echo "bench/gpu.sh: onnxruntime-node missing: its timings will be marked skipped" >&2
fi
export MPLBACKEND=Agg nnUNet_compile="${nnUNet_compile:-false}"

started=$SECONDS
while IFS= read -r line; do
  eval "args=($line)"
  echo "=== python -m nnsam_bench $line ($((SECONDS - started)) s so far)"
  "$PY" -m nnsam_bench "${args[@]}" --device cuda --threads "$threads" ||
    echo "bench/gpu.sh: '$line' failed; carrying on with the rest" >&2
done <<<"$COMMANDS"
echo
echo "=== nnSAM benchmarks on $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1), $((SECONDS - started)) s"
"$PY" -m nnsam_bench summary --device cuda
