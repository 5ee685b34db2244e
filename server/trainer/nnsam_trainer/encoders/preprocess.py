"""SAM input preprocessing for online embedding; the Node engine implements the same definition.

Definition (docs/encoders.md, "Preprocessing"), per slice:
  1. lo, hi = the 0.5th and 99.5th percentiles of the slice's values (linear interpolation between
     order statistics: position p * (n - 1) in the sorted values, as numpy's default);
  2. v = clip((x - lo) / (hi - lo) * 255, 0, 255), or 0 everywhere when hi <= lo (a constant slice);
  3. resize to 1024 x 1024, bilinear, align_corners=False, no antialiasing;
  4. replicate to 3 channels and normalize channel c with (v - PIXEL_MEAN[c]) / PIXEL_STD[c].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

PIXEL_MEAN = (123.675, 116.28, 103.53)
PIXEL_STD = (58.395, 57.12, 57.375)
LOW_PERCENTILE = 0.5
HIGH_PERCENTILE = 99.5
SAM_INPUT_SIZE = 1024


def percentile_linear(sorted_values: torch.Tensor, q: float) -> torch.Tensor:
    """q-th percentile (0..100) along the last axis of already sorted values, linear interpolation."""
    n = sorted_values.shape[-1]
    position = q / 100.0 * (n - 1)
    below = int(position)
    above = min(below + 1, n - 1)
    frac = position - below
    lo = sorted_values[..., below]
    return lo + (sorted_values[..., above] - lo) * frac


def scale_to_255(slices: torch.Tensor) -> torch.Tensor:
    """Steps 1-2: [B, 1, H, W] -> same shape, each slice's robust range mapped linearly onto 0..255."""
    flat = slices.reshape(slices.shape[0], -1).float()
    ordered = flat.sort(dim=1).values
    lo = percentile_linear(ordered, LOW_PERCENTILE)[:, None]
    hi = percentile_linear(ordered, HIGH_PERCENTILE)[:, None]
    span = hi - lo
    scaled = ((flat - lo) / torch.where(span > 0, span, torch.ones_like(span)) * 255.0).clamp(0.0, 255.0)
    scaled = torch.where(span > 0, scaled, torch.zeros_like(scaled))
    return scaled.reshape(slices.shape)


def sam_preprocess(slices: torch.Tensor, size: int = SAM_INPUT_SIZE) -> torch.Tensor:
    """[B, 1, H, W] slices (any real dtype) -> [B, 3, size, size] float32 input of SAM's image encoder."""
    if slices.ndim != 4 or slices.shape[1] != 1:
        raise ValueError(f"sam_preprocess expects slices shaped [B, 1, H, W], got {list(slices.shape)}")
    if slices.shape[0] == 0 or slices.shape[2] == 0 or slices.shape[3] == 0:
        raise ValueError(f"sam_preprocess got an empty batch or slice: {list(slices.shape)}")
    scaled = scale_to_255(slices)
    resized = F.interpolate(scaled, size=(size, size), mode="bilinear", align_corners=False, antialias=False)
    mean = torch.tensor(PIXEL_MEAN, dtype=resized.dtype, device=resized.device)[None, :, None, None]
    std = torch.tensor(PIXEL_STD, dtype=resized.dtype, device=resized.device)[None, :, None, None]
    return (resized.expand(-1, 3, -1, -1) - mean) / std
