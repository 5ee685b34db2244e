"""SAM input preprocessing against a plain numpy reading of its definition, and the frozen encoder module."""

import numpy as np
import pytest
import torch

from nnsam_trainer.encoders import FrozenSamEncoder, TinyVitConfig, TinyViTImageEncoder, sam_preprocess

MEAN = np.array([123.675, 116.28, 103.53])
STD = np.array([58.395, 57.12, 57.375])


def bilinear_reference(image: np.ndarray, size: int) -> np.ndarray:
    """Half-pixel-centre bilinear resize (align_corners=False, no antialias), source index clamped at 0."""

    def taps(n_in: int):
        src = np.maximum((np.arange(size) + 0.5) * n_in / size - 0.5, 0.0)
        i0 = np.floor(src).astype(int)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, src - i0

    r0, r1, wr = taps(image.shape[0])
    c0, c1, wc = taps(image.shape[1])
    top = image[r0][:, c0] * (1 - wc) + image[r0][:, c1] * wc
    bottom = image[r1][:, c0] * (1 - wc) + image[r1][:, c1] * wc
    return top * (1 - wr[:, None]) + bottom * wr[:, None]


def reference(slice_: np.ndarray, size: int) -> np.ndarray:
    x = slice_.astype(np.float64)
    lo, hi = np.percentile(x, [0.5, 99.5])
    v = np.clip((x - lo) / (hi - lo) * 255, 0, 255) if hi > lo else np.zeros_like(x)
    v = bilinear_reference(v, size)
    return (v[None] - MEAN[:, None, None]) / STD[:, None, None]


@pytest.mark.parametrize("shape,size", [((37, 53), 1024), ((300, 260), 128), ((5, 4), 16)])
def test_matches_the_definition(shape, size):
    rng = np.random.default_rng(0)
    slices = np.stack([rng.normal(100, 40, shape), rng.integers(-1024, 3000, shape)]).astype(np.int16)[
        :, None
    ]
    slices[0, 0, 0, 0] = 30000  # an outlier far above the 99.5th percentile is clipped to 255
    got = sam_preprocess(torch.from_numpy(slices), size=size).numpy()
    assert got.shape == (2, 3, size, size) and got.dtype == np.float32
    for b in range(2):
        np.testing.assert_allclose(got[b], reference(slices[b, 0], size), atol=2e-4)
    if size > max(shape):  # upsampling: output pixel (0, 0) is input pixel (0, 0), the clipped outlier
        assert np.isclose(got[0, 0, 0, 0], (255 - MEAN[0]) / STD[0], atol=1e-4)


def test_constant_slice_maps_to_zero_intensity():
    got = sam_preprocess(torch.full((1, 1, 8, 8), 42.0), size=16)
    np.testing.assert_allclose(got[0, :, 0, 0].numpy(), -MEAN / STD, rtol=1e-6)
    assert torch.unique(got[0, 2]).numel() == 1


def test_slices_are_scaled_independently():
    a = torch.linspace(0, 1, 64).view(1, 1, 8, 8)
    both = sam_preprocess(torch.cat([a, a * 1000 + 5]), size=8)
    torch.testing.assert_close(both[0], both[1], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("bad", [torch.zeros(8, 8), torch.zeros(1, 2, 8, 8), torch.zeros(0, 1, 8, 8)])
def test_bad_shapes_are_rejected(bad):
    with pytest.raises(ValueError, match=r"\[B, 1, H, W\]|empty"):
        sam_preprocess(bad)


@pytest.fixture
def small_encoder():
    torch.manual_seed(0)
    return TinyViTImageEncoder(TinyVitConfig(img_size=128))


def test_frozen_encoder_has_no_gradients_and_stays_in_eval(small_encoder):
    frozen = FrozenSamEncoder(small_encoder, chunk=2)
    network = torch.nn.Sequential(frozen, torch.nn.Conv2d(256, 1, 1))
    network.train()
    assert not frozen.training and not small_encoder.training
    assert all(not p.requires_grad for p in frozen.parameters())
    stats_before = small_encoder.patch_embed.seq[0].bn.running_mean.clone()
    slices = torch.randn(3, 1, 40, 30, requires_grad=True)
    out = network(slices)
    out.sum().backward()  # the head trains; nothing flows into or through the encoder
    assert slices.grad is None
    assert network[1].weight.grad is not None
    assert torch.equal(small_encoder.patch_embed.seq[0].bn.running_mean, stats_before)


def test_frozen_encoder_equals_encoder_after_preprocessing_in_any_chunking(small_encoder):
    slices = torch.randn(5, 1, 40, 30) * 300
    with torch.no_grad():
        want = small_encoder.eval()(sam_preprocess(slices, size=128))
    for chunk in (1, 2, 8):
        got = FrozenSamEncoder(small_encoder, chunk=chunk)(slices)
        assert got.shape == (5, 256, 8, 8)
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


def test_frozen_encoder_from_checkpoint(random_checkpoint):
    frozen = FrozenSamEncoder.from_checkpoint(random_checkpoint["path"])
    assert frozen.input_size == 1024
    assert not any(p.requires_grad for p in frozen.parameters())
