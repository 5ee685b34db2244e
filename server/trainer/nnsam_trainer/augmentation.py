"""Training samples: one affine transform per sample warps image, labels and SAM embedding together.

Why one transform in normalized coordinates: the image (H x W), the labels and the cached 64x64 SAM embedding
of the whole slice cover the same field of view on different grids. `F.affine_grid`/`F.grid_sample` with
align_corners=False work in normalized coordinates ([-1, 1] spans the outer edges of the first and last
pixel), so the same theta samples the image at the patch size P and the embedding at P / s (s = stride of the
decoder stage that receives it) at exactly the same physical positions. Node's inference path
(server/src/engine/inference) samples the embedding with the same convention, and tests check both.

Spatial augmentation follows nnU-Net's 2D defaults (rotation p=0.2, +-180 deg or +-15 deg for elongated
patches; scaling p=0.2 in [0.7, 1.4]; mirroring of both axes p=0.5; no elastic deformation); intensity
augmentation uses nnU-Net's batchgeneratorsv2 transforms with nnU-Net's probabilities.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from batchgeneratorsv2.transforms.intensity.brightness import MultiplicativeBrightnessTransform
from batchgeneratorsv2.transforms.intensity.contrast import BGContrast, ContrastTransform
from batchgeneratorsv2.transforms.intensity.gamma import GammaTransform
from batchgeneratorsv2.transforms.intensity.gaussian_noise import GaussianNoiseTransform
from batchgeneratorsv2.transforms.noise.gaussian_blur import GaussianBlurTransform
from batchgeneratorsv2.transforms.spatial.low_resolution import SimulateLowResolutionTransform
from batchgeneratorsv2.transforms.utils.compose import ComposeTransforms
from batchgeneratorsv2.transforms.utils.random import RandomTransform

from .data import Slice


@dataclass
class SpatialParams:
    p_rotation: float = 0.2
    rotation: float = math.pi  # max |angle| in radians
    p_scaling: float = 0.2
    scaling: tuple[float, float] = (0.7, 1.4)
    p_mirror: float = 0.5  # per axis
    #: smooth random deformation (elastic): probability, and the displacement's standard deviation at the
    #: control points as a fraction of the patch side; the control points form an elastic_grid^2 lattice
    p_elastic: float = 0.0
    elastic_magnitude: float = 0.03
    elastic_grid: int = 5


def spatial_params_for(patch: tuple[int, int], training_plan: dict | None = None) -> SpatialParams:
    """The plan's augmentation (a checked plan's "training" block: contract.py), or the defaults above
    without one (tests)."""
    p = SpatialParams()
    # nnU-Net: elongated 2D patches only rotate by +-15 degrees
    p.rotation = math.radians(15 if max(patch) / min(patch) > 1.5 else 180)
    if training_plan:
        aug = training_plan["augmentation"]
        p.p_rotation = float(aug["pRotation"])
        p.p_scaling = float(aug["pScaling"])
        p.scaling = (float(aug["scaling"][0]), float(aug["scaling"][1]))
        p.p_mirror = float(aug["pMirror"])
        p.p_elastic = float(aug["pElastic"])
        p.elastic_magnitude = float(aug["elasticMagnitude"])
    return p


def theta_for(center_yx: tuple[float, float], matrix_xy: np.ndarray, patch_yx: tuple[int, int],
              image_yx: tuple[int, int]) -> torch.Tensor:
    """affine_grid theta (2x3, x/y order) for a patch of size `patch_yx` centred at pixel `center_yx`.

    Output pixel p (0-based, half-pixel centres) sits at d = p + 0.5 - P/2 from the patch centre; the input
    pixel position is center + matrix @ d. Converting both sides to normalized coordinates gives theta.
    """
    (cy, cx), (py, px), (h, w) = center_yx, patch_yx, image_yx
    a = matrix_xy
    t = np.array([
        [2 / w * a[0, 0] * px / 2, 2 / w * a[0, 1] * py / 2, (cx + 0.5) * 2 / w - 1],
        [2 / h * a[1, 0] * px / 2, 2 / h * a[1, 1] * py / 2, (cy + 0.5) * 2 / h - 1],
    ], dtype=np.float64)
    return torch.from_numpy(t).float()


def identity_theta(offset_yx: tuple[int, int], patch_yx: tuple[int, int], image_yx: tuple[int, int]):
    """theta that crops `patch_yx` pixels starting at integer `offset_yx` (may run past the image: zeros)."""
    center = (offset_yx[0] + (patch_yx[0] - 1) / 2, offset_yx[1] + (patch_yx[1] - 1) / 2)
    return theta_for(center, np.eye(2), patch_yx, image_yx)


def warp(x: torch.Tensor, theta: torch.Tensor, size_yx: tuple[int, int], mode: str,
         displacement: torch.Tensor | None = None) -> torch.Tensor:
    """Samples x [C, H, W] at the grid of `theta` with output size_yx; outside the input reads 0.
    `displacement` ([2, gh, gw], x/y in the input's normalized coordinates, spanning the output patch) is a
    smooth deformation added to the affine grid; it is resampled to size_yx, so every grid of one sample
    (image, each deep-supervision label size, embedding) moves the same physical points the same way."""
    grid = F.affine_grid(theta[None], [1, x.shape[0], size_yx[0], size_yx[1]], align_corners=False)
    if displacement is not None:
        d = F.interpolate(displacement[None], size=size_yx, mode="bicubic", align_corners=False)
        grid = grid + d.permute(0, 2, 3, 1)
    return F.grid_sample(x[None].float(), grid.to(x.device), mode=mode, padding_mode="zeros",
                         align_corners=False)[0]


def warp_labels(label: torch.Tensor, theta: torch.Tensor, size_yx: tuple[int, int], ignore: int,
                displacement: torch.Tensor | None = None) -> torch.Tensor:
    """Nearest-neighbour labels; pixels that fall outside the slice get the ignore value."""
    shifted = warp((label.float() + 1)[None], theta, size_yx, "nearest", displacement)[0]
    out = shifted.round().long() - 1
    out[out < 0] = ignore
    return out


def build_intensity_transforms(synchronize: bool = False) -> ComposeTransforms:
    """nnU-Net's intensity augmentation (nnUNetTrainer.get_training_transforms), image only.

    `synchronize`: the channels are neighbouring slices of one image (2.5D), so every channel gets the same
    draw; nnU-Net's per-channel draws are for channels that are different images (modalities)."""
    sync = synchronize
    per_channel = 1 if sync else 0.5
    return ComposeTransforms([
        RandomTransform(GaussianNoiseTransform(noise_variance=(0, 0.1), p_per_channel=1,
                                               synchronize_channels=True), apply_probability=0.1),
        RandomTransform(GaussianBlurTransform(blur_sigma=(0.5, 1.), synchronize_channels=sync,
                                              synchronize_axes=False, p_per_channel=per_channel, benchmark=False),
                        apply_probability=0.2),
        RandomTransform(MultiplicativeBrightnessTransform(multiplier_range=BGContrast((0.75, 1.25)),
                                                          synchronize_channels=sync, p_per_channel=1),
                        apply_probability=0.15),
        RandomTransform(ContrastTransform(contrast_range=BGContrast((0.75, 1.25)), preserve_range=True,
                                          synchronize_channels=sync, p_per_channel=1), apply_probability=0.15),
        RandomTransform(SimulateLowResolutionTransform(scale=(0.5, 1), synchronize_channels=sync,
                                                       synchronize_axes=True, ignore_axes=None,
                                                       allowed_channels=None, p_per_channel=per_channel),
                        apply_probability=0.25),
        RandomTransform(GammaTransform(gamma=BGContrast((0.7, 1.5)), p_invert_image=1, synchronize_channels=sync,
                                       p_per_channel=1, p_retain_stats=1), apply_probability=0.1),
        RandomTransform(GammaTransform(gamma=BGContrast((0.7, 1.5)), p_invert_image=0, synchronize_channels=sync,
                                       p_per_channel=1, p_retain_stats=1), apply_probability=0.3),
    ])


@dataclass
class Batch:
    image: torch.Tensor  # [B, K, P, P] (K = network.inputSlices)
    targets: list[torch.Tensor]  # per deep-supervision output: [B, 1, P/s_k, P/s_k] long
    embedding: torch.Tensor | None  # [B, C, P/s_e ...]

    def concat(self, other: "Batch") -> "Batch":
        emb = None if self.embedding is None else torch.cat([self.embedding, other.embedding])
        return Batch(torch.cat([self.image, other.image]),
                     [torch.cat([a, b]) for a, b in zip(self.targets, other.targets)], emb)


class Sampler:
    """Draws augmented batches like nnU-Net's 2D data loader (foreground oversampling, random crops)."""

    def __init__(self, slices: list[Slice], patch: tuple[int, int], batch_size: int, ds_strides: list[tuple[int, int]],
                 embedding_stride: tuple[int, int] | None, ignore: int, rng: np.random.Generator,
                 spatial: SpatialParams, oversample_foreground: float = 0.33, intensity: bool = True,
                 synchronize_channels: bool = False):
        self.slices = slices
        self.patch = patch
        self.batch_size = batch_size
        self.ds_strides = ds_strides
        self.embedding_stride = embedding_stride
        self.ignore = ignore
        self.rng = rng
        self.spatial = spatial
        self.oversample = oversample_foreground
        self.intensity = build_intensity_transforms(synchronize_channels) if intensity else None

    def _offset_range(self, size: int, patch: int) -> tuple[int, int]:
        # nnU-Net: a slice smaller than the patch is centred (padded both sides), a larger one cropped anywhere
        pad = max(0, patch - size)
        lo = -(pad // 2)
        hi = size + pad // 2 + pad % 2 - patch
        return lo, hi

    def _center(self, s: Slice, force_fg: bool) -> tuple[float, float]:
        h, w = s.hw
        (ly, hy), (lx, hx) = self._offset_range(h, self.patch[0]), self._offset_range(w, self.patch[1])
        if force_fg and s.present_classes:
            c = s.present_classes[int(self.rng.integers(len(s.present_classes)))]
            pix = s.class_pixels[c]
            flat = int(pix[int(self.rng.integers(pix.numel()))])
            y, x = divmod(flat, w)
            oy = min(max(y - self.patch[0] // 2, ly), hy)
            ox = min(max(x - self.patch[1] // 2, lx), hx)
        else:
            oy, ox = int(self.rng.integers(ly, hy + 1)), int(self.rng.integers(lx, hx + 1))
        return oy + (self.patch[0] - 1) / 2, ox + (self.patch[1] - 1) / 2

    def _matrix(self) -> np.ndarray:
        sp, r = self.spatial, self.rng
        angle = r.uniform(-sp.rotation, sp.rotation) if r.uniform() < sp.p_rotation else 0.0
        scale = r.uniform(*sp.scaling) if r.uniform() < sp.p_scaling else 1.0
        mirror = np.diag([-1.0 if r.uniform() < sp.p_mirror else 1.0, -1.0 if r.uniform() < sp.p_mirror else 1.0])
        rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        return rot @ (scale * mirror)

    def _displacement(self, theta: torch.Tensor) -> torch.Tensor | None:
        """A smooth random field [2, g, g] on the patch, in the input's normalized coordinates (None: none)."""
        sp, r = self.spatial, self.rng
        if sp.p_elastic <= 0 or r.uniform() >= sp.p_elastic:
            return None
        g = sp.elastic_grid
        # displacement drawn in patch units (fraction of its side, so 2 * magnitude in [-1, 1] units), then
        # mapped through theta's linear part into the input's normalized coordinates
        patch_units = torch.from_numpy(r.normal(0.0, 2 * sp.elastic_magnitude, (2, g, g))).float()
        return torch.einsum("ij,jhw->ihw", theta[:, :2], patch_units)

    def next(self, count: int | None = None) -> Batch:
        """A batch of `count` samples (default: the batch size)."""
        count = self.batch_size if count is None else count
        images, targets, embeddings = [], [[] for _ in self.ds_strides], []
        self.last_inside = []  # per sample: [P, P] bool, the patch pixels that fall inside the slice
        n_random = round(count * (1 - self.oversample))
        for b in range(count):
            s = self.slices[int(self.rng.integers(len(self.slices)))]
            center = self._center(s, force_fg=b >= n_random)
            theta = theta_for(center, self._matrix(), self.patch, s.hw)
            disp = self._displacement(theta)
            img = warp(s.image, theta, self.patch, "bilinear", disp)
            if self.intensity is not None:
                img = self.intensity(image=img)["image"]
            images.append(img)
            self.last_inside.append(warp(torch.ones(1, *s.hw), theta, self.patch, "nearest", disp)[0] > 0.5)
            for k, (sy, sx) in enumerate(self.ds_strides):
                size = (self.patch[0] // sy, self.patch[1] // sx)
                targets[k].append(warp_labels(s.label, theta, size, self.ignore, disp)[None])
            if self.embedding_stride is not None:
                size = (self.patch[0] // self.embedding_stride[0], self.patch[1] // self.embedding_stride[1])
                embeddings.append(warp(s.embedding, theta, size, "bilinear", disp))
        return Batch(torch.stack(images), [torch.stack(t) for t in targets],
                     torch.stack(embeddings) if embeddings else None)


def whole_slice_inputs(s: Slice, divisible: tuple[int, int], embedding_stride: tuple[int, int] | None,
                       min_size: tuple[int, int] = (0, 0)):
    """Network input for a whole slice, padded at the end to a multiple of `divisible` (and at least min_size),
    exactly as Node pads at inference. Returns (image [1,K,H,W], embedding [1,C,H/s,W/s] or None)."""
    h, w = s.hw
    ph = max(min_size[0], -(-h // divisible[0]) * divisible[0])
    pw = max(min_size[1], -(-w // divisible[1]) * divisible[1])
    theta = identity_theta((0, 0), (ph, pw), (h, w))
    image = warp(s.image, theta, (ph, pw), "bilinear")[None]
    emb = None
    if embedding_stride is not None:
        emb = warp(s.embedding, theta, (ph // embedding_stride[0], pw // embedding_stride[1]), "bilinear")[None]
    return image, emb
