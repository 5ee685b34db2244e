"""The frozen SAM image encoder as a module the trainer can call on GPU (online embedding)."""

from __future__ import annotations

import os

import torch
from torch import nn

from .checkpoint import load_image_encoder
from .preprocess import sam_preprocess
from .tiny_vit import MOBILESAM, TinyVitConfig, TinyViTImageEncoder


class FrozenSamEncoder(nn.Module):
    """Slices [B, 1, H, W] -> SAM embeddings [B, 256, 64, 64], never trained.

    Its weights have requires_grad False, it stays in eval mode even when the network around it is put in
    train mode (its batch norms must keep their running statistics), and its forward runs without
    autograd. `chunk` bounds how many slices go through the encoder at once (activation memory).
    """

    def __init__(self, encoder: TinyViTImageEncoder, chunk: int = 8) -> None:
        super().__init__()
        self.encoder = encoder.eval()
        self.encoder.requires_grad_(False)
        self.chunk = max(1, chunk)
        self.input_size = encoder.config.img_size

    @classmethod
    def from_checkpoint(
        cls,
        path: str | os.PathLike[str],
        device: str | torch.device = "cpu",
        config: TinyVitConfig = MOBILESAM,
        chunk: int = 8,
    ) -> FrozenSamEncoder:
        return cls(load_image_encoder(path, config=config, device=device), chunk=chunk)

    def train(self, mode: bool = True) -> FrozenSamEncoder:
        super().train(False)
        return self

    @torch.no_grad()
    def forward(self, slices: torch.Tensor) -> torch.Tensor:
        device = next(self.encoder.parameters()).device
        outputs = []
        for start in range(0, slices.shape[0], self.chunk):
            batch = slices[start : start + self.chunk].to(device)
            outputs.append(self.encoder(sam_preprocess(batch, size=self.input_size)))
        return torch.cat(outputs)
