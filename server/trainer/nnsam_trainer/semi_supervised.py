"""Learning from the unlabelled slices of the user's series: a FixMatch-style mean teacher.

Per iteration a batch of unlabelled slices is cropped and spatially augmented once (the weak view). The
teacher, an exponential moving average of the student's weights, segments the weak view; its confident
pixels (max softmax >= threshold) become pseudo-labels, the rest is ignored. The student sees the same crop
with nnU-Net's intensity augmentation and a cut-out rectangle (the strong view) and learns the pseudo-labels
with cross-entropy, weighted by a ramp that starts near 0 (the teacher knows nothing at first).

Why this scheme: the user labels a few slices that show the structure, and the model never sees the other
90 % of the series, where most of its false positives land (docs/engine.md). The teacher's confident
background on those slices is supervision that costs the user nothing. Unlabelled pixels are never
trained as background: only the teacher's confident pixels carry a target, and labelled pixels never come
from here (the supervised batch is drawn from the labelled slices only).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .augmentation import Sampler, build_intensity_transforms
from .precision import Precision


@dataclass
class SemiSupervisedParams:
    """Mean-teacher settings; a training takes them from the plan (params_from_plan), the defaults serve tests."""

    threshold: float = 0.9
    ema_decay: float = 0.99
    weight: float = 1.0
    #: fraction of the budget over which the unsupervised weight ramps up (sigmoid ramp, as mean teacher)
    ramp: float = 0.3
    #: side of the cut-out square, as a fraction of the patch side (0 = none)
    cutout: float = 0.4
    #: per-class thresholds from each class's learning status, and a loss that weighs classes equally (plans
    #: from before it lack the key: the schema's default, false)
    class_balanced: bool = False
    #: the lowest per-class threshold a class that is never confident can fall to
    min_threshold: float = 0.6


def params_from_plan(training_plan: dict) -> SemiSupervisedParams | None:
    """The "semiSupervised" block of a checked plan's "training" (contract.py), or None when disabled."""
    ssl = training_plan["semiSupervised"]
    if not ssl["enabled"]:
        return None
    return SemiSupervisedParams(threshold=float(ssl["threshold"]), ema_decay=float(ssl["emaDecay"]),
                                weight=float(ssl["weight"]), ramp=float(ssl["rampFraction"]),
                                cutout=float(ssl["cutout"]), class_balanced=bool(ssl["classBalanced"]),
                                min_threshold=float(ssl["minThreshold"]))


def ramp_weight(params: SemiSupervisedParams, fraction: float) -> float:
    """Laine & Aila's sigmoid ramp-up exp(-5 (1 - t)^2) over the first `ramp` of the budget."""
    if params.ramp <= 0:
        return params.weight
    t = min(1.0, fraction / params.ramp)
    return params.weight * math.exp(-5.0 * (1.0 - t) ** 2)


def make_teacher(student: torch.nn.Module) -> torch.nn.Module:
    teacher = copy.deepcopy(student)
    for p in teacher.parameters():
        p.requires_grad_(False)
    teacher.deep_supervision = False
    return teacher


@torch.no_grad()
def update_teacher(teacher: torch.nn.Module, student: torch.nn.Module, decay: float) -> None:
    for t, s in zip(teacher.parameters(), student.parameters()):
        t.mul_(decay).add_(s.detach(), alpha=1 - decay)


@torch.no_grad()
def pseudo_labels(teacher_logits: torch.Tensor, threshold: float | torch.Tensor, ignore: int,
                  valid: torch.Tensor | None = None) -> torch.Tensor:
    """argmax of the teacher's softmax where its confidence reaches the threshold, else `ignore` ([B, H, W]).
    `threshold` is one number or one per class ([C], indexed by the argmax). `valid` ([B, H, W] bool) marks
    pixels inside the slice; pixels outside are ignored too."""
    prob = torch.softmax(teacher_logits.float(), dim=1)
    conf, label = prob.max(dim=1)
    limit = threshold[label] if isinstance(threshold, torch.Tensor) else threshold
    label[conf < limit] = ignore
    if valid is not None:
        label[~valid] = ignore
    return label


class ClassThresholds:
    """Per-class confidence thresholds from each class's learning status, as FlexMatch (Zhang et al., 2021)
    does for classification, with status measured so that pixel frequency does not count: per class, the
    share of the pixels the teacher assigns to it (argmax) that it is confident about, averaged over
    iterations. The best-learnt class keeps `threshold`; a class at relative status b gets
    threshold * b / (2 - b), never below `floor`. Why: with one threshold the class the teacher was least
    sure of never became a pseudo-label while the background around it did, and it vanished (ACDC, RV Dice
    0.000 in all 20 validation volumes, docs/benchmarks.md)."""

    def __init__(self, num_classes: int, threshold: float, floor: float, momentum: float = 0.9):
        self.threshold, self.floor, self.momentum = threshold, floor, momentum
        self.status = torch.full((num_classes,), float("nan"))

    @torch.no_grad()
    def update(self, teacher_logits: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        prob = torch.softmax(teacher_logits.float(), dim=1)
        conf, label = prob.max(dim=1)
        if valid is not None:
            conf, label = conf[valid], label[valid]
        for c in range(self.status.numel()):
            mine = label == c
            if mine.any():
                share = float((conf[mine] >= self.threshold).float().mean())
                old = float(self.status[c])
                self.status[c] = share if np.isnan(old) else self.momentum * old + (1 - self.momentum) * share
        return self.thresholds()

    def thresholds(self) -> torch.Tensor:
        status = torch.nan_to_num(self.status, nan=0.0)
        best = float(status.max())
        if best <= 0:
            return torch.full_like(status, self.threshold)
        b = status / best
        return (self.threshold * b / (2 - b)).clamp(min=self.floor)


def strong_view(images: torch.Tensor, rng: np.random.Generator, cutout: float, transforms=None) -> torch.Tensor:
    """nnU-Net's intensity augmentation and one cut-out square (zeros) per sample, on a copy of images
    [B, 1, H, W]. The cut-out hides context, so the student must segment from what is left (FixMatch, UniMatch)."""
    transforms = transforms or build_intensity_transforms()
    out = []
    for img in images:
        x = transforms(image=img.clone())["image"]
        if cutout > 0:
            h, w = x.shape[-2:]
            ch, cw = max(1, int(h * cutout)), max(1, int(w * cutout))
            y0, x0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
            x[..., y0:y0 + ch, x0:x0 + cw] = 0
        out.append(x)
    return torch.stack(out)


def unsupervised_loss(student_logits: torch.Tensor, targets: torch.Tensor, ignore: int,
                      class_balanced: bool = False) -> torch.Tensor:
    """Cross-entropy over the pixels that carry a pseudo-label; 0 (with a gradient path) when none does.
    Class-balanced: the mean over the classes present of each class's mean, so the background's many
    confident pixels do not outweigh a small structure."""
    pixel = F.cross_entropy(student_logits.float(), targets, ignore_index=ignore, reduction="none")
    carried = targets != ignore
    if not class_balanced:
        return pixel.sum() / carried.sum().clamp(min=1)
    means = [pixel[targets == c].mean() for c in torch.unique(targets[carried]).tolist()]
    return torch.stack(means).mean() if means else pixel.sum() * 0.0


@dataclass
class UnlabelledBatch:
    """One iteration's unlabelled part of the student's batch: the strong view (on the device), its embedding,
    the teacher's pseudo-labels and the weight of their loss at this point of the budget."""

    image: torch.Tensor
    embedding: torch.Tensor | None
    targets: torch.Tensor
    weight: float


class MeanTeacher:
    """The mean teacher of one training run. Built once (not per iteration): the teacher copies the student as
    it starts, the strong view's intensity transforms and the per-class thresholds (or None) persist."""

    def __init__(self, student: torch.nn.Module, params: SemiSupervisedParams, num_classes: int, ignore: int,
                 neighbours: bool, rng: np.random.Generator, make_sampler: Callable[[], Sampler]):
        self.params, self.ignore, self.rng = params, ignore, rng
        self.teacher = make_teacher(student)
        self.thresholds = (ClassThresholds(num_classes, params.threshold, params.min_threshold)
                           if params.class_balanced else None)
        self.transforms = build_intensity_transforms(neighbours)
        # weak view: crops and spatial augmentation only; the strong view adds intensity and cut-out
        self.sampler = make_sampler()

    def batch(self, device: torch.device, precision: Precision, fraction: float) -> UnlabelledBatch:
        """Draws the weak view, pseudo-labels it with the teacher and makes the student's strong view."""
        ub = self.sampler.next()
        image = ub.image.to(device, non_blocking=True)
        emb = ub.embedding.to(device, non_blocking=True) if ub.embedding is not None else None
        with torch.no_grad(), precision.autocast():
            t_logits = self.teacher(image, emb)
        inside = torch.stack(self.sampler.last_inside).to(device)
        limit = self.thresholds.update(t_logits, inside).to(device) if self.thresholds else self.params.threshold
        targets = pseudo_labels(t_logits, limit, self.ignore, inside)
        weight = ramp_weight(self.params, fraction)
        strong = strong_view(image.cpu(), self.rng, self.params.cutout, self.transforms).to(device)
        return UnlabelledBatch(strong, emb, targets, weight)

    def loss(self, student_logits: torch.Tensor, batch: UnlabelledBatch) -> torch.Tensor:
        """The weighted pseudo-label loss on the student's outputs for the unlabelled samples."""
        return batch.weight * unsupervised_loss(student_logits, batch.targets, self.ignore,
                                                self.params.class_balanced)

    def update(self, student: torch.nn.Module) -> None:
        """After the student's optimizer step: the teacher moves towards it."""
        update_teacher(self.teacher, student, self.params.ema_decay)
