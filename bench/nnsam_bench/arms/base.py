"""The arm interface: what every contender in the accuracy benchmark must do.

An arm gets a training manifest (fewshot.py), a wall-clock budget, a seed, the images to segment and a
private work folder. It trains on exactly the manifest's labelled slices and writes:
  - one predicted label volume per image, named like the image (<case>.nii.gz), on the image's grid;
  - a training log (dict) with at least "iterations" and "train_seconds", and where it has them
    "iterations_per_second", "curve" (JSON events: {"event": "iteration"|"epoch", "seconds", "loss",
    "mean_pseudo_dice"...}) and "snapshots" ([{"seconds", "iteration", "predictions": folder}]:
    predictions of intermediate models, which give the validation-Dice-over-time curve).
An arm that cannot run here (a command not built yet, no weights) returns status "pending" with a
message that says why, and the benchmark carries on with the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

Status = Literal["ok", "pending", "failed"]


@dataclass
class ArmRequest:
    manifest: Path
    budget_minutes: float
    seed: int
    images: list[Path]
    out_dir: Path
    threads: int
    #: evenly spaced intermediate models for the validation curve (1 = the final model only)
    snapshots: int = 1
    #: iterations per nnU-Net "epoch" (None: nnU-Net's 250); only the nnU-Net arm reads it
    iterations_per_epoch: int | None = None
    #: data-augmentation worker processes (None: the arm's default)
    augmentation_workers: int | None = None
    device: str = "cpu"


@dataclass
class ArmRun:
    arm: str
    status: Status
    message: str = ""
    predictions: Path | None = None
    log: dict = field(default_factory=dict)
    wall_seconds: float = 0.0


class Arm(Protocol):
    #: short id used in result files and tables, e.g. "nnunetv2", "nnsam-none", "nnsam-mobilesam"
    name: str
    #: one line for the report: what this arm is
    description: str

    def run(self, request: ArmRequest) -> ArmRun: ...
