"""Self-training on the unlabelled slices: at set points of the budget the network segments every
unlabelled slice of the training series once, and its confident pixels join training as pseudo-labels.

Why rounds instead of a teacher in every iteration (semi_supervised.py): on a CPU budget the mean teacher's
extra forward and doubled student batch halve the iterations (docs/benchmarks.md). A round costs one
inference pass over the unlabelled slices (with mirror test-time augmentation, which makes the
pseudo-labels better than any single pass), after which every iteration costs what a supervised one costs.

Unlabelled pixels are never trained as background by default: a pixel carries a pseudo-label only where the
network's averaged softmax reaches the threshold; everything else keeps the ignore value. Labelled slices
are never pseudo-labelled (they are not in the unlabelled split).

`SelfTrainingRounds` is what a training run holds: when the next round is due, running it, and the share of
each batch drawn from the pseudo-labelled slices.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .augmentation import Batch, Sampler, whole_slice_inputs
from .data import Dataset, Slice, index_classes
from .precision import Precision

ROUND_BUDGET_SHARE = 0.1  # the most of a wall-clock budget one self-training round may take


@dataclass
class SelfTrainingParams:
    """Pseudo-label rounds; a training takes them from the plan (params_from_plan), the defaults serve tests."""

    #: fractions of the budget at which the pseudo-labels are made (and remade)
    at: tuple[float, ...] = (0.5,)
    #: a pixel becomes a pseudo-label where the mean softmax of the mirrored passes reaches this
    threshold: float = 0.8
    #: share of each batch drawn from the pseudo-labelled slices once they exist
    share: float = 0.5
    #: mirror test-time augmentation over both axes while pseudo-labelling (4 passes)
    tta: bool = True
    #: a round stops after this many seconds (the caller gives a share of the budget); the slices are visited
    #: in a seeded random order, so a round cut short still spreads over every series
    max_seconds: float | None = None


def params_from_plan(training_plan: dict) -> SelfTrainingParams | None:
    """The "selfTraining" block of a checked plan's "training" (contract.py), or None when disabled."""
    st = training_plan["selfTraining"]
    if not st["enabled"]:
        return None
    return SelfTrainingParams(at=tuple(sorted(float(v) for v in st["at"])), threshold=float(st["threshold"]),
                              share=float(st["share"]), tta=bool(st["tta"]))


@torch.no_grad()
def mean_softmax(net, image: torch.Tensor, emb: torch.Tensor | None, tta: bool) -> torch.Tensor:
    """Softmax [1, C, H, W] of the network, averaged over the mirrored passes when `tta`."""
    flips = [(), (2,), (3,), (2, 3)] if tta else [()]
    total = None
    for dims in flips:
        x = image.flip(dims) if dims else image
        e = emb.flip(dims) if (dims and emb is not None) else emb
        prob = torch.softmax(net(x, e).float(), dim=1)
        prob = prob.flip(dims) if dims else prob
        total = prob if total is None else total + prob
    return total / len(flips)


@torch.no_grad()
def pseudo_label_slices(net, slices: list[Slice], plan: dict, num_classes: int, ignore: int,
                        params: SelfTrainingParams, device: torch.device,
                        rng: np.random.Generator | None = None) -> list[Slice]:
    """One pseudo-labelled copy of each unlabelled slice: argmax where the mean softmax >= threshold, else
    `ignore`. Slices with no confident pixel are left out, and so are those a time limit leaves unvisited."""
    divisible = tuple(plan["network"]["divisibleBy"])
    patch = tuple(plan["network"]["patchSize"])
    emb_stride = tuple(plan["embedding"]["stride"]) if plan.get("embedding") else None
    was_training, had_ds = net.training, net.deep_supervision
    net.eval()
    net.deep_supervision = False
    out: list[Slice] = []
    order = (rng or np.random.default_rng(0)).permutation(len(slices))
    started = time.perf_counter()
    try:
        for i in order:
            if params.max_seconds is not None and time.perf_counter() - started > params.max_seconds:
                break
            s = slices[int(i)]
            image, emb = whole_slice_inputs(s, divisible, emb_stride, patch)
            prob = mean_softmax(net, image.to(device), emb.to(device) if emb is not None else None, params.tta)
            h, w = s.hw
            conf, label = prob[0, :, :h, :w].max(dim=0)
            label[conf < params.threshold] = ignore
            if bool((label == ignore).all()):
                continue
            pseudo = Slice(s.id, s.image, label.to(torch.uint8).cpu(), s.embedding)
            index_classes(pseudo, num_classes)
            out.append(pseudo)
    finally:
        net.deep_supervision = had_ds
        net.train(was_training)
    return out


class SelfTrainingRounds:
    """The self-training rounds of one run. `make_sampler(slices, rng)` builds a sampler like the labelled one,
    so pseudo-labelled slices are drawn and augmented as labelled slices are."""

    def __init__(self, params: SelfTrainingParams, budget_seconds: float | None,
                 make_sampler: Callable[[list[Slice], np.random.Generator], Sampler]):
        self.params, self.make_sampler = params, make_sampler
        self.pending = list(params.at)
        self.budget_seconds = budget_seconds
        self.sampler: Sampler | None = None
        #: slices with pseudo-labels after the last round (metrics.json's pseudoLabelledSlices)
        self.count = 0

    def due(self, fraction: float) -> bool:
        return bool(self.pending) and fraction >= self.pending[0]

    def run(self, net: torch.nn.Module, ds: Dataset, device: torch.device, precision: Precision, seed: int,
            iteration: int) -> int:
        """Pseudo-labels the unlabelled slices anew (seeded by the iteration); returns how many got labels."""
        self.pending.pop(0)
        if self.budget_seconds:  # a round may take a tenth of the budget, however many slices the series have
            self.params.max_seconds = ROUND_BUDGET_SHARE * self.budget_seconds
        with precision.autocast():
            pseudo = pseudo_label_slices(net, ds.unlabelled, ds.plan, ds.num_classes, ds.ignore_value, self.params,
                                         device, np.random.default_rng(seed + 4 + iteration))
        self.count = len(pseudo)
        self.sampler = self.make_sampler(pseudo, np.random.default_rng(seed + 3 + iteration)) if pseudo else None
        return self.count

    def batch(self, labelled: Sampler) -> Batch:
        """The labelled sampler's batch, with `share` of it (at least 1, never all) drawn from the
        pseudo-labelled slices once a round made some."""
        batch_size = labelled.batch_size
        if self.sampler is None or batch_size <= 1:
            return labelled.next()
        n_pseudo = min(max(round(batch_size * self.params.share), 1), batch_size - 1)
        return labelled.next(batch_size - n_pseudo).concat(self.sampler.next(n_pseudo))
