"""Evaluate a folder of predicted label volumes (<case>.nii.gz) against the ACDC validation references."""

from __future__ import annotations

import math
from pathlib import Path

import nibabel as nib
import numpy as np

from .fewshot import CLASSES, acdc_paths, acdc_split
from .metrics import nanmean, nanstd, volume_metrics

METRICS = ("dice", "hd95", "asd")


def load_label(path: Path) -> tuple[np.ndarray, np.ndarray, tuple[float, ...]]:
    img = nib.load(path)
    return np.asarray(img.dataobj), img.affine, tuple(float(z) for z in img.header.get_zooms()[:3])


def evaluate_case(pred_path: Path, ref_path: Path, classes: dict[int, str]) -> dict:
    if not pred_path.is_file():
        raise FileNotFoundError(f"prediction missing: {pred_path} (expected one per validation case)")
    ref, ref_affine, spacing = load_label(ref_path)
    pred, pred_affine, _ = load_label(pred_path)
    if pred.shape != ref.shape:
        raise ValueError(f"{pred_path}: shape {pred.shape} differs from the reference {ref_path} {ref.shape}")
    if not np.allclose(pred_affine, ref_affine, atol=1e-3):
        raise ValueError(f"{pred_path}: its affine differs from the reference {ref_path}: not on the same grid")
    if not np.array_equal(pred, np.round(pred)):
        raise ValueError(f"{pred_path}: holds non-integer values; expected a label volume")
    per_class = volume_metrics(pred.astype(np.int32), ref.astype(np.int32), spacing, classes)
    return {
        "case": ref_path.name.removesuffix(".nii.gz"),
        "spacing": list(spacing),
        "classes": {name: m.to_json() for name, m in per_class.items()},
        "mean": {k: _none(nanmean([getattr(m, k) for m in per_class.values()])) for k in METRICS},
    }


def evaluate_folder(pred_dir: Path, cases: list[str] | None = None, classes: dict[int, str] | None = None) -> dict:
    """Per-case and summary metrics of pred_dir/<case>.nii.gz for every ACDC validation case."""
    classes = classes or {int(k): v for k, v in CLASSES.items()}
    cases = cases or acdc_split("val")
    per_case = [evaluate_case(Path(pred_dir) / f"{c}.nii.gz", acdc_paths(c, "val")[1], classes) for c in cases]
    return {"cases": per_case, "summary": summarize(per_case, list(classes.values()))}


def summarize(per_case: list[dict], class_names: list[str]) -> dict:
    """Mean and standard deviation over cases, per class and for the mean over classes."""

    def values(name: str | None, metric: str) -> list[float]:
        out = []
        for c in per_case:
            v = c["mean"][metric] if name is None else c["classes"][name][metric]
            out.append(math.nan if v is None else float(v))
        return out

    summary: dict = {"cases": len(per_case)}
    for name in [*class_names, None]:
        key = name or "mean"
        summary[key] = {}
        for metric in METRICS:
            vs = values(name, metric)
            summary[key][metric] = {"mean": _none(nanmean(vs)), "std": _none(nanstd(vs))}
    empty_pred = empty_ref = 0
    for c in per_case:
        for m in c["classes"].values():
            empty_pred += m["pred_voxels"] == 0 and m["ref_voxels"] > 0
            empty_ref += m["ref_voxels"] == 0 and m["pred_voxels"] > 0
    summary["empty_prediction"] = empty_pred
    summary["empty_reference"] = empty_ref
    return summary


def _none(v: float) -> float | None:
    return None if math.isnan(v) else v
