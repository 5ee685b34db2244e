"""One model, predicted several ways on the ACDC validation volumes: what each inference option costs in Dice.

    npm run bench -- variants [--model DIR] [--sizes 20 --seeds 0 --budget 10] [--variants cpu,tta,...]

Every variant is `nnsam predict` with the flags below on the same model and volumes, evaluated like the
accuracy benchmark (evaluate.py). Comparisons give the change of mean Dice (variant minus reference, per class
and mean) and the share of voxels whose label differs. The int8 comparison is checked against the rule a
precision must meet to become a default (docs/engine.md): mean Dice within 0.005, under 0.5 % of voxels.

Without --model, `nnsam-none` is trained for the first --sizes / --seeds / --budget with its int8 network
(`--set inference.int8=true`), or reused from an earlier run of this target.
"""

from __future__ import annotations

import time
from pathlib import Path

import nibabel as nib
import numpy as np

from .arms.nnsam import run_nnsam
from .engine import fewshot_manifest
from .evaluate import evaluate_folder
from .fewshot import acdc_paths, acdc_split
from .machine import machine_info, now_iso
from .paths import work_dir

#: name -> (what it is, `nnsam predict` flags)
VARIANTS: dict[str, tuple[str, list[str]]] = {
    "cpu": ("the server's CPU default: sliding window, cropped to the body, one pass", ["--no-tta"]),
    "tta": ("the same with 4 mirror passes (nnsam predict's and the GPU's default)", ["--tta"]),
    "whole": ("each slice whole instead of the sliding window, one pass (opt-in)", ["--no-tta", "--whole-slice"]),
    "nocrop": ("sliding window without cropping, one pass", ["--no-tta", "--no-crop"]),
    "int8": ("the int8 network, sliding window, cropped, one pass", ["--no-tta", "--precision", "int8"]),
    "legacy": ("the engine before issue 16: sliding window, 4 mirror passes, no cropping",
               ["--tta", "--no-whole-slice", "--no-crop"]),
}
#: (what is compared, variant, reference)
COMPARISONS = (
    ("test-time augmentation: 4 mirror passes against 1", "tta", "cpu"),
    ("whole slice against nnU-Net's sliding window", "whole", "cpu"),
    ("cropping to the body against none", "cpu", "nocrop"),
    ("int8 against float32", "int8", "cpu"),
    ("the CPU default against the engine before issue 16", "cpu", "legacy"),
)
#: a precision becomes a default only within these (docs/engine.md)
RULE_DICE = 0.005
RULE_VOXELS = 0.005


def train_model(n: int, seed: int, budget: float, threads: int) -> Path:
    """nnsam-none for the few-shot draw, with its int8 network; reused when it exists."""
    out = work_dir("variants", f"model-nnsam-none-b{budget:g}m-n{n}-s{seed}")
    model = out / "model"
    if (model / "model.json").is_file():
        return model
    code, _, stderr = run_nnsam(["train", "--manifest", str(fewshot_manifest(n, seed)), "--out", str(model),
                                 "--encoder", "none", "--minutes", f"{budget:g}", "--seed", str(seed), "--json",
                                 "--overwrite", "--set", "inference.int8=true"], threads, out / "train.log")
    if code != 0:
        raise RuntimeError(f"`nnsam train` exited with {code}: {stderr.strip()[-800:]}")
    return model


def changed_voxels(a: Path, b: Path, cases: list[str]) -> float:
    """Share of voxels whose label differs between two prediction folders."""
    differ = total = 0
    for c in cases:
        x = np.asarray(nib.load(a / f"{c}.nii.gz").dataobj)
        y = np.asarray(nib.load(b / f"{c}.nii.gz").dataobj)
        differ += int((x != y).sum())
        total += x.size
    return differ / max(1, total)


def _dice(summary: dict, key: str) -> float | None:
    return (summary.get(key) or {}).get("dice", {}).get("mean")


def compare(results: dict[str, dict], folders: dict[str, Path], cases: list[str]) -> list[dict]:
    out = []
    for what, name, ref in COMPARISONS:
        if name not in results or ref not in results:
            continue
        a, b = results[name]["summary"], results[ref]["summary"]
        keys = [k for k in a if isinstance(a[k], dict) and "dice" in a[k]]
        delta = {k: (None if _dice(a, k) is None or _dice(b, k) is None else _dice(a, k) - _dice(b, k))
                 for k in keys}
        row = {"what": what, "variant": name, "reference": ref, "diceDelta": delta,
               "changedVoxels": changed_voxels(folders[name], folders[ref], cases),
               "secondsRatio": results[name]["seconds"] / results[ref]["seconds"]}
        if name == "int8":
            d = delta.get("mean")
            row["meetsRule"] = d is not None and abs(d) < RULE_DICE and row["changedVoxels"] < RULE_VOXELS
        out.append(row)
    return out


def run_variants(model: Path | None, names: list[str], threads: int, n: int, seed: int, budget: float,
                 val_cases: int | None = None, log=print) -> dict:
    unknown = set(names) - set(VARIANTS)
    if unknown:
        raise ValueError(f"unknown variants {sorted(unknown)}; choose from {', '.join(VARIANTS)}")
    trained = model is None
    model = model or train_model(n, seed, budget, threads)
    cases = acdc_split("val")[:val_cases] if val_cases else acdc_split("val")
    images = [str(acdc_paths(c, "val")[0]) for c in cases]
    label = model.parent.name if trained else f"{model.resolve().parent.name}-{model.name}"
    base = work_dir("variants", "predictions", label)
    results: dict[str, dict] = {}
    folders: dict[str, Path] = {}
    for name in names:
        what, flags = VARIANTS[name]
        dest = base / name
        dest.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        code, _, stderr = run_nnsam(["predict", "--model", str(model), "--out", str(dest), *flags, *images], threads,
                                    base / f"{name}.log")
        seconds = time.perf_counter() - started
        if code != 0:
            results[name] = {"what": what, "flags": flags, "status": "failed", "message": stderr.strip()[-600:]}
            log(f"[variants] {name}: failed ({stderr.strip()[-200:]})")
            continue
        evaluation = evaluate_folder(dest, cases)
        results[name] = {"what": what, "flags": flags, "status": "ok", "seconds": seconds,
                         "summary": evaluation["summary"]}
        folders[name] = dest
        log(f"[variants] {name}: mean Dice {_dice(evaluation['summary'], 'mean'):.4f} ({seconds:.0f} s)")
    ok = {k: v for k, v in results.items() if v["status"] == "ok"}
    return {
        "kind": "variants",
        "date": now_iso(),
        "machine": machine_info(),
        "threads": threads,
        "model": {"dir": label if trained else str(model), "label": label, "trainedHere": trained,
                  "slices": n if trained else None, "seed": seed if trained else None,
                  "budget_minutes": budget if trained else None},
        "val_cases": len(cases),
        "variants": results,
        "comparisons": compare(ok, folders, cases),
        "rule": {"dice": RULE_DICE, "voxels": RULE_VOXELS},
    }
