"""bench/src/onnx-conv.ts via roofline.js: a valid ONNX convolution that computes what PyTorch computes."""

import subprocess

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import numpy_helper

from nnsam_bench.paths import BENCH_DIR, REPO_ROOT

SCRIPT = BENCH_DIR / "dist" / "roofline.js"


@pytest.fixture(scope="module")
def compiled():
    subprocess.run(["npx", "tsc", "-p", "bench"], cwd=REPO_ROOT, check=True)
    return SCRIPT


@pytest.mark.parametrize("kernel", [1, 3])
def test_the_probe_convolution_is_a_valid_onnx_conv(tmp_path, compiled, kernel):
    path = tmp_path / "conv.onnx"
    subprocess.run(["node", str(compiled), "conv", "--cin", "3", "--cout", "5", "--kernel", str(kernel), "--out",
                    str(path)], check=True)
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    weights = {t.name: numpy_helper.to_array(t).copy() for t in model.graph.initializer}
    assert weights["w"].shape == (5, 3, kernel, kernel) and weights["b"].shape == (5,)
    x = np.random.default_rng(0).standard_normal((2, 3, 9, 7)).astype(np.float32)
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(["y"], {"x": x})[0]
    want = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(weights["w"]),
                                      torch.from_numpy(weights["b"]), padding=kernel // 2).numpy()
    assert got.shape == (2, 5, 9, 7)
    assert np.abs(got - want).max() < 1e-5
