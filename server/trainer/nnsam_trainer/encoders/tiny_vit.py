"""MobileSAM's image encoder: a TinyViT-5M backbone run at 1024x1024 plus SAM's neck to 256 channels.

Written for this project from the architecture description (MobileSAM, Zhang et al. 2023; TinyViT, Wu et
al. 2022). Module and parameter names are chosen so that `state_dict()` has exactly the layout of the
`image_encoder.*` entries of the official `mobile_sam.pt`, which therefore loads strictly (see
docs/encoders.md for the table). Inference only: no dropout or stochastic depth.

Tensor layout between modules: NCHW feature maps for the convolutional parts and NHWC (channels last)
inside the attention stages. Spatial sizes are fixed by the configuration (Python ints), so a traced
ONNX graph keeps only the batch dimension dynamic.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class TinyVitConfig:
    """Hyper-parameters of the encoder. The defaults are MobileSAM's (TinyViT-5M at 1024x1024)."""

    img_size: int = 1024
    in_chans: int = 3
    embed_dims: tuple[int, ...] = (64, 128, 160, 320)
    depths: tuple[int, ...] = (2, 2, 6, 2)
    num_heads: tuple[int, ...] = (2, 4, 5, 10)
    window_sizes: tuple[int, ...] = (7, 7, 14, 7)
    mlp_ratio: float = 4.0
    mbconv_expand_ratio: float = 4.0
    local_conv_size: int = 3
    neck_dim: int = 256
    # The ImageNet classification head is unused by SAM but present in the checkpoint, so it is kept.
    num_classes: int = 1000

    def __post_init__(self) -> None:
        n = len(self.embed_dims)
        if n < 2 or not (len(self.depths) == len(self.num_heads) == len(self.window_sizes) == n):
            raise ValueError("embed_dims, depths, num_heads and window_sizes need one entry per stage (>= 2)")
        for dim, heads in zip(self.embed_dims[1:], self.num_heads[1:]):
            if dim % heads:
                raise ValueError(f"stage width {dim} is not divisible by its {heads} heads")
        if self.img_size % self.downsampling:
            raise ValueError(f"img_size {self.img_size} must be a multiple of {self.downsampling}")

    @property
    def downsampling(self) -> int:
        # stem /4, then every merge halves except the last one (MobileSAM keeps 1/16 for SAM's neck)
        return 4 * 2 ** (len(self.embed_dims) - 2)

    @property
    def embedding_size(self) -> int:
        return self.img_size // self.downsampling

    def stage_resolution(self, stage: int) -> int:
        """Side of the (square) feature map that stage `stage` works on."""
        halvings = min(stage, len(self.embed_dims) - 2)
        return self.img_size // 4 // 2**halvings


MOBILESAM = TinyVitConfig()


class ConvBN(nn.Sequential):
    """Bias-free convolution followed by batch norm, stored as `c` and `bn` (the checkpoint's names)."""

    def __init__(self, cin: int, cout: int, kernel: int = 1, stride: int = 1, groups: int = 1) -> None:
        conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=False)
        super().__init__(OrderedDict(c=conv, bn=nn.BatchNorm2d(cout)))


class LayerNorm2d(nn.Module):
    """Layer norm over the channels of an NCHW map (SAM's neck), eps 1e-6."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=1, keepdim=True)
        var = (x - mean).square().mean(dim=1, keepdim=True)
        x = (x - mean) * torch.rsqrt(var + self.eps)
        return x * self.weight[:, None, None] + self.bias[:, None, None]


class PatchEmbed(nn.Module):
    """Stem: two stride-2 3x3 convolutions (to half the width, then the full width) with GELU between."""

    def __init__(self, in_chans: int, dim: int) -> None:
        super().__init__()
        # index 1 is the activation: the checkpoint names the convolutions seq.0 and seq.2
        self.seq = nn.Sequential(ConvBN(in_chans, dim // 2, 3, 2), nn.GELU(), ConvBN(dim // 2, dim, 3, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.seq(x)


class MBConv(nn.Module):
    """Inverted residual: 1x1 expand, 3x3 depthwise, 1x1 project, residual add, then GELU."""

    def __init__(self, dim: int, expand_ratio: float) -> None:
        super().__init__()
        hidden = int(dim * expand_ratio)
        self.conv1 = ConvBN(dim, hidden, 1)
        self.conv2 = ConvBN(hidden, hidden, 3, groups=hidden)
        self.conv3 = ConvBN(hidden, dim, 1)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.conv1(x))
        y = self.act(self.conv2(y))
        return self.act(x + self.conv3(y))


class PatchMerging(nn.Module):
    """Between stages: 1x1 to the next width, 3x3 depthwise (stride 2, or 1 into the last stage), 1x1."""

    def __init__(self, dim: int, out_dim: int, stride: int) -> None:
        super().__init__()
        self.conv1 = ConvBN(dim, out_dim, 1)
        self.conv2 = ConvBN(out_dim, out_dim, 3, stride=stride, groups=out_dim)
        self.conv3 = ConvBN(out_dim, out_dim, 1)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.conv1(x))
        x = self.act(self.conv2(x))
        return self.conv3(x)


def relative_offset_index(window: int) -> torch.Tensor:
    """[w*w, w*w] index into a table of w*w learned biases, one per (|row offset|, |column offset|).

    Tokens of a window are numbered row-major; the pair (dr, dc) maps to entry dr * w + dc, so the bias
    of a pair depends only on how far apart the two tokens are, not on their direction.
    """
    coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
    delta = (coords[:, :, None] - coords[:, None, :]).abs()
    return delta[0] * window + delta[1]


class WindowAttention(nn.Module):
    """Multi-head self-attention over the tokens of one window, with a learned bias per relative offset."""

    def __init__(self, dim: int, num_heads: int, window: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim**-0.5
        # parameter before the submodules: matches the checkpoint's key order
        self.attention_biases = nn.Parameter(torch.zeros(num_heads, window * window))
        self.norm = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.register_buffer("offset_index", relative_offset_index(window), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: [windows, tokens, dim]
        n_tokens, dim = x.shape[1], x.shape[2]
        # the projection is laid out per head as [q | k | v], each head_dim wide
        qkv = self.qkv(self.norm(x)).reshape(-1, n_tokens, self.num_heads, 3 * self.head_dim)
        q, k, v = qkv.transpose(1, 2).split(self.head_dim, dim=-1)
        logits = (q @ k.transpose(-2, -1)) * self.scale + self.attention_biases[:, self.offset_index]
        out = logits.softmax(dim=-1) @ v  # [windows, heads, tokens, head_dim]
        return self.proj(out.transpose(1, 2).reshape(-1, n_tokens, dim))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(self.norm(x))))


class TinyViTBlock(nn.Module):
    """Windowed attention (zero-padded to whole windows, no mask), a 3x3 depthwise conv, then an MLP."""

    def __init__(self, dim: int, num_heads: int, window: int, resolution: int, config: TinyVitConfig) -> None:
        super().__init__()
        self.window = window
        self.resolution = resolution
        self.attn = WindowAttention(dim, num_heads, window)
        self.mlp = Mlp(dim, int(dim * config.mlp_ratio))
        self.local_conv = ConvBN(dim, dim, config.local_conv_size, groups=dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: [B, H, W, C]
        x = x + self._windowed_attention(x)
        x = self.local_conv(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        return x + self.mlp(x)

    def _windowed_attention(self, x: torch.Tensor) -> torch.Tensor:
        size, w, dim = self.resolution, self.window, x.shape[-1]
        pad = (-size) % w
        if pad:
            # padded tokens take part in the attention like real ones (the checkpoint was trained so)
            x = F.pad(x, (0, 0, 0, pad, 0, pad))
        n = (size + pad) // w
        windows = x.reshape(-1, n, w, n, w, dim).transpose(2, 3).reshape(-1, w * w, dim)
        y = self.attn(windows).reshape(-1, n, n, w, w, dim).transpose(2, 3).reshape(-1, n * w, n * w, dim)
        return y[:, :size, :size] if pad else y


class Stage(nn.Module):
    """A list of `blocks`, then an optional `downsample` (the checkpoint names both)."""

    def __init__(self, blocks: list[nn.Module], downsample: PatchMerging | None) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.downsample = downsample


class TinyViTImageEncoder(nn.Module):
    """Image [N, 3, S, S] (SAM-normalized pixels) -> embedding [N, 256, S/16, S/16]; MobileSAM: S = 1024."""

    def __init__(self, config: TinyVitConfig = MOBILESAM) -> None:
        super().__init__()
        self.config = config
        dims, n_stages = config.embed_dims, len(config.embed_dims)
        self.patch_embed = PatchEmbed(config.in_chans, dims[0])
        stages = []
        for i in range(n_stages):
            resolution = config.stage_resolution(i)
            if i == 0:
                blocks: list[nn.Module] = [
                    MBConv(dims[0], config.mbconv_expand_ratio) for _ in range(config.depths[0])
                ]
            else:
                blocks = [
                    TinyViTBlock(dims[i], config.num_heads[i], config.window_sizes[i], resolution, config)
                    for _ in range(config.depths[i])
                ]
            downsample = None
            if i < n_stages - 1:
                # MobileSAM's change to TinyViT: the merge into the last stage keeps the resolution
                downsample = PatchMerging(dims[i], dims[i + 1], stride=1 if i == n_stages - 2 else 2)
            stages.append(Stage(blocks, downsample))
        self.layers = nn.ModuleList(stages)
        self.norm_head = nn.LayerNorm(dims[-1])
        self.head = nn.Linear(dims[-1], config.num_classes)
        self.neck = nn.Sequential(
            nn.Conv2d(dims[-1], config.neck_dim, 1, bias=False),
            LayerNorm2d(config.neck_dim),
            nn.Conv2d(config.neck_dim, config.neck_dim, 3, padding=1, bias=False),
            LayerNorm2d(config.neck_dim),
        )

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(image)
        for i, stage in enumerate(self.layers):
            if i == 0:
                for block in stage.blocks:
                    x = block(x)
            else:
                x = x.permute(0, 2, 3, 1)
                for block in stage.blocks:
                    x = block(x)
                x = x.permute(0, 3, 1, 2)
            if stage.downsample is not None:
                x = stage.downsample(x)
        return self.neck(x)

    def encoder_parameter_count(self) -> int:
        """Parameters that shape the embedding (the checkpoint also holds the unused classifier head)."""
        unused = {id(p) for m in (self.norm_head, self.head) for p in m.parameters()}
        return sum(p.numel() for p in self.parameters() if id(p) not in unused)
