"""bench/src/ort-node-speed.ts: raw float32 in and out, same numbers as PyTorch, clear errors."""

import json
import subprocess

import numpy as np
import pytest
import torch

from nnsam_bench.paths import BENCH_DIR, REPO_ROOT

SCRIPT = BENCH_DIR / "dist" / "ort-node-speed.js"


@pytest.fixture(scope="module")
def compiled():
    subprocess.run(["npx", "tsc", "-p", "bench"], cwd=REPO_ROOT, check=True)
    return SCRIPT


@pytest.fixture()
def tiny_model(tmp_path):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3, padding=1), torch.nn.ReLU()).eval()
    path = tmp_path / "tiny.onnx"
    torch.onnx.export(net, (torch.zeros(2, 1, 8, 6),), str(path), input_names=["image"], output_names=["out"],
                      opset_version=17, dynamo=False)
    return net, path


def test_times_the_model_and_returns_its_output(tmp_path, compiled, tiny_model):
    net, model = tiny_model
    x = np.random.default_rng(1).standard_normal((2, 1, 8, 6)).astype("<f4")
    x.tofile(tmp_path / "x.f32")
    proc = subprocess.run(["node", str(compiled), "--model", str(model), "--input", str(tmp_path / "x.f32"),
                           "--shape", "2,1,8,6", "--runs", "3", "--warmup", "1", "--threads", "1",
                           "--output", str(tmp_path / "y.f32")], capture_output=True, text=True, check=True)
    timing = json.loads(proc.stdout)
    assert timing["runtime"] == "onnxruntime-node"
    assert len(timing["seconds"]) == 3 and len(timing["warmupSeconds"]) == 1
    assert timing["outputShape"] == [2, 3, 8, 6] and timing["threads"] == 1
    got = np.fromfile(tmp_path / "y.f32", dtype="<f4").reshape(2, 3, 8, 6)
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    assert np.abs(got - want).max() < 1e-5


def test_an_input_of_the_wrong_size_is_refused(tmp_path, compiled, tiny_model):
    _, model = tiny_model
    np.zeros(10, dtype="<f4").tofile(tmp_path / "x.f32")
    proc = subprocess.run(["node", str(compiled), "--model", str(model), "--input", str(tmp_path / "x.f32"),
                           "--shape", "2,1,8,6"], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "input holds 10 values; shape [2,1,8,6] needs 96" in proc.stderr
