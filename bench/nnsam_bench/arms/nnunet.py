"""Arm 3: the real nnU-Net v2 (nnunetv2 from PyPI, 2d configuration, sparse annotations with its ignore
label), run in a child process with its own nnUNet_raw / nnUNet_preprocessed / nnUNet_results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from ..paths import BENCH_DIR
from .base import ArmRequest, ArmRun


def nnunet_env(root: Path, request: ArmRequest) -> dict[str, str]:
    """Environment of the nnU-Net child: its folders inside this run's work folder, threads capped."""
    env = dict(os.environ)
    for var, sub in (("nnUNet_raw", "raw"), ("nnUNet_preprocessed", "preprocessed"), ("nnUNet_results", "results")):
        (root / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(root / sub)
    env["nnUNet_def_n_proc"] = str(max(1, min(request.threads, 8)))
    if request.augmentation_workers is not None:
        env["nnUNet_n_proc_DA"] = str(request.augmentation_workers)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(request.threads)
    env["NNSAM_BENCH_BUDGET_S"] = str(request.budget_minutes * 60)
    env["NNSAM_BENCH_SNAPSHOTS"] = str(request.snapshots)
    env["NNSAM_BENCH_CURVE"] = str(root / "curve.jsonl")
    if request.iterations_per_epoch:
        env["NNSAM_BENCH_ITERS_PER_EPOCH"] = str(request.iterations_per_epoch)
    env["PYTHONPATH"] = os.pathsep.join([str(BENCH_DIR), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.setdefault("nnUNet_compile", "false" if request.device == "cpu" else "true")
    env["MPLBACKEND"] = "Agg"
    return env


class NnUNetArm:
    name = "nnunetv2"
    description = "nnU-Net v2 (nnunetv2 2.8.1, 2d, ignore label for unlabelled slices)"

    def run(self, request: ArmRequest) -> ArmRun:
        root = request.out_dir
        root.mkdir(parents=True, exist_ok=True)
        (root / "curve.jsonl").unlink(missing_ok=True)
        images_list = root / "images.txt"
        images_list.write_text("".join(f"{p}\n" for p in request.images))
        cmd = [sys.executable, "-m", "nnsam_bench.arms.nnunet_worker", "--manifest", str(request.manifest),
               "--out", str(root), "--images-list", str(images_list), "--seed", str(request.seed),
               "--threads", str(request.threads), "--device", request.device]
        started = time.perf_counter()
        with open(root / "nnunet.log", "w") as log_file:
            proc = subprocess.run(cmd, env=nnunet_env(root, request), stdout=log_file, stderr=subprocess.STDOUT)
        wall = time.perf_counter() - started
        if proc.returncode != 0:
            tail = (root / "nnunet.log").read_text(errors="replace").strip().splitlines()[-15:]
            return ArmRun(self.name, "failed", f"nnU-Net exited with {proc.returncode}:\n" + "\n".join(tail),
                          wall_seconds=wall)
        log = json.loads((root / "training_log.json").read_text())
        return ArmRun(self.name, "ok", predictions=Path(log["predictions"]), log=log, wall_seconds=wall)
