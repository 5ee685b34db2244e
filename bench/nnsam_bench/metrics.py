"""Segmentation metrics per class: Dice, HD95 and average symmetric surface distance (mm).

Definitions (docs/benchmarks.md repeats them):
- Dice = 2|P∩R| / (|P| + |R|) over all voxels of the volume (every slice).
- Surfaces: the voxels of a mask that have a 6-neighbour outside it (mask minus its erosion by the
  6-connected cross; voxels on the array border count as surface), as medpy and MONAI do.
- Distances: Euclidean, in mm, using the voxel spacing (exact distance transform, scipy).
- HD95 = max of the two directed 95th percentiles (pred surface -> reference surface and back), numpy's
  linear-interpolation percentile. ASD = mean of the two directed mean distances (medpy's "assd").
- Empty masks, where common practice differs (SSL4MIS returns HD95 = 0 for an empty prediction, which
  rewards predicting nothing; nnU-Net and MONAI return NaN, which drops the failure from the average):
    * reference and prediction both empty: Dice, HD95, ASD are NaN ("not applicable") and left out of
      means, as in nnU-Net;
    * exactly one empty: Dice = 0, and HD95 = ASD = the diagonal of the volume's extent in mm (the
      largest distance the grid can hold), so a missed structure costs the worst value instead of
      vanishing from the table. Such cases are counted in the results ("empty_prediction",
      "empty_reference").
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage

_CROSS_3D = ndimage.generate_binary_structure(3, 1)


@dataclass(frozen=True)
class ClassMetrics:
    dice: float
    hd95: float
    asd: float
    ref_voxels: int
    pred_voxels: int

    def to_json(self) -> dict:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


def surface(mask: np.ndarray) -> np.ndarray:
    """Voxels of `mask` with at least one 6-neighbour outside it (array border counts as outside)."""
    mask = np.asarray(mask, dtype=bool)
    structure = ndimage.generate_binary_structure(mask.ndim, 1)
    return mask & ~ndimage.binary_erosion(mask, structure=structure, border_value=0)


def directed_surface_distances(
    from_mask: np.ndarray, to_mask: np.ndarray, spacing: tuple[float, ...]
) -> np.ndarray:
    """Distance (mm) from every surface voxel of from_mask to the nearest surface voxel of to_mask."""
    to_surface = surface(to_mask)
    if not to_surface.any():
        raise ValueError("to_mask is empty: no surface to measure to")
    distance_to = ndimage.distance_transform_edt(~to_surface, sampling=spacing)
    return distance_to[surface(from_mask)]


def extent_diagonal(shape: tuple[int, ...], spacing: tuple[float, ...]) -> float:
    """Length in mm of the diagonal of the grid's extent: the penalty for a missed or spurious structure."""
    return float(math.sqrt(sum((n * s) ** 2 for n, s in zip(shape, spacing))))


def class_metrics(pred: np.ndarray, ref: np.ndarray, spacing: tuple[float, ...]) -> ClassMetrics:
    """Metrics of one binary prediction against one binary reference on the same grid."""
    pred = np.asarray(pred, dtype=bool)
    ref = np.asarray(ref, dtype=bool)
    if pred.shape != ref.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from reference shape {ref.shape}")
    if len(spacing) != pred.ndim:
        raise ValueError(f"spacing {spacing} has {len(spacing)} values for a {pred.ndim}D mask")
    n_pred, n_ref = int(pred.sum()), int(ref.sum())
    if n_pred == 0 and n_ref == 0:
        return ClassMetrics(math.nan, math.nan, math.nan, 0, 0)
    if n_pred == 0 or n_ref == 0:
        worst = extent_diagonal(pred.shape, spacing)
        return ClassMetrics(0.0, worst, worst, n_ref, n_pred)
    dice = 2.0 * int(np.logical_and(pred, ref).sum()) / (n_pred + n_ref)
    d_pr = directed_surface_distances(pred, ref, spacing)
    d_rp = directed_surface_distances(ref, pred, spacing)
    hd95 = max(float(np.percentile(d_pr, 95)), float(np.percentile(d_rp, 95)))
    asd = (float(d_pr.mean()) + float(d_rp.mean())) / 2.0
    return ClassMetrics(dice, hd95, asd, n_ref, n_pred)


def volume_metrics(
    pred: np.ndarray, ref: np.ndarray, spacing: tuple[float, ...], classes: dict[int, str]
) -> dict[str, ClassMetrics]:
    """Per-class metrics of a label volume (one integer label per voxel) against its reference."""
    return {name: class_metrics(pred == value, ref == value, spacing) for value, name in classes.items()}


def nanmean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite else math.nan


def nanstd(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(np.std(finite)) if finite else math.nan
