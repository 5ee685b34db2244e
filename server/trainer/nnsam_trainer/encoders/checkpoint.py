"""Loading MobileSAM's image encoder from a checkpoint, and writing random checkpoints for tests.

Accepted files: the full SAM checkpoint (`mobile_sam.pt`: `image_encoder.*`, `prompt_encoder.*`,
`mask_decoder.*`; only the first are used) or an encoder-only state dict (the same keys without the
prefix), optionally nested under "model" or "state_dict". Loading is strict: every encoder key must be
there with its exact shape, nothing else may be. The one tolerance: BatchNorm's `num_batches_tracked`
counters may be absent (they do not affect inference and some re-saved checkpoints drop them).
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Mapping
from pathlib import Path

import torch

from .tiny_vit import MOBILESAM, TinyVitConfig, TinyViTImageEncoder

PREFIX = "image_encoder."
OPTIONAL_SUFFIX = "num_batches_tracked"


class EncoderCheckpointError(ValueError):
    """A checkpoint that cannot be used as MobileSAM's image encoder; the message says why and where."""


def sha256_file(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _listing(keys: list[str], limit: int = 5) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """The tensors of a checkpoint file (weights_only: no code in the file is run)."""
    path = Path(path)
    if not path.is_file():
        raise EncoderCheckpointError(f"checkpoint not found: {path}")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise EncoderCheckpointError(
            f"{path} is not a readable PyTorch checkpoint ({type(e).__name__}: {first_line[:200]})"
        ) from e
    for nest in ("model", "state_dict"):
        if isinstance(loaded, Mapping) and isinstance(loaded.get(nest), Mapping):
            loaded = loaded[nest]
    if not isinstance(loaded, Mapping) or not loaded:
        raise EncoderCheckpointError(f"{path} holds a {type(loaded).__name__}, not a state dict of tensors")
    tensors = {k: v for k, v in loaded.items() if isinstance(k, str) and isinstance(v, torch.Tensor)}
    if not tensors:
        raise EncoderCheckpointError(f"{path} holds no named tensors")
    return tensors


def encoder_state_from(state: Mapping[str, torch.Tensor], source: str) -> dict[str, torch.Tensor]:
    """The image encoder's entries, without the `image_encoder.` prefix, from a full or encoder-only dict."""
    if any(k.startswith(PREFIX) for k in state):
        return {k[len(PREFIX) :]: v for k, v in state.items() if k.startswith(PREFIX)}
    if any(k.startswith(("prompt_encoder.", "mask_decoder.")) for k in state):
        raise EncoderCheckpointError(f"{source} is a SAM checkpoint without any image_encoder.* entries")
    return dict(state)


def check_encoder_state(
    state: Mapping[str, torch.Tensor], expected: Mapping[str, torch.Tensor], source: str
) -> None:
    """Raises EncoderCheckpointError naming the missing, unexpected or mis-shaped keys."""
    missing = [k for k in expected if k not in state and not k.endswith(OPTIONAL_SUFFIX)]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing key(s): {_listing([PREFIX + k for k in missing])}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected key(s): {_listing([PREFIX + k for k in unexpected])}")
        hint = ""
        if any(k.startswith(("blocks.", "patch_embed.proj")) for k in unexpected):
            hint = (
                " It looks like an original SAM ViT-B/L/H checkpoint; only MobileSAM (TinyViT) is supported."
            )
        raise EncoderCheckpointError(
            f"{source} does not match MobileSAM's image encoder: {'; '.join(parts)}.{hint}"
        )
    for key, want in expected.items():
        if key in state and tuple(state[key].shape) != tuple(want.shape):
            raise EncoderCheckpointError(
                f"{source}: {PREFIX}{key} has shape {list(state[key].shape)}, "
                f"MobileSAM's image encoder expects {list(want.shape)}"
            )


def load_image_encoder(
    path: str | os.PathLike[str], config: TinyVitConfig = MOBILESAM, device: str | torch.device = "cpu"
) -> TinyViTImageEncoder:
    """MobileSAM's image encoder with the weights of `path`, in eval mode on `device`."""
    state = encoder_state_from(read_checkpoint(path), str(path))
    model = TinyViTImageEncoder(config)
    expected = model.state_dict()
    check_encoder_state(state, expected, str(path))
    complete = {k: state.get(k, v) for k, v in expected.items()}
    model.load_state_dict(complete, strict=True)
    return model.to(device).eval()


def randomize_(model: TinyViTImageEncoder, generator: torch.Generator) -> None:
    """Random values everywhere, including norms and running statistics, so every path carries signal."""
    with torch.no_grad():
        for name, t in model.state_dict(keep_vars=True).items():
            if name.endswith(OPTIONAL_SUFFIX):
                t.fill_(int(torch.randint(1, 10_000, (1,), generator=generator)))
            elif name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=generator) + 0.5)
            elif t.ndim == 1 and name.endswith("weight"):  # norm scales around 1
                t.copy_(1 + 0.2 * torch.randn(t.shape, generator=generator))
            elif t.ndim == 1:  # biases, running means
                t.copy_(0.1 * torch.randn(t.shape, generator=generator))
            elif name.endswith("attention_biases"):
                t.copy_(torch.randn(t.shape, generator=generator))
            else:  # conv and linear weights: uniform with PyTorch's default fan-in bound
                fan_in = t[0].numel()
                bound = (1.0 / fan_in) ** 0.5
                t.copy_((torch.rand(t.shape, generator=generator) * 2 - 1) * bound)


def make_random_checkpoint(
    out: str | os.PathLike[str], seed: int = 0, config: TinyVitConfig = MOBILESAM
) -> dict[str, object]:
    """Writes a full-SAM-style checkpoint with random weights in the official key layout (tests only).

    Besides `image_encoder.*` it holds a few `prompt_encoder.*` / `mask_decoder.*` entries with the
    names of the real file, so loaders are exercised on the same shape of file. It has no useful weights.
    """
    generator = torch.Generator().manual_seed(seed)
    model = TinyViTImageEncoder(config)
    randomize_(model, generator)
    state = {PREFIX + k: v.clone() for k, v in model.state_dict().items()}
    dim = config.neck_dim
    state.update(
        {
            "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix": torch.randn(
                2, dim // 2, generator=generator
            ),
            "prompt_encoder.point_embeddings.0.weight": torch.randn(1, dim, generator=generator),
            "prompt_encoder.no_mask_embed.weight": torch.randn(1, dim, generator=generator),
            "mask_decoder.iou_token.weight": torch.randn(1, dim, generator=generator),
            "mask_decoder.mask_tokens.weight": torch.randn(4, dim, generator=generator),
        }
    )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # saved through a buffer: torch names the archive's inner folder after the file, and the bytes (so the
    # sha256) should depend on the seed only
    buffer = io.BytesIO()
    torch.save(state, buffer)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.write_bytes(buffer.getvalue())
    os.replace(tmp, out)
    return {"path": str(out), "sha256": sha256_file(out), "keys": len(state), "seed": seed}
