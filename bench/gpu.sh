#!/usr/bin/env bash
# Training and inference benchmarks on a CUDA machine, in under 10 minutes, ending with one table.
#
#   bash bench/gpu.sh            (after `npm run setup` on a machine whose PyTorch sees a CUDA GPU)
#
# What it runs (results into bench/results/cuda-<gpu>/, then docs/benchmarks.md is regenerated):
#   training   bare PyTorch step of nnU-Net's 2D network (fp16 autocast), FLOPs/step, measured fp16 peak
#   inference  the same network: PyTorch eager (CUDA) vs onnxruntime-python vs onnxruntime-node
#   encoder    MobileSAM image encoder (random weights unless NNSAM_MOBILESAM_ONNX is set)
#   nnunet     nnU-Net v2 on 20 labelled slices (seed 0): 1-minute budget and a 3-minute one, all 20
#              validation volumes, validation-Dice curve from 3 snapshots
#   training   again, to put the arms' iterations/s next to the bare loop
# Environment: NNSAM_PYTHON (interpreter with CUDA PyTorch and the trainer's packages; default
# server/.venv/bin/python), NNSAM_SHARED_DATA (ACDC; default ../shared/data), GPU_BENCH_BUDGET /
# GPU_BENCH_LONG_BUDGET (minutes, default 1 and 3), nnUNet_compile (default false here: compiling takes
# about a minute, which a 1-minute budget cannot absorb; set it to true to measure nnU-Net's default).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PY="${NNSAM_PYTHON:-$ROOT/server/.venv/bin/python}"
fail() { printf 'bench/gpu.sh: %s\n' "$*" >&2; exit 1; }

[[ -x "$PY" ]] || fail "no Python at $PY (run \`npm run setup\`, or set NNSAM_PYTHON)"
command -v nvidia-smi >/dev/null || fail "nvidia-smi not found: this script needs a CUDA GPU (none here)"
"$PY" - <<'PY' || fail "PyTorch at $PY cannot use CUDA (CPU build, or no driver): this script needs a CUDA GPU"
import sys, torch
sys.exit(0 if torch.cuda.is_available() else 1)
PY
"$PY" -c 'import nnunetv2, nibabel, SimpleITK' 2>/dev/null ||
  fail "nnunetv2 / nibabel / SimpleITK missing in $PY (install server/trainer/requirements.lock)"
export PYTHONPATH="$ROOT/bench:$ROOT/server/trainer${PYTHONPATH:+:$PYTHONPATH}"
"$PY" -c 'from nnsam_bench.fewshot import acdc_dir; acdc_dir()' || fail "ACDC data not found (NNSAM_SHARED_DATA)"
if command -v node >/dev/null && [[ -d node_modules/onnxruntime-node ]]; then
  npx tsc -p bench
else
  echo "bench/gpu.sh: Node or onnxruntime-node missing: onnxruntime-node timings will be marked skipped" >&2
fi
export MPLBACKEND=Agg nnUNet_compile="${nnUNet_compile:-false}"
threads="$(nproc)"
budget="${GPU_BENCH_BUDGET:-1}"
long="${GPU_BENCH_LONG_BUDGET:-3}"
bench() { "$PY" -m nnsam_bench "$@" --device cuda --threads "$threads"; }

started=$SECONDS
bench training --runs 20
bench inference --runs 20
bench encoder --runs 10
bench nnunet --sizes 20 --seeds 0 --budget "$budget" --long-budget "$long" --snapshots 3 --iters-per-epoch 250
bench training --runs 20
bench report
echo
echo "=== nnSAM benchmarks on $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1), $((SECONDS - started)) s"
bench summary
