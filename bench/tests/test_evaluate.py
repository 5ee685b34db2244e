"""Evaluation of prediction folders, summaries, and the curve helpers of the accuracy driver."""

import math

import nibabel as nib
import numpy as np
import pytest

from nnsam_bench.accuracy import downsample, time_to_fraction
from nnsam_bench.evaluate import evaluate_case, evaluate_folder, summarize
from nnsam_bench.fewshot import acdc_paths, acdc_split

CLASSES = {1: "RV", 2: "MYO", 3: "LV"}


def save_like(ref_path, data, out, affine=None):
    ref = nib.load(ref_path)
    nib.save(nib.Nifti1Image(data.astype(np.uint8), ref.affine if affine is None else affine), out)


def test_the_reference_scores_perfectly_and_an_empty_prediction_scores_worst(tmp_path):
    cases = acdc_split("val")[:2]
    for c in cases:
        ref_path = acdc_paths(c, "val")[1]
        ref = np.asarray(nib.load(ref_path).dataobj)
        save_like(ref_path, ref if c == cases[0] else np.zeros_like(ref), tmp_path / f"{c}.nii.gz")
    result = evaluate_folder(tmp_path, cases)
    perfect, empty = result["cases"]
    assert perfect["mean"] == {"dice": 1.0, "hd95": 0.0, "asd": 0.0}
    assert perfect["spacing"] == [1.0, 1.0, 10.0]
    assert empty["mean"]["dice"] == 0.0 and empty["mean"]["hd95"] > 100
    s = result["summary"]
    assert s["cases"] == 2 and s["empty_prediction"] == 3 and s["empty_reference"] == 0
    assert s["mean"]["dice"]["mean"] == pytest.approx(0.5)
    assert s["RV"]["dice"]["std"] == pytest.approx(0.5)


def test_predictions_off_the_reference_grid_are_refused(tmp_path):
    case = acdc_split("val")[0]
    ref_path = acdc_paths(case, "val")[1]
    ref = np.asarray(nib.load(ref_path).dataobj)
    out = tmp_path / f"{case}.nii.gz"
    save_like(ref_path, ref[:, :, 1:], out)
    with pytest.raises(ValueError, match="shape"):
        evaluate_case(out, ref_path, CLASSES)
    shifted = nib.load(ref_path).affine.copy()
    shifted[0, 3] += 5
    save_like(ref_path, ref, out, affine=shifted)
    with pytest.raises(ValueError, match="affine"):
        evaluate_case(out, ref_path, CLASSES)
    with pytest.raises(FileNotFoundError, match="prediction missing"):
        evaluate_case(tmp_path / "nope.nii.gz", ref_path, CLASSES)


def test_summary_leaves_not_applicable_values_out():
    per_case = [
        {"mean": {"dice": 0.5, "hd95": 2.0, "asd": 1.0},
         "classes": {"RV": {"dice": None, "hd95": None, "asd": None, "ref_voxels": 0, "pred_voxels": 0}}},
        {"mean": {"dice": 0.7, "hd95": 4.0, "asd": 3.0},
         "classes": {"RV": {"dice": 0.9, "hd95": 1.0, "asd": 0.5, "ref_voxels": 9, "pred_voxels": 8}}},
    ]
    s = summarize(per_case, ["RV"])
    assert s["RV"]["dice"] == {"mean": 0.9, "std": 0.0}
    assert s["mean"]["hd95"]["mean"] == 3.0


def test_time_to_95_percent_of_final_dice():
    curve = [{"seconds": 60, "dice": 0.2}, {"seconds": 120, "dice": 0.78}, {"seconds": 180, "dice": 0.8}]
    assert time_to_fraction(curve) == 120  # 0.78 >= 0.95 * 0.8 = 0.76
    assert time_to_fraction([{"seconds": 1, "dice": None}]) is None
    assert time_to_fraction([{"seconds": 5, "dice": 0.0}, {"seconds": 9, "dice": 0.0}]) is None
    assert math.isclose(time_to_fraction([{"seconds": 5, "dice": 0.1}]), 5)


def test_downsample_keeps_epochs_and_the_last_iteration():
    events = [{"event": "iteration", "iteration": i} for i in range(1, 1001)] + [{"event": "epoch", "epoch": 0}]
    kept = downsample(events, keep=100)
    its = [e["iteration"] for e in kept if e["event"] == "iteration"]
    assert len(its) <= 101 and its[0] == 1 and its[-1] == 1000
    assert kept[-1] == {"event": "epoch", "epoch": 0}
