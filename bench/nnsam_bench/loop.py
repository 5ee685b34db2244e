"""The labelling loop (issue 13): a simulated annotator on ACDC who labels the slices the tool suggests.

    npm run bench -- loop [--seeds 0] [--sizes 4] [--budget 4] [--warm-fraction 0.5] [--rounds 4] [--per-round 2]
                          [--val-cases K] [--predict-args=--tta] [--strategies S,..] [--suggest-distance D] [--force]

The series: the volumes of few-shot draw s at N slices (fewshot.py; N = the first of --sizes, 4), which start
with those N labelled slices (one per volume). Candidates each round: every slice of those volumes that is not
labelled yet and whose reference shows a class: an annotator labels slices that show the heart and skips the
empty ones, whatever the tool ranks. Labelling a slice means taking its reference label (the manifest then holds
the reference on exactly the labelled slices, fewshot.write_manifest).

Round 0: `nnsam train --encoder none --minutes T --seed s` on the start (cold; the CLI's defaults otherwise).
Then three strategies, each for --rounds rounds of --per-round slices:
  suggested-warm  `nnsam predict --no-tta --uncertainty FILE` on the series volumes with the strategy's latest
                  model (one pass, as the server segments on a CPU), label the highest scoring candidates across
                  the volumes (ties: more ambiguous pixels, then volume and slice order) that lie at least D
                  slices from the round's better-ranked picks in the same volume (--suggest-distance D, default
                  1: the plain ranking, as the engine's leastCertainSlices; 2 was measured on 2026-12-06 and did
                  no better, docs/benchmarks.md),
                  retrain with `--warm-start` from that model for f x T minutes (--warm-fraction f)
  random-warm     candidates drawn with SplitMix64(RANDOM_SEED_OFFSET + s), one generator over the rounds (each
                  pick: below(number of candidates left) in volume and slice order), the same warm retrain
  suggested-cold  the slices suggested-warm chose, trained from scratch for T: the cold comparison on the same
                  slices (is a warm retrain at f x T as good as a cold one at T?)
--strategies runs some of them (suggested-cold needs suggested-warm): a new suggestion rule changes neither the
start nor random-warm, so those can be taken from a run of the same draw under the rule before (report.py pairs
them: "the suggestion rule").
After every training: Dice (metrics.py) on the series volumes' slices that are NOT labelled ("same series": per
volume over those slices, 3D, mean over volumes; a slice whose reference was given never counts, so strategies
are scored on slightly different slices) and on the ACDC validation volumes as the accuracy benchmark scores
them (evaluate.py), both predicted with --predict-args (default --tta, as the accuracy arms). Iterations and
training seconds come from the trainer's JSON lines.

Each training's model, predictions and record stay in .cache/bench/loop/<run>/<strategy>/round<r>/, so an
interrupted run resumes (--force retrains). The result (one JSON per draw) goes to <results>/loop/<run>.json
after every step.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import nibabel as nib
import numpy as np

from .arms.nnsam import read_train_events, run_nnsam
from .evaluate import evaluate_folder
from .fewshot import CLASSES, LabelledSlice, acdc_paths, acdc_split, draw_slices, foreground_slices, write_manifest
from .machine import load_average, machine_info, now_iso
from .metrics import class_metrics, nanmean
from .paths import work_dir
from .rng import SplitMix64

STRATEGIES = ("suggested-warm", "random-warm", "suggested-cold")
STRATEGY_LABELS = {"suggested-warm": "suggested, warm", "random-warm": "random, warm",
                   "suggested-cold": "suggested, cold"}
#: the random strategy's generator is SplitMix64(RANDOM_SEED_OFFSET + draw seed), apart from the draw's own
RANDOM_SEED_OFFSET = 1000
#: how the suggestions are predicted: one pass, as the server's segment job runs on a CPU
SUGGEST_ARGS = ("--no-tta",)
#: one round's suggestions at least this many slices apart in a volume; 1 is the engine's plain ranking
#: (leastCertainSlices in server/src/engine/inference/uncertainty.ts)
SUGGEST_MIN_DISTANCE = 1


@dataclass
class LoopConfig:
    seed: int = 0
    start_slices: int = 4
    budget_minutes: float = 4.0
    warm_fraction: float = 0.5
    rounds: int = 4
    per_round: int = 2
    #: an iteration budget instead of minutes (smoke runs): cold N, warm round(f x N)
    iterations: int | None = None
    val_cases: int | None = None
    threads: int = 2
    predict_args: tuple[str, ...] = ("--tta",)
    train_args: tuple[str, ...] = ()
    strategies: tuple[str, ...] = STRATEGIES
    suggest_min_distance: int = SUGGEST_MIN_DISTANCE
    force: bool = False
    results_dir: Path = field(default_factory=lambda: work_dir("results"))
    command: str = ""

    def __post_init__(self) -> None:
        for name in ("start_slices", "rounds", "per_round"):
            if getattr(self, name) < 1:
                raise ValueError(f"loop: {name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if not 0 < self.warm_fraction <= 1:
            raise ValueError(f"loop: --warm-fraction must be in (0, 1], got {self.warm_fraction}")
        if self.iterations is None and self.budget_minutes <= 0:
            raise ValueError(f"loop: --budget must be positive, got {self.budget_minutes}")
        unknown = [s for s in self.strategies if s not in STRATEGIES]
        if unknown or not self.strategies:
            raise ValueError(f"loop: --strategies takes some of {', '.join(STRATEGIES)}, got "
                             f"{', '.join(self.strategies) or 'none'}")
        if "suggested-cold" in self.strategies and "suggested-warm" not in self.strategies:
            raise ValueError("loop: suggested-cold trains on suggested-warm's picks: run suggested-warm too")
        if self.suggest_min_distance < 1:
            raise ValueError(f"loop: --suggest-distance must be at least 1, got {self.suggest_min_distance}")

    @property
    def label(self) -> str:
        budget = f"i{self.iterations}" if self.iterations else f"b{self.budget_minutes:g}m"
        # the plain ranking (distance 1) keeps the label of the runs made before the option existed
        rule = f"-d{self.suggest_min_distance}" if self.suggest_min_distance != 1 else ""
        return f"{budget}-w{self.warm_fraction:g}-n{self.start_slices}-k{self.per_round}-s{self.seed}{rule}"

    def budget_args(self, warm: bool) -> list[str]:
        if self.iterations:
            return ["--iterations", str(max(1, round(self.iterations * (self.warm_fraction if warm else 1))))]
        return ["--minutes", f"{self.budget_minutes * (self.warm_fraction if warm else 1):g}"]


# --- the pure parts: which slices get labelled ---------------------------------------------------------------


def candidates(foreground: dict[str, Sequence[int]], labelled: Iterable[LabelledSlice]) -> list[LabelledSlice]:
    """Slices an annotator would label next: foreground in the reference, not labelled yet; in volume order
    (the order of `foreground`), then slice order."""
    done = {(s.case, s.slice) for s in labelled}
    return [LabelledSlice(case, k) for case, ks in foreground.items() for k in sorted(ks) if (case, k) not in done]


def suggest(scores: dict[str, dict[int, dict]], pool: list[LabelledSlice], count: int,
            min_distance: int = SUGGEST_MIN_DISTANCE) -> list[LabelledSlice]:
    """The `count` candidates the tool is least sure of across all volumes: highest score first, then more
    ambiguous pixels, then the pool's order (as the engine's leastCertainSlices, there within one series); with
    `min_distance` > 1, each at least that many slices from the better-ranked picks in its volume, the nearer
    ones after the rest when too few are that far apart. scores: case -> slice index -> the `nnsam predict
    --uncertainty` entry ({"score", "ambiguousPixels", ...}); a slice without an entry (not run: no body) scores
    0."""
    order = {(s.case, s.slice): i for i, s in enumerate(pool)}

    def key(s: LabelledSlice) -> tuple:
        entry = scores.get(s.case, {}).get(s.slice, {})
        return -float(entry.get("score", 0.0)), -int(entry.get("ambiguousPixels", 0)), order[(s.case, s.slice)]

    apart: list[LabelledSlice] = []
    near: list[LabelledSlice] = []
    for s in sorted(pool, key=key):
        close = any(p.case == s.case and abs(p.slice - s.slice) < min_distance for p in apart)
        (near if close else apart).append(s)
    return (apart + near)[:count]


def random_pick(rng: SplitMix64, pool: list[LabelledSlice], count: int) -> list[LabelledSlice]:
    """`count` candidates drawn without replacement: each pick is below(candidates left) in pool order."""
    left = list(pool)
    return [left.pop(rng.below(len(left))) for _ in range(min(count, len(left)))]


def read_uncertainty(path: Path) -> dict[str, dict[int, dict]]:
    """`nnsam predict --uncertainty` file -> case -> slice index -> entry (case: the input's file name)."""
    data = json.loads(Path(path).read_text())
    out: dict[str, dict[int, dict]] = {}
    for volume in data["volumes"]:
        case = Path(volume["input"]).name.removesuffix(".gz").removesuffix(".nii")
        out[case] = {int(s["index"]): s for s in volume["slices"]}
    return out


def series_dice(pred: np.ndarray, ref: np.ndarray, labelled: Iterable[int], spacing: tuple[float, ...],
                classes: dict[int, str]) -> dict:
    """Dice per class (and the mean over classes) on the slices k of one volume that are not labelled."""
    keep = [k for k in range(ref.shape[2]) if k not in set(labelled)]
    if not keep:
        return {"slices": 0, "classes": {name: None for name in classes.values()}, "mean": None}
    p, r = pred[:, :, keep], ref[:, :, keep]
    dice = {name: class_metrics(p == value, r == value, spacing).dice for value, name in classes.items()}
    mean = nanmean(list(dice.values()))
    return {"slices": len(keep), "classes": {k: None if np.isnan(v) else v for k, v in dice.items()},
            "mean": None if np.isnan(mean) else mean}


def summarize_series(per_case: list[dict], class_names: list[str]) -> dict:
    """Mean over volumes, per class and for the mean over classes (volumes where a class is absent from the
    unlabelled slices and not predicted there are left out, as in evaluate.py)."""
    out = {name: nanmean([np.nan if c["classes"][name] is None else c["classes"][name] for c in per_case])
           for name in class_names}
    out["mean"] = nanmean([np.nan if c["mean"] is None else c["mean"] for c in per_case])
    return {k: None if np.isnan(v) else v for k, v in out.items()}


# --- running it -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesVolume:
    case: str
    image: Path
    label: Path
    depth: int
    foreground: tuple[int, ...]


def series_volumes(start: list[LabelledSlice]) -> list[SeriesVolume]:
    out = []
    for case in dict.fromkeys(s.case for s in start):
        image, label = acdc_paths(case, "train")
        ref = np.asarray(nib.load(label).dataobj)
        out.append(SeriesVolume(case, image, label, int(ref.shape[2]), tuple(foreground_slices(ref))))
    return out


def _slices_json(slices: Iterable[LabelledSlice]) -> list[dict]:
    return [{"case": s.case, "slice": s.slice} for s in slices]


class Loop:
    def __init__(self, cfg: LoopConfig, log: Callable[[str], None] = print) -> None:
        self.cfg = cfg
        self.log = log
        self.work = work_dir("loop", cfg.label)
        self.start = draw_slices(cfg.seed, cfg.start_slices)
        self.volumes = series_volumes(self.start)
        self.foreground = {v.case: v.foreground for v in self.volumes}
        all_val = acdc_split("val")
        self.val_cases = all_val[: cfg.val_cases] if cfg.val_cases else all_val
        self.classes = {int(k): v for k, v in CLASSES.items()}
        self.result: dict = {
            "kind": "loop",
            "label": cfg.label,
            "status": "running",
            "message": "",
            "date": now_iso(),
            "machine": machine_info(),
            "command": cfg.command,
            "threads": cfg.threads,
            "seed": cfg.seed,
            "start_slices": cfg.start_slices,
            "budget_minutes": None if cfg.iterations else cfg.budget_minutes,
            "iterations": cfg.iterations,
            "warm_fraction": cfg.warm_fraction,
            "rounds": cfg.rounds,
            "per_round": cfg.per_round,
            "val_cases": len(self.val_cases),
            "predict_args": list(cfg.predict_args),
            "suggest_args": list(SUGGEST_ARGS),
            "train_args": list(cfg.train_args),
            "strategies": list(cfg.strategies),
            "suggest_min_distance": cfg.suggest_min_distance,
            "random_seed": RANDOM_SEED_OFFSET + cfg.seed,
            "series": [{"case": v.case, "slices": v.depth, "foreground": list(v.foreground)} for v in self.volumes],
            "steps": [],
        }
        self.path = cfg.results_dir / "loop" / f"loop-{cfg.label}.json"

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.result, indent=1) + "\n")

    def run(self) -> dict:
        try:
            self._run()
            self.result["status"] = "ok"
        except (RuntimeError, OSError, ValueError) as e:
            self.result.update(status="failed", message=str(e))
            self.log(f"[loop] failed: {e}")
        self.result["date_end"] = now_iso()
        self.save()
        self.log(f"[bench] wrote {self.path}")
        return self.result

    def _run(self) -> None:
        cfg = self.cfg
        start = self.step("start", 0, self.start, [], warm_from=None)
        latest = {s: start for s in STRATEGIES}
        labelled = {s: list(self.start) for s in STRATEGIES}
        rng = SplitMix64(RANDOM_SEED_OFFSET + cfg.seed)
        for r in range(1, cfg.rounds + 1):
            # what each strategy labels this round
            pool = candidates(self.foreground, labelled["suggested-warm"])
            scores = self.uncertainty(latest["suggested-warm"]) if "suggested-warm" in cfg.strategies else {}
            chosen = suggest(scores, pool, cfg.per_round, cfg.suggest_min_distance)
            if not chosen:
                raise ValueError(f"round {r}: no candidate slice left to label (the series has "
                                 f"{sum(map(len, self.foreground.values()))} slices with foreground)")
            added = {"suggested-warm": [{"case": s.case, "slice": s.slice,
                                         **{k: scores.get(s.case, {}).get(s.slice, {}).get(k, 0)
                                            for k in ("score", "ambiguousPixels")}} for s in chosen]}
            labelled["suggested-warm"] += chosen
            picked = random_pick(rng, candidates(self.foreground, labelled["random-warm"]), cfg.per_round)
            added["random-warm"] = _slices_json(picked)
            labelled["random-warm"] += picked
            labelled["suggested-cold"] = list(labelled["suggested-warm"])
            added["suggested-cold"] = added["suggested-warm"]
            for strategy in cfg.strategies:
                warm = strategy.endswith("-warm")
                latest[strategy] = self.step(strategy, r, labelled[strategy], added[strategy],
                                             warm_from=latest[strategy] if warm else None)

    def uncertainty(self, step: dict) -> dict[str, dict[int, dict]]:
        """The suggestions' scores: the series volumes predicted once with `--uncertainty` by a step's model
        (kept beside it; predicted again when the model is newer)."""
        model = Path(step["model"])
        dest = model.parent / "suggest"
        path = dest / "uncertainty.json"
        if not path.is_file() or path.stat().st_mtime < (model / "model.json").stat().st_mtime:
            dest.mkdir(parents=True, exist_ok=True)
            code, _, stderr = run_nnsam(["predict", "--model", str(model), "--out", str(dest / "labels"),
                                         *SUGGEST_ARGS, "--uncertainty", str(path),
                                         *(str(v.image) for v in self.volumes)], self.cfg.threads,
                                        dest / "predict.log")
            if code != 0:
                raise RuntimeError(f"`nnsam predict --uncertainty` exited with {code}: {stderr.strip()[-800:]}")
        return read_uncertainty(path)

    def step(self, strategy: str, round_: int, labelled: list[LabelledSlice], added: list[dict],
             warm_from: dict | None) -> dict:
        """Train one model on `labelled` (cold, or warm from an earlier step's model), then score it. A step done
        before is reused when it labelled the same slices from the same earlier model (--force retrains)."""
        cfg = self.cfg
        out = self.work / strategy / f"round{round_}"
        model = out / "model"
        record_path = out / "step.json"
        evaluation_key = {"val_cases": self.val_cases, "predict_args": list(cfg.predict_args)}
        record = json.loads(record_path.read_text()) if record_path.is_file() and not cfg.force else None
        source = warm_from["trained_at"] if warm_from else None
        if record and (record.get("labelled") != _slices_json(labelled) or record.get("warm_from") != source
                       or not (model / "model.json").is_file()):
            record = None  # another selection, another start or a lost model: train again
        if record is None:
            out.mkdir(parents=True, exist_ok=True)
            manifest = write_manifest(out / "manifest", labelled)
            args = ["train", "--manifest", str(manifest), "--out", str(model), "--encoder", "none",
                    *cfg.budget_args(warm_from is not None), "--seed", str(cfg.seed), "--json", "--overwrite",
                    *(["--warm-start", warm_from["model"]] if warm_from else []), *cfg.train_args]
            self.log(f"[loop] {strategy} round {round_}: {len(labelled)} labelled slices, "
                     f"{'warm' if warm_from else 'cold'} {' '.join(cfg.budget_args(warm_from is not None))}")
            load_before = load_average()
            started = time.perf_counter()
            code, events, stderr = run_nnsam(args, cfg.threads, out / "train.log")
            wall = time.perf_counter() - started
            load_after = load_average()
            if code != 0:
                raise RuntimeError(f"`nnsam train` ({strategy}, round {round_}) exited with {code}: "
                                   f"{stderr.strip()[-800:]}")
            summary = read_train_events(events, wall)
            record = {
                "strategy": strategy,
                "round": round_,
                "labelled": _slices_json(labelled),
                "added": added,
                "warm_start": warm_from is not None,
                # the model it started from (that step's trained_at), None when cold
                "warm_from": source,
                "trained_at": now_iso(),
                "budget": cfg.budget_args(warm_from is not None),
                "iterations": summary["iterations"],
                "train_seconds": summary["seconds"],
                "train_wall_seconds": wall,
                "load_average": [load_before, load_after],
            }
            record_path.write_text(json.dumps(record, indent=1) + "\n")  # a failed evaluation keeps the model
        if record.get("evaluation_key") != evaluation_key:
            record.update(self.evaluate(model, labelled, out), evaluation_key=evaluation_key)
        record_path.write_text(json.dumps(record, indent=1) + "\n")
        self.result["steps"] = [s for s in self.result["steps"]
                                if (s["strategy"], s["round"]) != (strategy, round_)] + [record]
        self.save()
        self.log(f"[loop] {strategy} round {round_}: {len(labelled)} slices, Dice same series "
                 f"{_fmt(record['series_summary'].get('mean'))}, validation "
                 f"{_fmt(record['validation_summary']['mean']['dice']['mean'])}, "
                 f"{record['train_seconds']:.0f} s training, {record['iterations']} iterations")
        return {**record, "model": str(model)}

    def evaluate(self, model: Path, labelled: list[LabelledSlice], out: Path) -> dict:
        """One `nnsam predict` of the series and validation volumes; Dice on both (see the module docstring)."""
        dest = out / "predictions"
        images = [v.image for v in self.volumes] + [acdc_paths(c, "val")[0] for c in self.val_cases]
        started = time.perf_counter()
        code, _, stderr = run_nnsam(["predict", "--model", str(model), "--out", str(dest), *self.cfg.predict_args,
                                     *map(str, images)], self.cfg.threads, out / "predict.log")
        if code != 0:
            raise RuntimeError(f"`nnsam predict` exited with {code}: {stderr.strip()[-800:]}")
        predict_seconds = time.perf_counter() - started
        per_case = []
        for v in self.volumes:
            ref_img = nib.load(v.label)
            pred = np.asarray(nib.load(dest / f"{v.case}.nii.gz").dataobj).astype(np.int32)
            ref = np.asarray(ref_img.dataobj).astype(np.int32)
            spacing = tuple(float(z) for z in ref_img.header.get_zooms()[:3])
            ks = [s.slice for s in labelled if s.case == v.case]
            per_case.append({"case": v.case, **series_dice(pred, ref, ks, spacing, self.classes)})
        validation = evaluate_folder(dest, self.val_cases)
        return {
            "series": per_case,
            "series_summary": summarize_series(per_case, list(self.classes.values())),
            "validation_summary": validation["summary"],
            "validation_cases": [{"case": c["case"], "dice": c["mean"]["dice"]} for c in validation["cases"]],
            "predict_seconds": predict_seconds,
        }


def _fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:.3f}"


def run_loop(cfg: LoopConfig, log: Callable[[str], None] = print) -> dict:
    return Loop(cfg, log).run()
