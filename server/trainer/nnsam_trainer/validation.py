"""Validation on the held-out labelled slices: Dice per class over whole slices, and the record a training run
keeps of it (every Dice measured, the best one with its weights, and whether patience ran out)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import torch

from .augmentation import whole_slice_inputs
from .data import Dataset
from .precision import Precision


def dice_per_class(pred: torch.Tensor, gt: torch.Tensor, num_classes: int, ignore: int) -> dict[int, tuple[int, int]]:
    """(2*intersection, |pred|+|gt|) per foreground class, ignoring pixels with the ignore value."""
    valid = gt != ignore
    out = {}
    for c in range(1, num_classes):
        p = (pred == c) & valid
        g = gt == c
        out[c] = (int(2 * (p & g).sum()), int(p.sum() + g.sum()))
    return out


def validate(net, ds: Dataset, device: torch.device, precision: Precision) -> tuple[float, dict[str, float]]:
    """(mean Dice, Dice per class present) over the validation slices, each segmented whole as Node does."""
    plan = ds.plan
    divisible = tuple(plan["network"]["divisibleBy"])
    patch = tuple(plan["network"]["patchSize"])
    emb_stride = tuple(plan["embedding"]["stride"]) if plan.get("embedding") else None
    totals = {c: [0, 0] for c in range(1, ds.num_classes)}
    net.eval()
    net.deep_supervision = False
    with torch.no_grad(), precision.autocast():
        for s in ds.val:
            image, emb = whole_slice_inputs(s, divisible, emb_stride, patch)
            logits = net(image.to(device), emb.to(device) if emb is not None else None)
            h, w = s.hw
            pred = logits[0, :, :h, :w].argmax(0).cpu()
            for c, (num, den) in dice_per_class(pred, s.label.long(), ds.num_classes, ds.ignore_value).items():
                totals[c][0] += num
                totals[c][1] += den
    net.deep_supervision = True
    net.train()
    per_class = {str(c): (num / den) for c, (num, den) in totals.items() if den > 0}
    mean = float(np.mean(list(per_class.values()))) if per_class else float("nan")
    return mean, per_class


@dataclass
class ValidationRecord:
    """Every validation of a run, and the best: its Dice, iteration, budget fraction, per-class Dice and the
    weights (a CPU copy, exported at the end instead of the last weights)."""

    dice: float = -1.0
    iteration: int = 0
    fraction: float = 0.0
    per_class: dict[str, float] = field(default_factory=dict)
    state: dict[str, torch.Tensor] | None = None
    history: list[tuple[int, float]] = field(default_factory=list)

    def keep_if_better(self, iteration: int, dice: float, per_class: dict[str, float], fraction: float,
                       net: torch.nn.Module) -> bool:
        """A periodic validation: a strictly better Dice becomes the best, with a copy of the weights."""
        self.history.append((iteration, dice))
        if not dice > self.dice:
            return False
        self.dice, self.iteration, self.per_class, self.fraction = dice, iteration, per_class, fraction
        self.state = copy.deepcopy({k: v.detach().cpu() for k, v in net.state_dict().items()})
        return True

    def keep_final(self, iteration: int, dice: float, per_class: dict[str, float]) -> None:
        """The validation after the last iteration: at least as good as the best means the last weights (the
        network as it is) are exported, so no copy is kept and the best's budget fraction stays."""
        self.history.append((iteration, dice))
        if dice >= self.dice:
            self.dice, self.iteration, self.per_class, self.state = dice, iteration, per_class, None

    def validated_at(self, iteration: int) -> bool:
        return bool(self.history) and self.history[-1][0] == iteration

    def patience_ran_out(self, fraction: float, patience: float) -> bool:
        """Early stop: in the second half of the budget, a Dice above 0 not improved for `patience` of it."""
        return 0.5 <= fraction < 1.0 and self.dice > 0 and fraction - self.fraction >= patience

    def summary(self, validated: bool) -> dict:
        """metrics.json's "validation" block (None for the best when the run had no validation slices)."""
        return {
            "bestDice": self.dice if validated else None,
            "bestIteration": self.iteration if validated else None,
            "dicePerClass": self.per_class if validated else None,
            "history": [{"iteration": i, "dice": d} for i, d in self.history],
        }
