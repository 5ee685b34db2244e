"""nnU-Net's loss, unchanged: Dice + cross-entropy with an ignore label, wrapped for deep supervision."""

from __future__ import annotations

import numpy as np
from nnunetv2.training.loss.compound_losses import DC_and_CE_loss
from nnunetv2.training.loss.deep_supervision import DeepSupervisionWrapper
from nnunetv2.training.loss.dice import MemoryEfficientSoftDiceLoss


def deep_supervision_weights(n_outputs: int) -> list[float]:
    """nnU-Net's weights: 1/2^i per output (highest resolution first), lowest output off, normalized."""
    w = np.array([1 / (2**i) for i in range(n_outputs)])
    if n_outputs > 1:
        w[-1] = 0
    return (w / w.sum()).tolist()


def build_loss(n_outputs: int, ignore_value: int) -> DeepSupervisionWrapper:
    # batch_dice=True as nnU-Net's 2D configuration; do_bg=False; smooth 1e-5
    loss = DC_and_CE_loss({"batch_dice": True, "smooth": 1e-5, "do_bg": False, "ddp": False}, {}, weight_ce=1,
                          weight_dice=1, ignore_label=ignore_value, dice_class=MemoryEfficientSoftDiceLoss)
    return DeepSupervisionWrapper(loss, deep_supervision_weights(n_outputs))
