"""The nnSAM network: nnU-Net's 2D U-Net whose decoder also receives a frozen SAM image embedding.

The encoder is dynamic_network_architectures' PlainConvEncoder (the encoder of nnU-Net's PlainConvUNet). The
decoder mirrors nnU-Net's UNetDecoder (transposed conv, concatenation with the skip, StackedConvBlocks, one
segmentation head per stage for deep supervision) with one difference: at the stage chosen by the plan
(`embedding.stage`), the SAM embedding, already resampled to that stage's grid, is concatenated with the
skip features. UNetDecoder has no hook for an extra input, hence this small decoder built from the same blocks.
"""

from __future__ import annotations

from typing import Any

import torch
from dynamic_network_architectures.building_blocks.plain_conv_encoder import PlainConvEncoder
from dynamic_network_architectures.building_blocks.simple_conv_blocks import StackedConvBlocks
from dynamic_network_architectures.initialization.weight_init import InitWeights_He
from torch import nn

NORM_KWARGS = {"eps": 1e-5, "affine": True}
NONLIN_KWARGS = {"inplace": True}


class NnsamDecoder(nn.Module):
    def __init__(self, encoder: PlainConvEncoder, num_classes: int, n_conv_per_stage: list[int],
                 embedding_stage: int | None, embedding_channels: int):
        super().__init__()
        features = list(encoder.output_channels)
        n = len(features)
        self.embedding_stage = embedding_stage
        self.transpconvs = nn.ModuleList()
        self.stages = nn.ModuleList()
        self.seg_layers = nn.ModuleList()
        # decoder step s (1..n-1) upsamples stage n-s and merges it with the skip of encoder stage n-1-s
        for s in range(1, n):
            skip_stage = n - 1 - s
            below, skip = features[-s], features[skip_stage]
            stride = encoder.strides[-s]
            self.transpconvs.append(nn.ConvTranspose2d(below, skip, stride, stride, bias=encoder.conv_bias))
            extra = embedding_channels if skip_stage == embedding_stage else 0
            self.stages.append(StackedConvBlocks(
                n_conv_per_stage[s - 1], nn.Conv2d, 2 * skip + extra, skip, encoder.kernel_sizes[skip_stage], 1,
                encoder.conv_bias, nn.InstanceNorm2d, NORM_KWARGS, None, None, nn.LeakyReLU, NONLIN_KWARGS))
            self.seg_layers.append(nn.Conv2d(skip, num_classes, 1, 1, 0, bias=True))

    def forward(self, skips: list[torch.Tensor], embedding: torch.Tensor | None, deep_supervision: bool):
        x = skips[-1]
        n = len(skips)
        outputs = []
        for s in range(len(self.stages)):
            skip_stage = n - 2 - s
            x = self.transpconvs[s](x)
            parts = [x, skips[skip_stage]]
            if skip_stage == self.embedding_stage:
                parts.append(embedding)
            x = self.stages[s](torch.cat(parts, 1))
            if deep_supervision:
                outputs.append(self.seg_layers[s](x))
            elif s == len(self.stages) - 1:
                outputs.append(self.seg_layers[s](x))
        # highest resolution first, as nnU-Net's deep supervision loss expects
        return outputs[::-1]


class NnsamUNet(nn.Module):
    """forward(image [N,K,H,W], embedding [N,C,H/s,W/s] or None) -> logits (list when deep_supervision).

    K = network.inputSlices: 1, or the slice and its neighbours as channels (2.5D)."""

    def __init__(self, network_plan: dict[str, Any], num_classes: int, embedding_channels: int = 0,
                 embedding_stage: int | None = None, deep_supervision: bool = True):
        super().__init__()
        strides = [list(s) for s in network_plan["strides"]]
        kernels = [list(k) for k in network_plan["kernelSizes"]]
        n_stages = len(strides)
        if embedding_channels and (embedding_stage is None or not 0 <= embedding_stage < n_stages - 1):
            raise ValueError(f"embedding stage {embedding_stage} is not a decoder stage (0..{n_stages - 2})")
        self.encoder = PlainConvEncoder(
            int(network_plan["inputSlices"]), n_stages, list(network_plan["featuresPerStage"]), nn.Conv2d, kernels, strides,
            list(network_plan["nConvEncoder"]), conv_bias=True, norm_op=nn.InstanceNorm2d,
            norm_op_kwargs=NORM_KWARGS, nonlin=nn.LeakyReLU, nonlin_kwargs=NONLIN_KWARGS, return_skips=True)
        self.decoder = NnsamDecoder(self.encoder, num_classes, list(network_plan["nConvDecoder"]),
                                    embedding_stage if embedding_channels else None, embedding_channels)
        self.embedding_channels = embedding_channels
        self.deep_supervision = deep_supervision
        self.apply(InitWeights_He(1e-2))

    def forward(self, image: torch.Tensor, embedding: torch.Tensor | None = None):
        if self.embedding_channels and embedding is None:
            raise ValueError("this network needs the SAM embedding as second input")
        outputs = self.decoder(self.encoder(image), embedding, self.deep_supervision)
        return outputs if self.deep_supervision else outputs[0]


def stage_strides(network_plan: dict[str, Any]) -> list[tuple[int, int]]:
    """Cumulative stride (rows, cols) of every encoder stage relative to the input."""
    out, sy, sx = [], 1, 1
    for st in network_plan["strides"]:
        sy, sx = sy * st[0], sx * st[1]
        out.append((sy, sx))
    return out


def build_network(plan: dict[str, Any], num_classes: int, deep_supervision: bool = True) -> NnsamUNet:
    emb = plan.get("embedding")
    channels = int(emb["channels"]) if emb else 0
    stage = int(emb["stage"]) if emb else None
    return NnsamUNet(plan["network"], num_classes, channels, stage, deep_supervision)
