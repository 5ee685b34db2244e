"""The MobileSAM encoder the benchmarks use: the user's ONNX export when given, else one with random weights.

Pretrained MobileSAM weights cannot be downloaded on the development machine, so by default the
benchmarks build a full-size encoder with random weights (same architecture, same cost, meaningless
embeddings) through the project's own commands:
    python -m nnsam_trainer encoder make-random-checkpoint --out random-mobilesam.pt --seed 0
    node server/bin/nnsam.js encoder export --checkpoint random-mobilesam.pt --out mobilesam-random.onnx
With NNSAM_MOBILESAM_ONNX (or --encoder-onnx) pointing at the official export, the same benchmark
measures the real thing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .paths import NNSAM_BIN, REPO_ROOT, TRAINER_DIR, work_dir


@dataclass(frozen=True)
class EncoderChoice:
    onnx: Path
    checkpoint: Path | None  # the PyTorch checkpoint, when we have it (for PyTorch-eager timings)
    random_weights: bool
    label: str


def random_checkpoint(seed: int = 0) -> Path:
    out = work_dir("encoder") / f"random-mobilesam-s{seed}.pt"
    if not out.is_file():
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TRAINER_DIR), os.environ.get("PYTHONPATH", "")]))
        proc = subprocess.run([sys.executable, "-m", "nnsam_trainer", "encoder", "make-random-checkpoint",
                               "--out", str(out), "--seed", str(seed)], env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"make-random-checkpoint failed: {proc.stdout[-500:]} {proc.stderr[-500:]}")
    return out


def export_onnx(checkpoint: Path, out: Path, threads: int) -> Path:
    if not out.is_file():
        proc = subprocess.run(["node", str(NNSAM_BIN), "encoder", "export", "--checkpoint", str(checkpoint),
                               "--out", str(out), "--threads", str(threads)], cwd=REPO_ROOT,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"`nnsam encoder export` failed: {proc.stdout[-500:]} {proc.stderr[-500:]}")
    return out


def choose_encoder(user_onnx: str | None, threads: int, user_checkpoint: str | None = None) -> EncoderChoice:
    """The user's encoder (--encoder-onnx / NNSAM_MOBILESAM_ONNX, --encoder-checkpoint /
    NNSAM_MOBILESAM_CHECKPOINT) when configured, else a cached random-weights export."""
    checkpoint = user_checkpoint or os.environ.get("NNSAM_MOBILESAM_CHECKPOINT")
    onnx = user_onnx or os.environ.get("NNSAM_MOBILESAM_ONNX")
    if checkpoint and not onnx:
        path = Path(checkpoint)
        onnx = str(export_onnx(path, work_dir("encoder") / f"mobilesam-{path.stem}.onnx", threads))
    if onnx:
        path = Path(onnx)
        if not path.is_file():
            raise FileNotFoundError(f"encoder ONNX not found: {path} (from --encoder-onnx or NNSAM_MOBILESAM_ONNX)")
        return EncoderChoice(path, Path(checkpoint) if checkpoint else None, False, f"user-supplied {path.name}")
    ckpt = random_checkpoint(0)
    onnx_path = export_onnx(ckpt, work_dir("encoder") / "mobilesam-random-s0.onnx", threads)
    return EncoderChoice(onnx_path, ckpt, True, "random weights: cost only, no pretrained features")


def onnx_metadata(path: Path) -> dict:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return {p.key: p.value for p in model.metadata_props}


if __name__ == "__main__":  # small manual check: python -m nnsam_bench.encoders
    print(json.dumps(choose_encoder(None, os.cpu_count() or 1).__dict__, default=str, indent=1))
