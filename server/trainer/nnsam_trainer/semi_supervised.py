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
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .augmentation import build_intensity_transforms


@dataclass
class SemiSupervisedParams:
    threshold: float = 0.9
    ema_decay: float = 0.99
    weight: float = 1.0
    #: fraction of the budget over which the unsupervised weight ramps up (sigmoid ramp, as mean teacher)
    ramp: float = 0.3
    #: side of the cut-out square, as a fraction of the patch side (0 = none)
    cutout: float = 0.4


def params_from_plan(training_plan: dict) -> SemiSupervisedParams | None:
    """The plan's "semiSupervised" block, or None when it is absent or disabled."""
    ssl = training_plan.get("semiSupervised")
    if not ssl or not ssl.get("enabled"):
        return None
    p = SemiSupervisedParams()
    p.threshold = float(ssl.get("threshold", p.threshold))
    p.ema_decay = float(ssl.get("emaDecay", p.ema_decay))
    p.weight = float(ssl.get("weight", p.weight))
    p.ramp = float(ssl.get("rampFraction", p.ramp))
    p.cutout = float(ssl.get("cutout", p.cutout))
    return p


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
def pseudo_labels(teacher_logits: torch.Tensor, threshold: float, ignore: int,
                  valid: torch.Tensor | None = None) -> torch.Tensor:
    """argmax of the teacher's softmax where its confidence reaches `threshold`, else `ignore` ([B, H, W]).
    `valid` ([B, H, W] bool) marks pixels inside the slice; pixels outside are ignored too."""
    prob = torch.softmax(teacher_logits.float(), dim=1)
    conf, label = prob.max(dim=1)
    label[conf < threshold] = ignore
    if valid is not None:
        label[~valid] = ignore
    return label


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


def unsupervised_loss(student_logits: torch.Tensor, targets: torch.Tensor, ignore: int) -> torch.Tensor:
    """Cross-entropy over the pixels that carry a pseudo-label; 0 (with a gradient path) when none does."""
    loss = F.cross_entropy(student_logits.float(), targets, ignore_index=ignore, reduction="sum")
    count = (targets != ignore).sum()
    return loss / count.clamp(min=1)
