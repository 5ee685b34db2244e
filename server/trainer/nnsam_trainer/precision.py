"""Mixed precision for the training step: fp16 autocast with a gradient scaler on CUDA (as nnU-Net), bf16
autocast on CPUs that compute bf16 natively, fp32 elsewhere.

Why bf16 on CPU: on a CPU with AVX512-BF16 or AMX, oneDNN's bf16 convolutions ran the CPU plan's step
(160 x 160, batch 4, 16..256 features, forward + backward + AdamW) in 0.25 s against 0.46 s in fp32 on one
core (docs/benchmarks.md): 1.8x the iterations in a wall-clock budget. Without native bf16 the same
kernels are emulated and slower, hence the flag check. bf16 keeps fp32's exponent range, so no loss
scaling is needed; the weights, optimizer state and exported network stay fp32.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

CHOICES = ("auto", "fp32", "bf16", "fp16")


def cpu_has_native_bf16(cpuinfo: str | None = None) -> bool:
    """True when the CPU flags (Linux /proc/cpuinfo) include AVX512-BF16 or AMX-BF16."""
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf8") as f:
                cpuinfo = f.read()
        except OSError:
            return False
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[1].split())
    return bool(flags & {"avx512_bf16", "amx_bf16"})


@dataclass(frozen=True)
class Precision:
    name: str  # "fp32" | "bf16" | "fp16"
    device_type: str

    @property
    def dtype(self) -> torch.dtype | None:
        return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.name)

    @property
    def needs_scaler(self) -> bool:
        return self.name == "fp16"

    def autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)


def choose_precision(device: torch.device, requested: str = "auto", cpuinfo: str | None = None) -> Precision:
    if requested not in CHOICES:
        raise ValueError(f"precision {requested!r} is not one of {', '.join(CHOICES)}")
    if requested == "auto":
        if device.type == "cuda":
            requested = "fp16"
        else:
            requested = "bf16" if cpu_has_native_bf16(cpuinfo) else "fp32"
    if requested == "fp16" and device.type != "cuda":
        raise ValueError("fp16 training needs a CUDA device (on CPU use bf16 or fp32)")
    return Precision(requested, device.type)
