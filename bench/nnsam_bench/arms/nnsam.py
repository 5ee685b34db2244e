"""Arms 1 and 2: this project, through the same commands users run.

    node server/bin/nnsam.js train --manifest M --out DIR --encoder none|FILE.onnx --minutes B --seed S --json
    node server/bin/nnsam.js predict --model DIR --out OUT IMAGES...

What the harness reads from `train --json` (the contract the engine is asked to keep):
  - stdout: JSON lines. Lines with a numeric "iteration" (and "seconds", "loss", optionally
    "mean_pseudo_dice" / "val_dice") form the training curve; {"event": "snapshot", "model": DIR,
    "seconds": s, "iteration": i} lines name intermediate models the harness predicts for the validation
    curve; the last {"event": "result", ...} line may carry "iterations" and "seconds" (training time).
  - exit code 0 and a model in DIR that `nnsam predict --model DIR` accepts.
`predict` must write OUT/<case>.nii.gz for every IMAGE <case>.nii.gz, on the image's grid.
While those commands are not built ("not built yet", exit 1) the arm reports "pending".
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from ..paths import NNSAM_BIN, REPO_ROOT
from .base import ArmRequest, ArmRun


def node_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "NNSAM_THREADS"):
        env[var] = str(threads)
    return env


def run_nnsam(args: list[str], threads: int, log_path: Path) -> tuple[int, list[dict], str]:
    """Runs `node server/bin/nnsam.js ARGS`; returns (exit code, JSON lines of stdout, stderr text)."""
    proc = subprocess.run(["node", str(NNSAM_BIN), *args], cwd=REPO_ROOT, env=node_env(threads),
                          capture_output=True, text=True)
    log_path.write_text(f"$ nnsam {' '.join(args)}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")
    events = []
    for line in proc.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return proc.returncode, events, proc.stderr


def read_train_events(events: list[dict], wall_seconds: float) -> dict:
    """The training curve, snapshot models, iteration count and training seconds from `train --json` lines
    (contract in the module docstring); falls back to the last curve point, then to the wall time."""
    result = next((e for e in reversed(events) if e.get("event") == "result"), {})
    if not result:
        # the engine's own closing line: {"type": "model", "training": {"iterations", "seconds", ...}}
        model = next((e for e in reversed(events) if e.get("type") == "model"), {})
        result = dict(model.get("training") or {})
    curve = [e for e in events if isinstance(e.get("iteration"), (int, float)) and e.get("event") != "snapshot"
             and e.get("type") != "model"]
    snapshots = [{"model": e["model"], "seconds": e.get("seconds"), "iteration": e.get("iteration")}
                 for e in events if e.get("event") == "snapshot" and isinstance(e.get("model"), str)]
    iterations = result.get("iterations") or (curve[-1]["iteration"] if curve else None)
    seconds = result.get("seconds") or (curve[-1].get("seconds") if curve else None) or wall_seconds
    return {"curve": curve, "snapshots": snapshots, "iterations": iterations, "seconds": seconds, "result": result}


def not_built(code: int, stderr: str) -> bool:
    return code != 0 and "not built yet" in stderr


class NnsamArm:
    def __init__(self, encoder: str, encoder_label: str = "", train_args: tuple[str, ...] = (),
                 variant: str = "", predict_args: tuple[str, ...] = ("--tta",)) -> None:
        """encoder: "none" (plain nnU-Net configuration) or the path of an ONNX SAM image encoder.
        train_args / predict_args: extra `nnsam train` flags of an ablation (e.g. --no-unlabelled) and the
        `nnsam predict` flags (default --tta: mirrored, as nnU-Net's arm predicts, whatever the device's
        default), named by `variant`, which becomes part of the arm name so its results sit beside the
        defaults' results."""
        self.encoder = encoder
        self.train_args = tuple(train_args)
        self.predict_args = tuple(predict_args)
        if encoder == "none":
            self.name = "nnsam-none"
            self.description = "this project, `--encoder none` (plain nnU-Net configuration)"
        else:
            self.name = "nnsam-mobilesam"
            self.description = f"this project with the MobileSAM encoder ({encoder_label or Path(encoder).name})"
        if variant:
            self.name += f"~{variant}"
            self.description += f", ablation {variant}: `{' '.join((*train_args, *predict_args))}`"

    def run(self, request: ArmRequest) -> ArmRun:
        out = request.out_dir
        model_dir = out / "model"
        out.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        train_args = ["train", "--manifest", str(request.manifest), "--out", str(model_dir), "--encoder",
                      self.encoder, "--minutes", f"{request.budget_minutes:g}", "--seed", str(request.seed), "--json",
                      "--overwrite", *self.train_args]  # --overwrite: a rerun (--force) replaces this arm's model
        code, events, stderr = run_nnsam(train_args, request.threads, out / "train.log")
        train_wall = time.perf_counter() - started
        if not_built(code, stderr):
            return ArmRun(self.name, "pending", "`nnsam train` is not built yet (engine, issue 4); this arm runs "
                          "as soon as it is", wall_seconds=train_wall)
        if code != 0:
            return ArmRun(self.name, "failed", f"`nnsam train` exited with {code}: {stderr.strip()[-800:]}",
                          wall_seconds=train_wall)

        def predict(model: Path, dest: Path) -> tuple[int, str]:
            dest.mkdir(parents=True, exist_ok=True)
            code, _, err = run_nnsam(["predict", "--model", str(model), "--out", str(dest), *self.predict_args,
                                      *map(str, request.images)], request.threads, dest.parent / f"{dest.name}.log")
            return code, err

        t = time.perf_counter()
        code, stderr = predict(model_dir, out / "predictions")
        predict_s = time.perf_counter() - t
        if code != 0:
            status = "pending" if not_built(code, stderr) else "failed"
            return ArmRun(self.name, status, f"`nnsam predict` exited with {code}: {stderr.strip()[-800:]}",
                          wall_seconds=time.perf_counter() - started)
        summary = read_train_events(events, train_wall)
        iterations, seconds = summary["iterations"], summary["seconds"]
        snapshots = []
        for i, snap in enumerate(summary["snapshots"]):
            dest = out / "snapshots" / f"snapshot{i + 1}"
            if predict(Path(snap["model"]), dest)[0] == 0:
                snapshots.append({"seconds": snap["seconds"], "iteration": snap["iteration"], "predictions": str(dest)})
        if snapshots:
            snapshots.append({"seconds": seconds, "iteration": iterations, "predictions": str(out / "predictions")})
        log = {
            "arm": self.name,
            "encoder": self.encoder,
            "iterations": iterations,
            "train_seconds": seconds,
            "iterations_per_second": iterations / seconds if iterations and seconds else None,
            "timings": {"train_total_s": train_wall, "predict_s": predict_s},
            "curve": summary["curve"],
            "snapshots": snapshots,
            "result": summary["result"],
        }
        return ArmRun(self.name, "ok", predictions=out / "predictions", log=log,
                      wall_seconds=time.perf_counter() - started)
