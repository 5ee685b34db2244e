"""Metrics against cases computed by hand, a brute-force distance computation and SimpleITK."""

import math

import numpy as np
import pytest
import SimpleITK as sitk
from scipy.spatial.distance import cdist

from nnsam_bench.metrics import (
    class_metrics,
    directed_surface_distances,
    extent_diagonal,
    surface,
    volume_metrics,
)


def mask(shape, *boxes):
    m = np.zeros(shape, dtype=bool)
    for box in boxes:
        m[box] = True
    return m


def test_identical_masks_score_perfectly():
    m = mask((8, 8, 3), np.s_[2:6, 2:6, 0:2])
    r = class_metrics(m, m, (1.0, 1.0, 10.0))
    assert (r.dice, r.hd95, r.asd) == (1.0, 0.0, 0.0)


def test_two_single_voxels_are_their_distance_apart_in_mm():
    pred = mask((5, 5, 2), np.s_[0, 0, 0])
    ref = mask((5, 5, 2), np.s_[3, 0, 1])
    r = class_metrics(pred, ref, (2.0, 1.0, 10.0))
    assert r.dice == 0.0
    assert r.hd95 == pytest.approx(math.hypot(6.0, 10.0))
    assert r.asd == pytest.approx(math.hypot(6.0, 10.0))


def test_row_shifted_by_one_voxel():
    # ref x = 0..3, pred x = 1..4 (thin: every voxel is surface). pred->ref distances [0, 0, 0, 1] voxel,
    # ref->pred [1, 0, 0, 0]; 95th percentile (linear) of [0, 0, 0, 1] = 0.85; spacing 2 mm along x.
    ref = mask((6, 1, 1), np.s_[0:4, 0, 0])
    pred = mask((6, 1, 1), np.s_[1:5, 0, 0])
    r = class_metrics(pred, ref, (2.0, 1.0, 1.0))
    assert r.dice == pytest.approx(2 * 3 / 8)
    assert r.hd95 == pytest.approx(0.85 * 2)
    assert r.asd == pytest.approx(0.25 * 2)
    assert (r.ref_voxels, r.pred_voxels) == (4, 4)


def test_surface_of_a_solid_cube_leaves_its_centre_out():
    cube = mask((5, 5, 5), np.s_[1:4, 1:4, 1:4])
    s = surface(cube)
    assert s.sum() == 26 and not s[2, 2, 2]
    edge = mask((3, 3, 3), np.s_[:, :, :])
    assert surface(edge).sum() == 26, "the array border counts as outside"


def test_empty_masks_follow_the_documented_rule():
    shape, spacing = (10, 10, 2), (1.0, 1.0, 10.0)
    empty = np.zeros(shape, dtype=bool)
    some = mask(shape, np.s_[2:4, 2:4, 0])
    both = class_metrics(empty, empty, spacing)
    assert math.isnan(both.dice) and math.isnan(both.hd95) and math.isnan(both.asd)
    assert extent_diagonal(shape, spacing) == pytest.approx(math.sqrt(100 + 100 + 400))
    for pred, ref in ((empty, some), (some, empty)):
        r = class_metrics(pred, ref, spacing)
        assert r.dice == 0.0
        assert r.hd95 == r.asd == pytest.approx(math.sqrt(600))
    assert both.to_json()["dice"] is None


def test_shape_and_spacing_mismatches_are_refused():
    with pytest.raises(ValueError, match="shape"):
        class_metrics(np.ones((2, 2, 2)), np.ones((2, 2, 3)), (1, 1, 1))
    with pytest.raises(ValueError, match="spacing"):
        class_metrics(np.ones((2, 2, 2)), np.ones((2, 2, 2)), (1, 1))


def random_blob(rng, shape):
    from scipy import ndimage

    noise = ndimage.gaussian_filter(rng.standard_normal(shape), 1.5)
    return noise > np.quantile(noise, 0.8)


def test_distances_agree_with_brute_force():
    rng = np.random.default_rng(5)
    spacing = (1.3, 0.7, 6.0)
    for _ in range(3):
        a, b = random_blob(rng, (18, 16, 5)), random_blob(rng, (18, 16, 5))
        got = directed_surface_distances(a, b, spacing)
        pa = np.argwhere(surface(a)) * spacing
        pb = np.argwhere(surface(b)) * spacing
        want = cdist(pa, pb).min(axis=1)
        assert np.allclose(np.sort(got), np.sort(want), atol=1e-9)
        r = class_metrics(a, b, spacing)
        back = cdist(pb, pa).min(axis=1)
        assert r.hd95 == pytest.approx(max(np.percentile(want, 95), np.percentile(back, 95)))
        assert r.asd == pytest.approx((want.mean() + back.mean()) / 2)


def to_sitk(m, spacing):
    # numpy [i, j, k] -> SimpleITK reads arrays as [z, y, x]: transpose so x = i, and spacing follows
    image = sitk.GetImageFromArray(np.ascontiguousarray(m.astype(np.uint8).transpose(2, 1, 0)))
    image.SetSpacing(spacing)
    return image


def test_dice_and_hausdorff_agree_with_simpleitk():
    rng = np.random.default_rng(11)
    spacing = (1.0, 1.5, 10.0)
    a, b = random_blob(rng, (20, 22, 6)), random_blob(rng, (20, 22, 6))
    r = class_metrics(a, b, spacing)
    overlap = sitk.LabelOverlapMeasuresImageFilter()
    overlap.Execute(to_sitk(a, spacing), to_sitk(b, spacing))
    assert r.dice == pytest.approx(overlap.GetDiceCoefficient())
    # Hausdorff between the two surfaces = the larger of the directed maxima
    hausdorff = sitk.HausdorffDistanceImageFilter()
    hausdorff.Execute(to_sitk(surface(a), spacing), to_sitk(surface(b), spacing))
    ours = max(directed_surface_distances(a, b, spacing).max(), directed_surface_distances(b, a, spacing).max())
    assert ours == pytest.approx(hausdorff.GetHausdorffDistance())
    assert r.hd95 <= ours


def test_volume_metrics_splits_a_label_volume_by_class():
    ref = np.zeros((6, 6, 2), dtype=np.uint8)
    ref[0:2, 0:2, 0] = 1
    ref[3:5, 3:5, 1] = 3
    pred = ref.copy()
    pred[3:5, 3:5, 1] = 2  # LV predicted as MYO
    got = volume_metrics(pred, ref, (1, 1, 1), {1: "RV", 2: "MYO", 3: "LV"})
    assert got["RV"].dice == 1.0
    assert got["MYO"].dice == 0.0 and got["MYO"].ref_voxels == 0
    assert got["LV"].dice == 0.0 and got["LV"].pred_voxels == 0
