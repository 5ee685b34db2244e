"""The labelling loop's pure parts (loop.py): which slices get labelled, what is scored, how it is reported."""

import json

import nibabel as nib
import numpy as np
import pytest

from nnsam_bench.fewshot import LabelledSlice, acdc_paths, draw_slices, foreground_slices, read_manifest, write_manifest
from nnsam_bench.loop import (
    LoopConfig,
    candidates,
    random_pick,
    read_uncertainty,
    series_dice,
    suggest,
    summarize_series,
)
from nnsam_bench.report import render
from nnsam_bench.rng import SplitMix64

FOREGROUND = {"a": (1, 2, 3, 5), "b": (0, 4), "c": (2,)}
START = [LabelledSlice("a", 2), LabelledSlice("b", 4), LabelledSlice("c", 2)]


def entry(score, ambiguous=100):
    return {"score": score, "ambiguousPixels": ambiguous}


def test_candidates_are_unlabelled_foreground_slices_in_volume_then_slice_order():
    pool = candidates(FOREGROUND, START + [LabelledSlice("a", 7)])
    assert pool == [LabelledSlice("a", 1), LabelledSlice("a", 3), LabelledSlice("a", 5), LabelledSlice("b", 0)]
    assert candidates({"c": (2,)}, START) == []


def test_suggest_takes_the_top_scores_across_volumes():
    pool = candidates(FOREGROUND, START)
    scores = {"a": {1: entry(0.2), 3: entry(0.9), 5: entry(0.4), 2: entry(1.0)},  # a/2 is labelled: never picked
              "b": {0: entry(0.95), 4: entry(1.0)}}
    assert suggest(scores, pool, 2) == [LabelledSlice("b", 0), LabelledSlice("a", 3)]
    assert suggest(scores, pool, 10) == [LabelledSlice("b", 0), LabelledSlice("a", 3), LabelledSlice("a", 5),
                                         LabelledSlice("a", 1)]


def test_suggest_breaks_ties_by_ambiguous_pixels_then_pool_order_and_scores_missing_slices_0():
    pool = candidates(FOREGROUND, START)
    scores = {"a": {1: entry(0.5, 30), 3: entry(0.5, 80)}, "b": {0: entry(0.0, 10)}}  # a/5 not run: no entry
    assert suggest(scores, pool, 4) == [LabelledSlice("a", 3), LabelledSlice("a", 1), LabelledSlice("b", 0),
                                        LabelledSlice("a", 5)]


def test_suggest_keeps_one_rounds_picks_apart_within_a_volume():
    pool = [LabelledSlice("a", k) for k in (1, 2, 3, 6)] + [LabelledSlice("b", k) for k in (2, 3)]
    scores = {"a": {2: entry(0.9), 3: entry(0.85), 6: entry(0.5), 1: entry(0.4)}, "b": {3: entry(0.8), 2: entry(0.7)}}
    # a/3 is next to a/2 and b/2 next to b/3: the distant slices come first; the same slice number in another
    # volume is not near
    assert suggest(scores, pool, 2, min_distance=2) == [LabelledSlice("a", 2), LabelledSlice("b", 3)]
    assert suggest(scores, pool, 6, min_distance=2) == [LabelledSlice("a", 2), LabelledSlice("b", 3), LabelledSlice("a", 6),
                                        LabelledSlice("a", 3), LabelledSlice("b", 2), LabelledSlice("a", 1)]
    # distance 1 (the default): the plain ranking
    assert suggest(scores, pool, 2) == [LabelledSlice("a", 2), LabelledSlice("a", 3)]
    assert suggest(scores, pool, 3, min_distance=4) == [LabelledSlice("a", 2), LabelledSlice("b", 3),
                                                         LabelledSlice("a", 6)]


def test_random_pick_is_seeded_reproducible_and_stays_in_the_pool():
    pool = [LabelledSlice("v", k) for k in range(30)]
    first = random_pick(SplitMix64(1000), pool, 2)
    assert first == random_pick(SplitMix64(1000), pool, 2)
    assert len(set(first)) == 2 and set(first) <= set(pool)
    # the rule: each pick is below(candidates left) in pool order
    rng = SplitMix64(1000)
    i = rng.below(30)
    j = rng.below(29)
    left = list(pool)
    assert first == [left.pop(i), left.pop(j)]
    draws = {tuple(random_pick(SplitMix64(seed), pool, 2)) for seed in range(8)}
    assert len(draws) > 1, "the seed must matter"
    assert random_pick(SplitMix64(0), pool[:1], 2) == pool[:1]


def test_read_uncertainty_keys_entries_by_case_and_slice(tmp_path):
    path = tmp_path / "u.json"
    path.write_text(json.dumps({"rule": "r", "volumes": [
        {"input": "/data/imagesTr/patient001_frame01.nii.gz", "output": "x", "leastCertain": [1],
         "slices": [{"index": 0, "score": 0, "segments": {"1": 0}, "ambiguousPixels": 0, "run": False},
                    {"index": 1, "score": 0.7, "segments": {"1": 0.7}, "ambiguousPixels": 50, "run": True}]}]}))
    scores = read_uncertainty(path)
    assert scores["patient001_frame01"][1]["score"] == 0.7
    assert suggest(scores, [LabelledSlice("patient001_frame01", k) for k in (0, 1)], 1) == [
        LabelledSlice("patient001_frame01", 1)]


def test_series_dice_never_counts_a_labelled_slice():
    ref = np.zeros((6, 6, 4), dtype=np.int32)
    ref[1:4, 1:4, :] = 1
    pred = ref.copy()
    pred[:, :, 2] = 0  # wrong only on slice 2
    classes = {1: "RV", 2: "MYO"}
    assert series_dice(pred, ref, [2], (1.0, 1.0, 10.0), classes) == {
        "slices": 3, "classes": {"RV": 1.0, "MYO": None}, "mean": 1.0}
    wrong = series_dice(pred, ref, [0], (1.0, 1.0, 10.0), classes)
    assert wrong["slices"] == 3 and wrong["classes"]["RV"] == pytest.approx(2 * 18 / (18 + 27))
    assert summarize_series([{"classes": {"RV": 1.0, "MYO": None}, "mean": 1.0},
                             {"classes": {"RV": 0.5, "MYO": 0.25}, "mean": 0.375}], ["RV", "MYO"]) == {
        "RV": 0.75, "MYO": 0.25, "mean": 0.6875}


def test_the_manifest_after_a_round_holds_exactly_the_labelled_slices(tmp_path):
    start = draw_slices(0, 4)
    foreground = {}
    for s in start:
        foreground[s.case] = tuple(foreground_slices(np.asarray(nib.load(acdc_paths(s.case, "train")[1]).dataobj)))
    pool = candidates(foreground, start)
    # the two lowest slices of the last volume score highest
    last = start[-1].case
    scores = {last: {k: entry(1.0 - 0.01 * k) for k in foreground[last]}}
    added = suggest(scores, pool, 2)
    assert [s.case for s in added] == [last, last] and not set(added) & set(start)
    labelled = start + added
    manifest = read_manifest(write_manifest(tmp_path / "round1", labelled))
    assert sorted((c.case_id, k) for c in manifest.cases for k in c.labeled_slices) == sorted(
        (s.case, s.slice) for s in labelled)
    for case in manifest.cases:
        sparse = np.asarray(nib.load(case.label).dataobj)
        ref = np.asarray(nib.load(acdc_paths(case.case_id, "train")[1]).dataobj)
        for k in range(ref.shape[2]):
            if k in case.labeled_slices:
                assert np.array_equal(sparse[:, :, k], ref[:, :, k]) and ref[:, :, k].any()
            else:
                assert not sparse[:, :, k].any(), f"{case.case_id} slice {k} is not labelled but holds labels"


def test_config_is_checked_and_names_its_budget():
    # the plain ranking (the default) keeps the name of the runs made before the distance option
    assert LoopConfig(seed=1, budget_minutes=4, warm_fraction=0.5).label == "b4m-w0.5-n4-k2-s1"
    assert LoopConfig(seed=1, suggest_min_distance=2).label == "b4m-w0.5-n4-k2-s1-d2"
    with pytest.raises(ValueError, match="suggested-cold trains on suggested-warm's picks"):
        LoopConfig(strategies=("random-warm", "suggested-cold"))
    with pytest.raises(ValueError, match="--strategies takes some of"):
        LoopConfig(strategies=("suggested",))
    with pytest.raises(ValueError, match="suggest-distance"):
        LoopConfig(suggest_min_distance=0)
    cfg = LoopConfig(iterations=8, warm_fraction=0.5)
    assert cfg.label.startswith("i8-") and cfg.budget_args(warm=True) == ["--iterations", "4"]
    assert LoopConfig(budget_minutes=4).budget_args(warm=True) == ["--minutes", "2"]
    with pytest.raises(ValueError, match="warm-fraction"):
        LoopConfig(warm_fraction=0)
    with pytest.raises(ValueError, match="per-round"):
        LoopConfig(per_round=0)


MACHINE = {"cpu": "Test CPU", "cores": 2, "ram_gib": 24.0, "os": "Debian", "python": "3.11", "torch": "2.13.0",
           "onnxruntime_python": "1.32.0", "onnxruntime_node": "1.30.0", "nnunetv2": "2.8.1", "node": "v20",
           "gpu": None}


def step(strategy, round_, slices, series, val, seconds, budget=None):
    dice = {"dice": {"mean": val, "std": 0.0}}
    return {"strategy": strategy, "round": round_, "labelled": [{"case": "p", "slice": k} for k in range(slices)],
            "budget": budget,
            "series_summary": {"RV": series, "MYO": series, "LV": series, "mean": series},
            "validation_summary": {"RV": dice, "MYO": dice, "LV": dice, "mean": dice},
            "train_seconds": seconds, "iterations": 100, "load_average": [1.5, 2.0]}


def test_report_renders_the_loop_table_verdicts_and_plot(tmp_path):
    folder = tmp_path / "results" / "cpu-2c" / "loop"
    folder.mkdir(parents=True)
    result = {"kind": "loop", "status": "ok", "date": "2026-01-02T03:04:05+00:00", "machine": MACHINE,
              "command": "npm run bench -- loop", "threads": 2, "seed": 0, "start_slices": 4, "budget_minutes": 4.0,
              "iterations": None, "warm_fraction": 0.5, "rounds": 2, "per_round": 2, "val_cases": 20,
              "predict_args": ["--tta"], "suggest_args": ["--no-tta"],
              "series": [{"case": "patient001_frame01", "slices": 10, "foreground": [1, 2]}],
              "steps": [step("start", 0, 4, 0.5, 0.40, 240),
                        # measured seconds overshoot a time budget: the budgets (2 of 4 minutes) decide
                        step("suggested-warm", 1, 6, 0.6, 0.50, 120.2, ["--minutes", "2"]),
                        step("random-warm", 1, 6, 0.55, 0.45, 120.1, ["--minutes", "2"]),
                        step("suggested-cold", 1, 6, 0.58, 0.48, 240.1, ["--minutes", "4"]),
                        step("suggested-warm", 2, 8, 0.7, 0.55, 120), step("random-warm", 2, 8, 0.72, 0.58, 121),
                        step("suggested-cold", 2, 8, 0.7, 0.60, 240)]}
    (folder / "loop-b4m-w0.5-n4-k2-s0.json").write_text(json.dumps(result))
    images = tmp_path / "images"
    text = render(tmp_path / "results", images, tmp_path)
    assert "#### Labelling loop" in text
    assert "| 0 | start (cold, all three) | 4 | 0.500 | 0.400 |" in text
    assert "| 1 | suggested, warm | 6 | 0.600 | 0.500 | 0.500 / 0.500 / 0.500 | 120 | 100 | 1.5 → 2.0 |" in text
    assert "| 2 | suggested, cold | 8 | 0.700 | 0.600 |" in text
    assert "in 1 of 2 rounds (round 1)" in text  # suggested beat random on validation in round 1 only
    assert "in at most half its training time in 1 of 2 rounds (round 1)" in text
    png = images / "bench-cpu-2c-loop-s0.png"
    assert f"]({png.relative_to(tmp_path)})" in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_puts_a_new_suggestion_rule_beside_the_random_slices_of_the_same_draw(tmp_path):
    folder = tmp_path / "results" / "cpu-2c" / "loop"
    folder.mkdir(parents=True)
    protocol = {"kind": "loop", "status": "ok", "machine": MACHINE, "command": "npm run bench -- loop", "threads": 2,
                "seed": 1, "start_slices": 4, "budget_minutes": 4.0, "iterations": None, "warm_fraction": 0.5,
                "rounds": 2, "per_round": 2, "val_cases": 20, "predict_args": ["--no-tta"],
                "suggest_args": ["--no-tta"], "train_args": [],
                "series": [{"case": "patient071_frame01", "slices": 10, "foreground": [1, 2]}]}
    plain = {**protocol, "date": "2026-01-01T00:00:00+00:00", "label": "b4m-w0.5-n4-k2-s1",
             "steps": [step("start", 0, 4, 0.5, 0.40, 240),
                       step("suggested-warm", 1, 6, 0.6, 0.44, 120), step("random-warm", 1, 6, 0.55, 0.46, 120),
                       step("suggested-warm", 2, 8, 0.7, 0.50, 120), step("random-warm", 2, 8, 0.72, 0.52, 121)]}
    apart = {**protocol, "date": "2026-01-02T00:00:00+00:00", "label": "b4m-w0.5-n4-k2-s1-d2",
             "strategies": ["suggested-warm"], "suggest_min_distance": 2,
             "steps": [step("start", 0, 4, 0.5, 0.41, 240),
                       {**step("suggested-warm", 1, 6, 0.62, 0.49, 120),
                        "added": [{"case": "patient071_frame01", "slice": 8}, {"case": "patient071_frame01", "slice": 3}]},
                       step("suggested-warm", 2, 8, 0.7, 0.51, 120)]}
    other_draw = {**apart, "seed": 2, "label": "b4m-w0.5-n4-k2-s2-d2"}  # no plain run of draw 2: left out
    for r in (plain, apart, other_draw):
        (folder / f"loop-{r['label']}.json").write_text(json.dumps(r))
    text = render(tmp_path / "results", tmp_path / "images", tmp_path)
    assert "suggestions at least 2 slices apart; only suggested, warm; 2 threads" in text
    assert "suggestions by rank alone; 2 threads" in text
    assert "#### Labelling loop: the suggestion rule (issue 13)" in text
    assert "| 1 | 1 | 0.440 | **0.490** | 0.460 | +0.030 | 0.620 / 0.550 | 071_frame01/8, 071_frame01/3 |" in text
    assert "| 1 | 2 | 0.500 | **0.510** | 0.520 | -0.010 | 0.700 / 0.720 |  |" in text
    rows = text.split("the suggestion rule (issue 13)")[1].split("- Apart beats")[0]
    assert "\n| 2 |" not in rows
    assert "- Apart beats random in **1 of 2** rounds, by +0.010 mean validation Dice on average." in text
