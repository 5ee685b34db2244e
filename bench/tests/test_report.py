"""docs/benchmarks.md generation: tables from result files, plots, hand-written text kept."""

import json

import pytest

from nnsam_bench.report import BEGIN, END, render, write_report

MACHINE = {"cpu": "Test CPU", "cores": 2, "ram_gib": 24.0, "os": "Debian", "python": "3.11", "torch": "2.13.0",
           "onnxruntime_python": "1.32.0", "onnxruntime_node": "1.30.0", "nnunetv2": "2.8.1", "node": "v20",
           "gpu": None}


def accuracy(arm, n, seed, dice, status="ok"):
    r = {"kind": "accuracy", "arm": arm, "arm_description": arm, "status": status, "message": "", "slices": n,
         "seed": seed, "budget_minutes": 5.0, "date": "2026-01-02T03:04:05+00:00", "machine": MACHINE,
         "command": "npm run bench -- nnunet", "val_cases": 20}
    if status != "ok":
        r["message"] = "`nnsam train` is not built yet"
        return r
    cls = {m: {"mean": v, "std": 0.0} for m, v in (("dice", dice), ("hd95", 10.0), ("asd", 2.0))}
    r.update(summary={"RV": cls, "MYO": cls, "LV": cls, "mean": cls, "empty_prediction": 1},
             training={"iterations": 100, "iterations_per_second": 0.5},
             curve=[{"event": "iteration", "seconds": 1.0, "loss": 1.5},
                    {"event": "iteration", "seconds": 2.0, "loss": 1.2},
                    {"event": "epoch", "seconds": 2.0, "mean_pseudo_dice": 0.3}],
             validation_curve=[{"seconds": 1.0, "dice": dice / 2}, {"seconds": 2.0, "dice": dice}],
             time_to_95_s=2.0)
    return r


@pytest.fixture()
def results(tmp_path):
    folder = tmp_path / "results" / "cpu-2c" / "accuracy"
    folder.mkdir(parents=True)
    for i, (n, seed, dice) in enumerate([(4, 0, 0.4), (4, 1, 0.6), (8, 0, 0.7)]):
        (folder / f"a{i}.json").write_text(json.dumps(accuracy("nnunetv2", n, seed, dice)))
    (folder / "p.json").write_text(json.dumps(accuracy("nnsam-none", 4, 0, 0, status="pending")))
    return tmp_path / "results"


def test_tables_and_plots(tmp_path, results):
    images = tmp_path / "images"
    text = render(results, images, tmp_path)
    assert "| nnunetv2 | 5 min | 0.500 ± 0.100 (n=2) | 0.700 (n=1) |" in text
    assert "**nnsam-none: pending** — `nnsam train` is not built yet" in text
    assert "Test CPU (2 cores available)" in text and "npm run bench -- nnunet" in text
    assert "![Dice against the number of labelled slices](images/bench-cpu-2c-dice-vs-slices.png)" in text
    for name in ("bench-cpu-2c-dice-vs-slices.png", "bench-cpu-2c-training-curves.png"):
        assert (images / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_write_report_keeps_the_hand_written_parts(tmp_path, results):
    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"# Benchmarks\n\nintro\n\n{BEGIN}\nold\n{END}\n\nouttro\n")
    write_report(results, doc, tmp_path / "images")
    text = doc.read_text()
    assert text.startswith("# Benchmarks\n\nintro\n\n" + BEGIN) and text.endswith(END + "\n\nouttro\n")
    assert "old" not in text
    doc.write_text("no markers")
    with pytest.raises(ValueError, match="markers"):
        write_report(results, doc, tmp_path / "images")


def test_training_tables_show_every_batch_size(tmp_path, results):
    from nnsam_bench.report import text_summary

    loop = {"network": "built in", "batch_size": 2, "patch_size": [256, 224], "precision": "fp32",
            "flops_per_step": 150e9, "bare_step_seconds": {"median": 2.0}, "bare_iterations_per_second": 0.5,
            "achieved_flops_per_second": 75e9, "fraction_of_peak": 0.75,
            "peak": {"dtype": "float32", "flops_per_second": 100e9}}
    training = {"kind": "training", "date": "2026-01-02T03:04:05+00:00", "machine": MACHINE, "threads": 2,
                "load_average": 1.0, "bare_loop": loop,
                "bare_loops": [loop, dict(loop, batch_size=9, flops_per_step=675e9)],
                "arms": {"nnunetv2 (batch 9)": {"arm": "nnunetv2", "batch_size": 9, "runs": 1,
                                                "iterations_per_second": 0.1, "overhead_ratio": 1.5,
                                                "fraction_of_peak": 0.675}},
                "pending": {}}
    (results / "cpu-2c" / "training.json").write_text(json.dumps(training))
    text = render(results, tmp_path / "images", tmp_path)
    assert "| 2 | 2.00 | 0.500 | 150.0 | 75.0 | 75 % |" in text
    assert "| 9 | 2.00 | 0.500 | 675.0 |" in text
    assert "| nnunetv2 (batch 9) | 1 | 0.100 | – | 1.50 | 68 % |" in text
    summary = text_summary(results / "cpu-2c")
    assert "training bare loop, batch 9" in summary and "overhead ratio 1.50" in summary
