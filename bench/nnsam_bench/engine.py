"""The project's own engine, as the speed benchmarks use it: plans from `nnsam plan`, the trainer's network
(nnsam_trainer.network) exported by the trainer's own exporter, and small models from `nnsam train`.

The speed targets time the engine's real code: the network is built from a plan the engine made for the
ACDC few-shot manifest, exported exactly as training exports it (nnsam_trainer.export), and run by the
same onnxruntime session options the engine uses (engine/onnx.ts). Random weights cost what trained
ones do, so no training is needed to time a network.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from .arms.nnsam import node_env
from .paths import NNSAM_BIN, REPO_ROOT, work_dir


def nnsam(args: list[str], threads: int, what: str) -> subprocess.CompletedProcess:
    """Runs `node server/bin/nnsam.js ARGS`; a clear error with the tail of its output when it fails."""
    proc = subprocess.run(["node", str(NNSAM_BIN), *args], cwd=REPO_ROOT, env=node_env(threads), capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"`nnsam {' '.join(args[:1])}` ({what}) exited with {proc.returncode}: "
                           f"{(proc.stderr or proc.stdout).strip()[-1200:]}")
    return proc


def fewshot_manifest(size: int = 4, seed: int = 0) -> Path:
    """The accuracy benchmark's ACDC few-shot manifest (draw `seed`, `size` labelled slices)."""
    from .fewshot import make_draws

    return make_draws(work_dir("draws"), (size,), (seed,))[(size, seed)]


def engine_plan(manifest: Path, encoder: str, threads: int, out: Path, device: str = "cpu") -> dict:
    """`nnsam plan` for the manifest (encoder "none" or an ONNX file), written to `out` and returned."""
    nnsam(["plan", "--manifest", str(manifest), "--encoder", encoder, "--device", device, "--threads", str(threads),
           "--out", str(out)], threads, "planning")
    return json.loads(out.read_text())


def export_engine_network(plan: dict, out_dir: Path, seed: int = 0) -> dict:
    """The trainer's network for `plan` (random He init, seeded), exported by the trainer's exporter.
    Returns {"onnx", "weights", "parameters", "inputs"}; weights are the state dict PyTorch eager loads."""
    import torch
    from nnsam_trainer.export import export_onnx
    from nnsam_trainer.network import build_network

    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    net = build_network(plan, int(plan["numClasses"]))
    onnx_path = out_dir / "network.onnx"
    info = export_onnx(net, plan, int(plan["numClasses"]), str(onnx_path), check=False)
    weights = out_dir / "weights.pt"
    torch.save(net.state_dict(), weights)
    (out_dir / "plan.json").write_text(json.dumps(plan))
    return {"onnx": onnx_path, "weights": weights, "plan": out_dir / "plan.json",
            "parameters": sum(p.numel() for p in net.parameters()), "inputs": info["inputs"]}


def train_engine_model(manifest: Path, out: Path, encoder: str, iterations: int, threads: int, seed: int = 0,
                       device: str = "cpu") -> list[dict]:
    """`nnsam train --iterations N --json` into `out` (replaced); returns the JSON lines it printed."""
    proc = nnsam(["train", "--manifest", str(manifest), "--out", str(out), "--encoder", encoder, "--iterations",
                  str(iterations), "--seed", str(seed), "--device", device, "--threads", str(threads), "--json",
                  "--overwrite"], threads, "training")
    events = []
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return events


def trainer_step_seconds(events: list[dict], skip: int = 2) -> list[float]:
    """Seconds of each training iteration from the trainer's `iteration` events (the first `skip` are
    warm-up: allocator and thread-pool start)."""
    its = [e for e in events if e.get("type") == "iteration" and isinstance(e.get("seconds"), (int, float))]
    times = [b["seconds"] - a["seconds"] for a, b in zip(its, its[1:])]
    return times[max(0, skip - 1):] if len(times) > skip else times
