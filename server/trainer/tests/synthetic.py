"""Synthetic training folders in the format Node writes (docs/engine.md), with a tiny network."""

from __future__ import annotations

import json
import os

import numpy as np

from nnsam_trainer.contract import checked

TINY_NETWORK = {
    "patchSize": [32, 32],
    "batchSize": 2,
    "numStages": 3,
    "featuresPerStage": [8, 16, 32],
    "kernelSizes": [[3, 3], [3, 3], [3, 3]],
    "strides": [[1, 1], [2, 2], [2, 2]],
    "nConvEncoder": [2, 2, 2],
    "nConvDecoder": [2, 2],
    "divisibleBy": [4, 4],
}


# as plan.ts writes it (SELF_TRAINING_DEFAULTS), switched on
SELF_TRAINING = {"enabled": True, "at": [0.5], "threshold": 0.8, "share": 0.5, "tta": True}
# as plan.ts writes it (SEMI_SUPERVISED_DEFAULTS), switched off
SEMI_SUPERVISED_OFF = {"enabled": False, "threshold": 0.9, "emaDecay": 0.99, "weight": 1.0, "rampFraction": 0.3,
                       "cutout": 0.4, "classBalanced": True, "minThreshold": 0.6, "maxUnlabelledSlices": 400}


def raw_plan(embedding: bool, stage: int = 1) -> dict:
    """The trainer's part of a plan as plan.ts writes it, less the keys the schema has defaults for (precision,
    selfTraining, network.inputSlices, inference.int8, ...): those the trainer fills in (contract.py)."""
    plan = {
        "version": 1,
        "network": dict(TINY_NETWORK),
        "embedding": None,
        "training": {"optimizer": "AdamW", "initialLr": 1e-3, "weightDecay": 3e-5, "momentum": 0.99,
                     "schedule": "poly-0.9", "oversampleForeground": 0.33,
                     "augmentation": {"pRotation": 0.2, "pScaling": 0.2, "scaling": [0.7, 1.4], "pMirror": 0.5,
                                      "intensity": "nnU-Net default (batchgeneratorsv2)"},
                     "validationSlices": 2, "semiSupervised": dict(SEMI_SUPERVISED_OFF)},
        "inference": {"tileStep": 0.5, "gaussianSigmaScale": 0.125, "mirrorAxes": [0, 1]},
    }
    if embedding:
        s = 2**stage
        plan["embedding"] = {"encoder": "test:0000", "channels": 8, "grid": [64, 64], "stage": stage,
                             "stride": [s, s], "rule": "test"}
    return plan


def make_plan(embedding: bool, stage: int = 1) -> dict:
    """raw_plan as the trainer holds it: checked, defaults filled in."""
    return checked(raw_plan(embedding, stage), "plan")


def synthetic_slice(rng: np.random.Generator, h: int = 40, w: int = 36):
    """A bright disk (class 1) and a dark square (class 2) on noise: easy to learn, not trivial to fake."""
    yy, xx = np.mgrid[0:h, 0:w]
    cy, cx, r = rng.uniform(10, h - 10), rng.uniform(10, w - 10), rng.uniform(4, 7)
    label = np.zeros((h, w), np.uint8)
    label[(yy - cy) ** 2 + (xx - cx) ** 2 < r**2] = 1
    sy, sx = int(rng.integers(2, h - 8)), int(rng.integers(2, w - 8))
    label[sy:sy + 6, sx:sx + 6][label[sy:sy + 6, sx:sx + 6] == 0] = 2
    image = rng.normal(0, 0.3, (h, w)).astype(np.float32)
    image[label == 1] += 2.0
    image[label == 2] -= 2.0
    return image, label


def write_folder(folder: str, n_train: int = 6, n_val: int = 2, embedding: bool = False, seed: int = 0,
                 stage: int = 1, n_unlabelled: int = 0, semi_supervised: dict | None = None,
                 self_training: dict | None = None, input_slices: int = 1) -> str:
    """n_unlabelled slices are written without label files (split "unlabelled"), as Node writes them;
    semi_supervised and self_training are the plan's training.semiSupervised / selfTraining blocks;
    input_slices > 1 writes 2.5D images [K, H, W] (the neighbours: the slice with its own noise)."""
    rng = np.random.default_rng(seed)
    os.makedirs(os.path.join(folder, "slices"), exist_ok=True)
    plan = raw_plan(embedding, stage)
    if input_slices != 1:
        plan["network"]["inputSlices"] = input_slices
    if semi_supervised is not None:
        plan["training"]["semiSupervised"] = semi_supervised
    if self_training is not None:
        plan["training"]["selfTraining"] = self_training
    entries = []
    for n in range(n_train + n_val + n_unlabelled):
        image, label = synthetic_slice(rng)
        sid = f"s{n}"
        split = "train" if n < n_train else "val" if n < n_train + n_val else "unlabelled"
        if input_slices > 1:
            stack = np.repeat(image[None], input_slices, axis=0)
            stack += rng.normal(0, 0.3, stack.shape).astype(np.float32)
            stack[input_slices // 2] = image
            np.save(os.path.join(folder, "slices", f"{sid}_image.npy"), stack)
        else:
            np.save(os.path.join(folder, "slices", f"{sid}_image.npy"), image)
        entry = {"id": sid, "split": split, "shape": list(image.shape), "image": f"slices/{sid}_image.npy"}
        if split != "unlabelled":
            np.save(os.path.join(folder, "slices", f"{sid}_label.npy"), label)
            entry["label"] = f"slices/{sid}_label.npy"
        if embedding:
            # a smooth stand-in for a SAM embedding: the label map, low-passed to 64x64, plus noise channels
            from scipy.ndimage import zoom
            emb = rng.normal(0, 0.1, (8, 64, 64)).astype(np.float32)
            emb[0] += zoom((label == 1).astype(np.float32), (64 / image.shape[0], 64 / image.shape[1]), order=1)
            np.save(os.path.join(folder, "slices", f"{sid}_embedding.npy"), emb.astype(np.float16))
            entry["embedding"] = f"slices/{sid}_embedding.npy"
        entries.append(entry)
    with open(os.path.join(folder, "plan.json"), "w") as f:
        json.dump(plan, f)
    meta = {"format": 1, "numClasses": 3, "classes": {"1": "disk", "2": "square"}, "ignoreValue": 255,
            "embedding": {"channels": 8, "grid": [64, 64]} if embedding else None, "slices": entries}
    with open(os.path.join(folder, "dataset.json"), "w") as f:
        json.dump(meta, f)
    return folder
