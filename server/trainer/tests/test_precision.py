"""Autocast precision: bf16 only where the CPU computes it natively, fp16 only on CUDA, and a bf16 run learns."""

import json
import os

import pytest
import torch
from synthetic import write_folder
from test_training import run_trainer

from nnsam_trainer.precision import choose_precision, cpu_has_native_bf16

CPU = torch.device("cpu")
ZEN3 = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512bw\n"
SAPPHIRE = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"


def test_native_bf16_is_read_from_the_cpu_flags():
    assert cpu_has_native_bf16(SAPPHIRE) and not cpu_has_native_bf16(ZEN3)
    assert not cpu_has_native_bf16("")


def test_auto_picks_bf16_only_with_native_support_and_fp16_only_on_cuda():
    assert choose_precision(CPU, "auto", SAPPHIRE).name == "bf16"
    assert choose_precision(CPU, "auto", ZEN3).name == "fp32"
    assert choose_precision(torch.device("cuda"), "auto", ZEN3).name == "fp16"
    assert choose_precision(CPU, "fp32", SAPPHIRE).dtype is None
    assert choose_precision(CPU, "bf16", ZEN3).dtype is torch.bfloat16  # asked for: allowed, only slower
    with pytest.raises(ValueError, match="fp16 training needs a CUDA device"):
        choose_precision(CPU, "fp16")
    with pytest.raises(ValueError, match="not one of"):
        choose_precision(CPU, "int8")


def test_a_bf16_run_learns_the_synthetic_task_and_exports_fp32(tmp_path):
    data = write_folder(str(tmp_path / "data"), n_train=6, n_val=2)
    plan_path = os.path.join(data, "plan.json")
    plan = json.load(open(plan_path))
    plan["training"]["precision"] = "bf16"
    json.dump(plan, open(plan_path, "w"))
    out = str(tmp_path / "out")
    _, lines = run_trainer(data, out, "--max-iterations", "150", "--val-every", "50", "--seed", "3")
    assert lines[0]["precision"] == "bf16"
    metrics = json.load(open(os.path.join(out, "metrics.json")))
    assert metrics["precision"] == "bf16"
    # the fp32 bar of test_training (chance ~0.1)
    assert metrics["validation"]["bestDice"] > 0.6
    # the exported network is fp32 and matches PyTorch (checked by the trainer at export)
    assert metrics["export"]["maxAbsDiff"] < 1e-3
