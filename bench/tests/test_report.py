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


def stats(median, runs=4):
    return {"median": median, "min": median * 0.9, "max": median * 1.1, "runs": runs}


def test_training_tables_put_our_trainer_next_to_the_bare_loop(tmp_path, results):
    from nnsam_bench.report import text_summary

    loop = {"batch_size": 2, "patch_size": [256, 224], "precision": "fp32", "embedding": False,
            "flops_per_step": 150e9, "step": stats(2.0), "cpu": stats(3.6), "iterations_per_second": 0.5,
            "achieved_flops_per_second": 75e9, "fraction_of_peak": 0.75, "fraction_of_peak_cpu": 0.5}
    trainer = {"encoder": "none", "batch_size": 2, "patch_size": [256, 224], "iterations": 8, "step": stats(3.0),
               "overhead_ratio": 1.5, "fraction_of_peak": 0.5, "cpu_seconds_per_iteration": 4.5,
               "overhead_ratio_cpu": 1.25}
    nnunet = {"batch_size": 2, "patch_size": [256, 224], "budget_minutes": 1.0, "iterations": 20,
              "iterations_per_second": 0.25, "train_step_iterations_per_second": 0.3, "step": stats(4.0),
              "overhead_ratio": 2.0, "prepare_seconds": 12.0}
    training = {"kind": "training", "format": 2, "date": "2026-01-02T03:04:05+00:00", "machine": MACHINE,
                "threads": 2, "device": "cpu", "manifest": "n4-s0", "iterations": 8,
                "peak": {"dtype": "float32", "size": 2048, "flops_per_second": 100e9,
                         "flops_per_cpu_second": 60e9}, "load_average": 1.0,
                "bare_loop": {"nnsam-none": loop}, "trainer": {"nnsam-none": trainer}, "nnunetv2": nnunet,
                "accuracy_arms": {"nnunetv2, 4 slices, 5 min (batch 2)": {"arm": "nnunetv2", "batch_size": 2,
                                                                           "iterations_per_second": 0.1,
                                                                           "fraction_of_peak": 0.15}}}
    (results / "cpu-2c" / "training.json").write_text(json.dumps(training))
    text = render(results, tmp_path / "images", tmp_path)
    assert ("| bare PyTorch loop, nnsam-none network | 2 | [256, 224] | 2.00 (1.80–2.20), n=4 | 0.500 | 1 | 3.60 | 1 | "
            "150.0 | 75 % | 50 % |") \
        in text
    assert ("| our trainer, nnsam-none | 2 | [256, 224] | 3.00 (2.70–3.30), n=4 | 0.333 | 1.50 | 4.50 | 1.25 | 150.0 | "
            "50 % | – |") in text
    assert "| nnU-Net v2 2d (1-min budget, 20 iterations) | 2 | [256, 224] | 4.00 (3.60–4.40), n=4 | 0.250 | 2.00 | – |" \
        in text
    assert "| nnunetv2, 4 slices, 5 min (batch 2) | 0.100 | – | 15.0 |" in text
    summary = text_summary(results / "cpu-2c")
    assert "training our trainer (nnsam-none)" in summary and "overhead ratio 1.50 (wall), 1.25 (CPU time)" in summary


def test_e2e_table_and_plot(tmp_path, results):
    from nnsam_bench.report import text_summary

    stages = {"fetch": 1.0, "decode": 0.5, "preprocess": 2.0, "embed": 0.0, "infer": 6.0, "postprocess": 0.3,
              "seg_write": 0.1, "stow": 0.1}
    run = {"seconds": 10.0, "stages": stages, "modelLoadSeconds": 0.4, "segBytes": 2**20, "segFrames": 100,
           "instancesFetched": 100, "bytesFetched": 50 * 2**20, "peakRssMiB": 900.0}
    e2e = {"kind": "e2e", "status": "ok", "date": "2026-01-02T03:04:05+00:00", "machine": MACHINE, "threads": 2,
           "series": {"size": 512, "slices": 100, "bytes": 50 * 2**20, "modality": "CT",
                      "transferSyntax": "Explicit VR Little Endian"},
           "model": {"dir": "m", "encoder": "none", "iterations": 20, "labelledSlices": [30, 50, 70],
                     "trainSeconds": 60.0},
           "tta": False, "runs": [run], "dice": {"Liver": 0.9, "Spleen": None}, "stagesMedian": stages,
           "secondsMedian": 10.0, "peakRssMiB": 900.0, "load_average": 2.0, "load_average_after": 3.0,
           "command": "npm run bench -- e2e"}
    (results / "cpu-2c" / "e2e.json").write_text(json.dumps(e2e))
    images = tmp_path / "images"
    text = render(results, images, tmp_path)
    assert "#### End to end (DICOMweb to SEG stored, test-time augmentation off): 100 slices of 512 x 512" in text
    assert "| infer | 6.00 | 60 % | 60.0 | 18 |" in text
    assert "| **total** | **10.0** | | 100 | **30** |" in text
    assert "Peak RSS of the segment process (VmHWM): 900 MiB" in text
    assert (images / "bench-cpu-2c-notta-100x512-e2e-stages.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "e2e 100 x 512² (none)" in text_summary(results / "cpu-2c")
    # an earlier engine's run (a git worktree) says so and gets its own plot beside today's
    (results / "cpu-2c" / "e2e-before.json").write_text(json.dumps(
        {**e2e, "engine": {"commit": "47e101c", "note": "main before issue 16"}}))
    text = render(results, images, tmp_path)
    assert ("#### End to end (DICOMweb to SEG stored, test-time augmentation off, the engine of 47e101c (main before "
            "issue 16)): 100 slices") in text
    assert (images / "bench-cpu-2c-notta-100x512-47e101c-e2e-stages.png").is_file()


def test_e2e_names_its_inference_options_and_layout(tmp_path, results):
    stages = {k: 1.0 for k in ("fetch", "decode", "preprocess", "embed", "infer", "postprocess", "seg_write", "stow")}
    inference = {"region": [64, 0, 448, 512], "keep": [80, 20, 430, 490], "canvas": [384, 512], "tile": [384, 512],
                 "starts": [[0, 0]], "wholeSlice": True, "batch": 5, "device": "cpu", "precision": "fp32", "tta": False,
                 "inputsPerSlice": 1, "slicesRun": 290, "slicesSkipped": 10}
    run = {"seconds": 8.0, "stages": stages, "modelLoadSeconds": 0.4, "segBytes": 2**20, "segFrames": 100,
           "instancesFetched": 300, "bytesFetched": 50 * 2**20, "peakRssMiB": 900.0, "inference": inference}
    e2e = {"kind": "e2e", "status": "ok", "date": "2026-01-02T03:04:05+00:00", "machine": MACHINE, "threads": 2,
           "series": {"size": 512, "slices": 300, "bytes": 50 * 2**20, "modality": "CT",
                      "transferSyntax": "Explicit VR Little Endian"},
           "model": {"dir": "m", "encoder": "none", "iterations": 20, "labelledSlices": [1], "trainSeconds": None},
           "tta": False, "options": {"tta": "auto", "crop": False, "precision": "int8"}, "runs": [run],
           "dice": {"Liver": 0.9}, "stagesMedian": stages, "secondsMedian": 8.0, "peakRssMiB": 900.0}
    (results / "cpu-2c" / "e2e-nocrop-int8.json").write_text(json.dumps(e2e))
    images = tmp_path / "images"
    text = render(results, images, tmp_path)
    assert ("Network: each slice whole as one 384 x 512 input, 5 per run; region rows 64–448, columns 0–512 of the "
            "preprocessed slice; 290 slices run, 10 without body skipped; fp32") in text
    assert (images / "bench-cpu-2c-nocrop-int8-e2e-stages.png").is_file()


def e2e_with_compared_run(key: str, *, inference: dict, other: dict, other_dice: float, labels_changed: float,
                          slices: int = 300, encoder: str = "/x/mobilesam-random-s0.onnx", dice: float = 0.9) -> dict:
    """An e2e result of one 8-second run over `slices` slices of a 512 x 512 CT, and under `key` (everySlice,
    otherSessions, float32) the run e2e.ts compares it with: `other` overrides that run's seconds, stages,
    cpuSeconds and inference; `inference` the first run's."""
    stages = dict.fromkeys(("fetch", "decode", "preprocess", "embed", "infer", "postprocess", "seg_write", "stow"), 1.0)
    first = {"region": [0, 0, 512, 512], "keep": [0, 0, 512, 512], "canvas": [512, 512], "tile": [320, 256],
             "starts": [[0, 0], [0, 256]], "wholeSlice": False, "batch": 8, "device": "cpu", "tta": False,
             "inputsPerSlice": 2, "slicesRun": slices, "slicesSkipped": 0, **inference}
    run = {"seconds": 8.0, "stages": stages, "modelLoadSeconds": 0.4, "segBytes": 2**20, "segFrames": 100,
           "instancesFetched": slices, "bytesFetched": slices // 6 * 2**20, "peakRssMiB": 900.0, "inference": first}
    compared = {**run, **other, "stages": {**stages, **other.get("stages", {})},
                "inference": {**first, **other.get("inference", {})}}
    return {"kind": "e2e", "status": "ok", "date": "2026-01-02T03:04:05+00:00", "machine": MACHINE, "threads": 2,
            "series": {"size": 512, "slices": slices, "bytes": slices // 6 * 2**20, "modality": "CT",
                       "transferSyntax": "Explicit VR Little Endian"},
            "model": {"dir": "m", "encoder": encoder, "iterations": 200, "labelledSlices": [1], "trainSeconds": None},
            "tta": False, "options": {"tta": "auto"}, "runs": [run], "dice": {"Liver": dice},
            key: {"run": compared, "dice": {"Liver": other_dice}, "labelsChanged": labels_changed},
            "stagesMedian": stages, "secondsMedian": 8.0, "peakRssMiB": 900.0}


def test_e2e_with_an_encoder_stride_puts_the_every_slice_run_beside_it(tmp_path, results):
    e2e = e2e_with_compared_run("everySlice", inference={"precision": "fp32", "embeddingStride": 3},
                                other={"seconds": 20.0, "stages": {"embed": 13.0}, "cpuSeconds": 38.0,
                                       "inference": {"embeddingStride": 1}},
                                other_dice=0.91, labels_changed=0.00123)
    (results / "cpu-2c" / "e2e-sam.json").write_text(json.dumps(e2e))
    text = render(results, tmp_path / "images", tmp_path)
    assert "(cpu). SAM encoder on every 3rd slice, its session and the network's at once." in text
    assert ("The same model with the encoder on every slice, run right after: **20.0 s** (embed 13.0 s, 38 CPU "
            "seconds, peak RSS 900 MiB); labels differ on 0.123 % of voxels; Dice against the truth there: Liver "
            "0.910 (here: Liver 0.900).") in text


def test_e2e_puts_the_sessions_the_other_way_beside_it(tmp_path, results):
    e2e = e2e_with_compared_run("otherSessions", slices=60,
                                inference={"precision": "fp32", "embeddingStride": 3, "overlapSessions": False},
                                other={"seconds": 10.0, "stages": {"infer": 3.0}, "cpuSeconds": 19.0,
                                       "inference": {"overlapSessions": True}},
                                other_dice=0.9, labels_changed=0.0)
    (results / "cpu-2c" / "e2e-sam-60x512.json").write_text(json.dumps(e2e))
    text = render(results, tmp_path / "images", tmp_path)
    assert "(cpu). SAM encoder on every 3rd slice, its session and the network's in turns." in text
    assert ("The same model with the encoder's session and the network's at once, run right after: **10.0 s** (embed 1.0 s, "
            "infer 3.0 s, 19 CPU seconds, peak RSS 900 MiB): 1.25 x this run's time; labels differ on 0.000 % of "
            "voxels.") in text


def test_e2e_puts_the_float32_run_beside_the_int8_default(tmp_path, results):
    e2e = e2e_with_compared_run("float32", encoder="none", dice=0.6,
                                inference={"precision": "int8", "embeddingStride": 0, "overlapSessions": False},
                                other={"seconds": 14.0, "stages": {"infer": 7.0}, "cpuSeconds": 27.0,
                                       "inference": {"precision": "fp32"}},
                                other_dice=0.59, labels_changed=0.0042)
    (results / "cpu-2c" / "e2e.json").write_text(json.dumps(e2e))
    text = render(results, tmp_path / "images", tmp_path)
    assert "; int8; 2 network input(s) per slice (cpu)." in text
    assert ("The same model's float32 network, run right after: **14.0 s** (infer 7.0 s, 27 CPU seconds, peak RSS "
            "900 MiB): 1.75 x this run's time; labels differ on 0.420 % of voxels (the precision rule: under 0.5 %); "
            "Dice against the truth there: Liver 0.590 (here: Liver 0.600).") in text


def test_roofline_and_variants_sections(tmp_path, results):
    from nnsam_bench.report import text_summary

    timing = {"seconds": [0.2, 0.3], "median": 0.25, "cpuSeconds": 0.5}
    roofline = {"kind": "roofline", "date": "2026-01-02T03:04:05+00:00", "machine": MACHINE, "threads": 2,
                "version": "1.30.0", "runs": 2, "model": {"dir": "model-512x300-none-it20-int8"},
                "plan": {"features": [16, 32]}, "slice": [512, 512], "input": [512, 512], "flops": 50e9,
                "convs": [{"name": "large", "shape": [256, 256], "flops": 4.8e9, "timing": timing, "gflops": 100.0}],
                "limit": {"name": "large", "gflops": 100.0},
                "network": {"fp32": {"timing": timing, "gflops": 50.0, "fractionOfLimit": 0.5},
                            "int8": {"timing": timing, "gflops": 70.0, "fractionOfLimit": 0.7}}}
    (results / "cpu-2c" / "roofline.json").write_text(json.dumps(roofline))
    dice = {k: {"dice": {"mean": v}} for k, v in (("mean", 0.8), ("RV", 0.7), ("MYO", 0.8), ("LV", 0.9))}
    variants = {"kind": "variants", "date": "2026-01-02T03:04:05+00:00", "machine": MACHINE, "threads": 2,
                "val_cases": 20, "model": {"dir": "m", "label": "m", "trainedHere": True, "slices": 20, "seed": 0,
                                           "budget_minutes": 10.0},
                "variants": {"cpu": {"what": "the CPU default", "flags": ["--no-tta"], "status": "ok",
                                     "seconds": 60.0, "summary": dice},
                             "int8": {"what": "int8", "flags": ["--no-tta", "--precision", "int8"],
                                      "status": "failed", "message": "x"}},
                "comparisons": [{"what": "int8 against float32", "variant": "int8", "reference": "cpu",
                                 "diceDelta": {"mean": -0.001, "RV": None}, "changedVoxels": 0.002,
                                 "secondsRatio": 0.8, "meetsRule": True}],
                "rule": {"dice": 0.005, "voxels": 0.005}}
    (results / "cpu-2c" / "variants").mkdir()
    (results / "cpu-2c" / "variants" / "m.json").write_text(json.dumps(variants))
    text = render(results, tmp_path / "images", tmp_path)
    assert "| int8 (opt-in) | 0.250 | 70.0 | 70 % | 0.500 |" in text
    assert "Limit: the fastest probe, 100.0 GFLOP/s (large)." in text
    assert "| cpu: the CPU default | `--no-tta` | 0.800 | 0.700 | 0.800 | 0.900 | 60 |" in text
    assert "| int8 against float32 (int8 vs cpu) (rule met) | -0.0010 | – | – | – | 0.20 % | 0.80 |" in text
    summary = text_summary(results / "cpu-2c")
    assert "roofline network fp32" in summary and "50 % of 100.0 GFLOP/s" in summary
    assert "variants int8 vs cpu" in summary
