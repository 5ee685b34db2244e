"""Accuracy benchmark: every arm x labelled-slice count x draw x budget, evaluated on ACDC validation.

One result file per run: <results>/accuracy/<arm>-b<budget>m-n<slices>-s<seed>.json. A run whose result
file already says "ok" is skipped (rerun with --force), so an interrupted benchmark resumes.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from .arms.base import Arm, ArmRequest, ArmRun
from .evaluate import evaluate_folder
from .fewshot import SIZES, acdc_paths, acdc_split, make_draws
from .machine import load_average, machine_info, now_iso
from .metrics import nanmean
from .paths import work_dir


@dataclass
class AccuracyConfig:
    sizes: tuple[int, ...] = SIZES
    seeds: tuple[int, ...] = (0, 1, 2)
    budgets: tuple[float, ...] = (10.0,)
    #: extra budgets for the nnU-Net arm only ("where our training should go")
    long_budgets: tuple[float, ...] = ()
    threads: int = 2
    snapshots: int = 4
    iterations_per_epoch: int | None = None
    augmentation_workers: int | None = None
    device: str = "cpu"
    #: evaluate on the first K validation cases only (smoke runs); None = all 20
    val_cases: int | None = None
    force: bool = False
    results_dir: Path = field(default_factory=lambda: work_dir("results"))
    command: str = ""


def result_path(results_dir: Path, arm: str, budget: float, n: int, seed: int) -> Path:
    return results_dir / "accuracy" / f"{arm}-b{budget:g}m-n{n}-s{seed}.json"


def time_to_fraction(curve: list[dict], fraction: float = 0.95) -> float | None:
    """Seconds of training after which validation Dice first reaches `fraction` of its final value."""
    points = [p for p in curve if p.get("dice") is not None]
    if not points:
        return None
    final = points[-1]["dice"]
    if final <= 0:
        return None  # nothing learned yet: "95 % of nothing" would be reached at once
    return next((p["seconds"] for p in points if p["dice"] >= fraction * final), None)


def downsample(events: list[dict], keep: int = 400) -> list[dict]:
    """Every epoch/snapshot event, and at most `keep` evenly spaced iteration events."""
    iters = [e for e in events if e.get("event", "iteration") == "iteration"]
    step = max(1, math.ceil(len(iters) / keep))
    kept = set(id(e) for e in iters[::step]) | ({id(iters[-1])} if iters else set())
    return [e for e in events if e.get("event", "iteration") != "iteration" or id(e) in kept]


def run_one(arm: Arm, manifest: Path, n: int, seed: int, budget: float, cfg: AccuracyConfig,
            cases: list[str]) -> dict:
    out_dir = work_dir("runs", f"{arm.name}-b{budget:g}m-n{n}-s{seed}")
    request = ArmRequest(manifest=manifest, budget_minutes=budget, seed=seed,
                         images=[acdc_paths(c, "val")[0] for c in cases], out_dir=out_dir, threads=cfg.threads,
                         snapshots=cfg.snapshots, iterations_per_epoch=cfg.iterations_per_epoch,
                         augmentation_workers=cfg.augmentation_workers, device=cfg.device)
    print(f"[accuracy] {arm.name}: {n} slices, seed {seed}, budget {budget:g} min -> {out_dir}", flush=True)
    started = time.perf_counter()
    load_before = load_average()
    run: ArmRun = arm.run(request)
    result: dict = {
        "kind": "accuracy",
        "arm": arm.name,
        "arm_description": arm.description,
        "status": run.status,
        "message": run.message,
        "slices": n,
        "seed": seed,
        "budget_minutes": budget,
        "date": now_iso(),
        "machine": machine_info(),
        "command": cfg.command,
        "threads": cfg.threads,
        "val_cases": len(cases),
        "wall_seconds": run.wall_seconds,
        "load_average": [load_before, load_average()],
    }
    if run.status == "ok" and run.predictions is not None:
        evaluation = evaluate_folder(run.predictions, cases)
        log = run.log
        val_curve = []
        for snap in log.get("snapshots", []):
            snap_eval = evaluate_folder(Path(snap["predictions"]), cases)
            val_curve.append({"seconds": snap["seconds"], "iteration": snap["iteration"],
                              "dice": snap_eval["summary"]["mean"]["dice"]["mean"]})
        result.update(
            summary=evaluation["summary"],
            cases=evaluation["cases"],
            training={k: log.get(k) for k in ("iterations", "train_seconds", "train_step_seconds",
                                              "iterations_per_second", "epochs", "plans", "timings", "encoder")},
            curve=downsample(log.get("curve", [])),
            validation_curve=val_curve,
            time_to_95_s=time_to_fraction(val_curve),
        )
        dice = evaluation["summary"]["mean"]["dice"]["mean"]
        print(f"[accuracy] {arm.name} n={n} s={seed}: mean Dice {dice:.3f} "
              f"({time.perf_counter() - started:.0f} s)", flush=True)
    else:
        print(f"[accuracy] {arm.name}: {run.status}: {run.message}", flush=True)
    return result


def run_accuracy(arms: list[Arm], cfg: AccuracyConfig) -> list[dict]:
    cases = acdc_split("val")[: cfg.val_cases] if cfg.val_cases else acdc_split("val")
    manifests = make_draws(work_dir("draws"), cfg.sizes, cfg.seeds)
    results = []
    for arm in arms:
        budgets = list(cfg.budgets) + (list(cfg.long_budgets) if arm.name == "nnunetv2" else [])
        for budget, seed, n in itertools.product(budgets, cfg.seeds, cfg.sizes):
            path = result_path(cfg.results_dir, arm.name, budget, n, seed)
            if path.is_file() and not cfg.force:
                previous = json.loads(path.read_text())
                if previous.get("status") == "ok":
                    print(f"[accuracy] {path.name}: done before, skipped (--force reruns)")
                    results.append(previous)
                    continue
            result = run_one(arm, manifests[(n, seed)], n, seed, budget, cfg, cases)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(result, indent=1) + "\n")
            results.append(result)
            if result["status"] == "pending":
                print(f"[accuracy] {arm.name} is pending: its other runs are skipped")
                break
    return results


def mean_dice(result: dict) -> float | None:
    try:
        return result["summary"]["mean"]["dice"]["mean"]
    except (KeyError, TypeError):
        return None


def per_size(results: list[dict], arm: str, budget: float) -> dict[int, list[float]]:
    out: dict[int, list[float]] = {}
    for r in results:
        if r.get("arm") == arm and r.get("budget_minutes") == budget and r.get("status") == "ok":
            out.setdefault(r["slices"], []).append(mean_dice(r))
    return {n: [v for v in vs if v is not None] for n, vs in sorted(out.items())}


__all__ = ["AccuracyConfig", "run_accuracy", "time_to_fraction", "per_size", "nanmean"]
