"""One transform per sample keeps image, labels and the 64x64 SAM embedding aligned."""

import math

import numpy as np
import torch
import torch.nn.functional as F

from nnsam_trainer.augmentation import identity_theta, theta_for, warp, warp_labels


def coordinate_maps(h: int, w: int, grid: int = 64):
    """Image whose value is the normalized x (or y) position of each pixel centre, and the same function
    sampled on the 64x64 grid that a SAM embedding of the whole slice covers."""
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    img_x = (xs + 0.5) / w
    img_y = (ys + 0.5) / h
    gy, gx = torch.meshgrid(torch.arange(grid), torch.arange(grid), indexing="ij")
    emb = torch.stack([(gx + 0.5) / grid, (gy + 0.5) / grid, torch.ones(grid, grid)])
    return torch.stack([img_x, img_y, torch.ones(h, w)]), emb


def test_embedding_warp_matches_image_warp_at_the_decoder_grid():
    h, w, patch = 90, 70, (48, 40)
    img, emb = coordinate_maps(h, w)
    rng = np.random.default_rng(0)
    for s in (2, 4, 8):
        for _ in range(5):
            a = rng.uniform(-math.pi, math.pi)
            sc = rng.uniform(0.7, 1.4)
            mirror = np.diag([rng.choice([-1.0, 1.0]), rng.choice([-1.0, 1.0])])
            m = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]) @ (sc * mirror)
            theta = theta_for((rng.uniform(20, 70), rng.uniform(15, 55)), m, patch, (h, w))
            wi = warp(img, theta, patch, "bilinear")
            we = warp(emb, theta, (patch[0] // s, patch[1] // s), "bilinear")
            # the stride-s grid samples the centres of s x s blocks of the patch; for a linear function the
            # block mean equals the value at the centre, so both paths must agree wherever nothing was padded
            pooled = F.avg_pool2d(wi[None], s)[0]
            inside = (F.avg_pool2d(wi[2:3][None], s)[0, 0] > 0.999) & (we[2] > 0.999)
            assert inside.float().mean() > 0.2
            diff = (pooled[:2] - we[:2]).abs()[:, inside]
            assert diff.max() < 1e-4, f"stride {s}: max misalignment {diff.max():.2e} (normalized units)"


def test_a_half_pixel_shift_is_detected():
    """The alignment check above fails for the align_corners=True convention (guards the test itself)."""
    h, w, patch, s = 90, 70, (48, 40), 4
    img, emb = coordinate_maps(h, w)
    theta = identity_theta((10, 12), patch, (h, w))
    wi = F.avg_pool2d(warp(img, theta, patch, "bilinear")[None], s)[0]
    grid = F.affine_grid(theta[None], [1, 3, patch[0] // s, patch[1] // s], align_corners=True)
    we = F.grid_sample(emb[None], grid, mode="bilinear", align_corners=True)[0]
    assert (wi[:2] - we[:2]).abs().max() > 1e-3


def test_identity_crop_copies_pixels_and_pads_labels_with_ignore():
    label = torch.randint(0, 4, (20, 30), dtype=torch.uint8)
    image = torch.randn(20, 30)
    theta = identity_theta((5, -3), (16, 16), (20, 30))
    wi = warp(image[None], theta, (16, 16), "bilinear")[0]
    wl = warp_labels(label, theta, (16, 16), 255)
    assert torch.allclose(wi[:15, 3:], image[5:20, 0:13], atol=1e-5)
    assert torch.equal(wl[:15, 3:], label[5:20, 0:13].long())
    assert (wl[:, :3] == 255).all() and (wl[15:] == 255).all()
    assert wi[:, :3].abs().max() < 1e-5


def test_an_elastic_displacement_moves_image_labels_and_embedding_together():
    """The smooth displacement is defined on the patch and resampled to each grid, so the image, every
    deep-supervision label size and the embedding still sample the same physical points."""
    from nnsam_trainer.augmentation import Sampler, SpatialParams

    h, w, patch = 90, 70, (48, 40)
    img, emb = coordinate_maps(h, w)
    sampler = Sampler([], patch, 1, [], None, 255, np.random.default_rng(1),
                      SpatialParams(p_elastic=1.0, elastic_magnitude=0.05))
    theta = theta_for((45.0, 35.0), np.eye(2), patch, (h, w))
    disp = sampler._displacement(theta)
    assert disp is not None and disp.abs().max() > 0.02  # it really moves points (normalized units)
    plain = warp(img, theta, patch, "bilinear")
    moved = warp(img, theta, patch, "bilinear", disp)
    assert (moved[:2] - plain[:2]).abs().max() > 0.01
    for s in (2, 4):
        we = warp(emb, theta, (patch[0] // s, patch[1] // s), "bilinear", disp)
        pooled = F.avg_pool2d(moved[None], s)[0]
        inside = (F.avg_pool2d(moved[2:3][None], s)[0, 0] > 0.999) & (we[2] > 0.999)
        diff = (pooled[:2] - we[:2]).abs()[:, inside]
        # a block's mean is its centre's value up to the field's curvature (< 0.1 pixel here); a displacement
        # missing from the embedding's grid would leave the full displacement (> 0.02) between them
        assert diff.max() < 5e-3, f"stride {s}: image and embedding disagree by {diff.max():.2e}"
    # labels follow the image: a label map of x-bands, warped, matches the bands of the warped x coordinate
    bands = (img[0] * 4).floor().to(torch.uint8)
    warped_bands = warp_labels(bands, theta, patch, 255, disp)
    expected = (moved[0] * 4).floor().long()
    agree = (warped_bands == expected).float().mean()
    assert agree > 0.97  # nearest vs bilinear differ only on band edges
    # no deformation drawn when p_elastic is 0, and the rng is then left untouched
    rng = np.random.default_rng(5)
    off = Sampler([], patch, 1, [], None, 255, rng, SpatialParams())
    state = rng.bit_generator.state
    assert off._displacement(theta) is None and rng.bit_generator.state == state


def test_a_25d_sample_warps_every_neighbouring_slice_as_the_2d_sample_warps_the_slice():
    from nnsam_trainer.augmentation import Sampler, SpatialParams
    from nnsam_trainer.data import Slice, index_classes

    gen = torch.Generator().manual_seed(0)
    image = torch.randn(40, 36, generator=gen)
    label = (image > 1).to(torch.uint8)
    neighbours = torch.stack([image * 0.5, image, image * -2])  # warping is linear in the image

    def draw(img):
        s = Slice("s", img, label, None)
        index_classes(s, 2)
        sampler = Sampler([s], (24, 24), 4, [(1, 1)], None, 255, np.random.default_rng(5),
                          SpatialParams(p_rotation=1, p_scaling=1), intensity=False)
        return sampler.next()

    flat, stacked = draw(image), draw(neighbours)
    assert stacked.image.shape == (4, 3, 24, 24) and flat.image.shape == (4, 1, 24, 24)
    torch.testing.assert_close(stacked.image[:, 1:2], flat.image)
    torch.testing.assert_close(stacked.image[:, 0], flat.image[:, 0] * 0.5)
    torch.testing.assert_close(stacked.image[:, 2], flat.image[:, 0] * -2)
    torch.testing.assert_close(stacked.targets[0], flat.targets[0])
