"""Runs inside a child process whose environment points nnU-Net at one run's own folders (nnunet.py sets
nnUNet_raw / nnUNet_preprocessed / nnUNet_results / nnUNet_extTrainer before nnunetv2 is imported).

    python -m nnsam_bench.arms.nnunet_worker --manifest M --out DIR --images-list FILE [...]

Steps: raw dataset from the manifest, nnU-Net's fingerprint + plan + 2d preprocessing, training with
nnUNetTrainerBudget (fold "all": every labelled case trains), prediction of the listed images with
nnU-Net's own predictor (default settings: Gaussian sliding window, step 0.5, mirroring), then the
snapshots without mirroring (for the validation curve). Writes DIR/training_log.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

TRAINER = "nnUNetTrainerBudget"
CONFIGURATION = "2d"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="nnunet_worker")
    p.add_argument("--manifest", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--images-list", required=True, type=Path, help="text file: one image path per line")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--train-only", action="store_true", help="stop after training (speed benchmark: no prediction)")
    args = p.parse_args(argv)

    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)

    from nnunetv2.experiment_planning.plan_and_preprocess_api import (
        extract_fingerprints,
        plan_experiments,
        preprocess,
    )
    from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor
    from nnunetv2.utilities.label_handling.label_handling import determine_num_input_channels
    from nnunetv2.utilities.plans_handling.plans_handler import PlansManager

    from ..fewshot import read_manifest
    from .nnunet_convert import DATASET_ID, DATASET_NAME, manifest_to_nnunet_raw
    from .nnunet_ext.nnunet_budget_trainer import nnUNetTrainerBudget

    out = args.out
    timings: dict[str, float] = {}
    manifest = read_manifest(args.manifest)
    n_proc = int(os.environ.get("nnUNet_def_n_proc", "1"))

    t = time.perf_counter()
    manifest_to_nnunet_raw(manifest, Path(os.environ["nnUNet_raw"]))
    extract_fingerprints([DATASET_ID], num_processes=n_proc, check_dataset_integrity=True)
    plan_experiments([DATASET_ID])
    preprocess([DATASET_ID], configurations=(CONFIGURATION,), num_processes=(n_proc,))
    timings["prepare_s"] = time.perf_counter() - t

    t = time.perf_counter()
    # The trainer is built here rather than looked up by name: nnU-Net's lookup imports every trainer
    # module it ships, and its Primus trainers need timm, which this environment leaves out on purpose.
    preprocessed = Path(os.environ["nnUNet_preprocessed"]) / DATASET_NAME
    plans = json.loads((preprocessed / "nnUNetPlans.json").read_text())
    dataset_json = json.loads((preprocessed / "dataset.json").read_text())
    trainer = nnUNetTrainerBudget(dict(plans, continue_training=False), CONFIGURATION, "all", dataset_json, device)
    trainer.run_training()
    timings["train_total_s"] = time.perf_counter() - t
    model_dir = Path(trainer.output_folder_base)

    curve = [json.loads(line) for line in Path(os.environ["NNSAM_BENCH_CURVE"]).read_text().splitlines()]
    end = next(e for e in reversed(curve) if e.get("event") == "end")
    if args.train_only:
        plans_2d = json.loads((model_dir / "plans.json").read_text())["configurations"][CONFIGURATION]
        log = {"arm": "nnunetv2", "trainer": TRAINER, "configuration": CONFIGURATION,
               "plans": {k: plans_2d.get(k) for k in ("batch_size", "patch_size", "spacing")},
               "iterations": end["iterations"], "train_seconds": end["seconds"],
               "train_step_seconds": end["train_step_s"], "epochs": end["epochs"], "timings": timings,
               "curve": curve}
        (out / "training_log.json").write_text(json.dumps(log, indent=1) + "\n")
        return 0

    images = [line.strip() for line in args.images_list.read_text().splitlines() if line.strip()]

    def predict(checkpoint: str, dest: Path, mirroring: bool) -> float:
        started = time.perf_counter()
        predictor = nnUNetPredictor(
            tile_step_size=0.5,
            use_gaussian=True,
            use_mirroring=mirroring,
            perform_everything_on_device=device.type == "cuda",
            device=device,
            verbose=False,
            verbose_preprocessing=False,
            allow_tqdm=False,
        )
        saved = torch.load(model_dir / "fold_all" / checkpoint, map_location="cpu", weights_only=False)
        plans_manager = PlansManager(plans)
        config = plans_manager.get_configuration(CONFIGURATION)
        network = nnUNetTrainerBudget.build_network_architecture(
            plans_manager, config, determine_num_input_channels(plans_manager, config, dataset_json),
            plans_manager.get_label_manager(dataset_json).num_segmentation_heads, enable_deep_supervision=False)
        predictor.manual_initialization(network, plans_manager, config, [saved["network_weights"]], dataset_json,
                                        TRAINER, saved["inference_allowed_mirroring_axes"])
        dest.mkdir(parents=True, exist_ok=True)
        names = [str(dest / Path(i).name.removesuffix(".nii.gz")) for i in images]
        predictor.predict_from_files_sequential([[i] for i in images], names, save_probabilities=False,
                                                overwrite=True, folder_with_segs_from_prev_stage=None)
        return time.perf_counter() - started

    timings["predict_s"] = predict("checkpoint_final.pth", out / "predictions", mirroring=True)

    snapshots = []
    for event in [e for e in curve if e.get("event") == "snapshot"]:
        dest = out / "snapshots" / Path(event["checkpoint"]).stem
        predict(event["checkpoint"], dest, mirroring=False)
        snapshots.append({"seconds": event["seconds"], "iteration": event["iteration"], "predictions": str(dest)})
        (model_dir / "fold_all" / event["checkpoint"]).unlink()  # large; the predictions are what we keep
    final_dest = out / "snapshots" / "final"
    predict("checkpoint_final.pth", final_dest, mirroring=False)
    snapshots.append({"seconds": end["seconds"], "iteration": end["iterations"], "predictions": str(final_dest)})

    plans = json.loads((model_dir / "plans.json").read_text())["configurations"][CONFIGURATION]
    log = {
        "arm": "nnunetv2",
        "trainer": TRAINER,
        "configuration": CONFIGURATION,
        "model": str(model_dir),
        "plans": {k: plans.get(k) for k in ("batch_size", "patch_size", "spacing", "normalization_schemes")},
        "iterations": end["iterations"],
        "train_seconds": end["seconds"],
        "train_step_seconds": end["train_step_s"],
        "epochs": end["epochs"],
        "iterations_per_second": end["iterations"] / end["seconds"] if end["seconds"] else None,
        "timings": timings,
        "curve": curve,
        "snapshots": snapshots,
        "predictions": str(out / "predictions"),
    }
    (out / "training_log.json").write_text(json.dumps(log, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
