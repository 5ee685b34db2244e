"""ONNX export of the full-size encoder: a valid opset-17 file with a dynamic batch that onnxruntime runs
like PyTorch. One export and one extra forward per runtime keep this within the test budget."""

import json
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from nnsam_trainer.encoders import load_image_encoder


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "nnsam_trainer", "encoder", *args], capture_output=True, text=True, check=False
    )


def events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def exported(random_checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx") / "mobilesam-encoder.onnx"
    done = run_cli("export", "--checkpoint", random_checkpoint["path"], "--out", str(out), "--threads", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    return out, events(done.stdout)


def test_export_reports_progress_and_result(exported, random_checkpoint):
    out, lines = exported
    assert [e["event"] for e in lines[:-1]] == ["progress"] * (len(lines) - 1)
    result = lines[-1]
    assert result["event"] == "result"
    assert result["source_sha256"] == random_checkpoint["sha256"]
    assert result["parameters"] == 5_743_892
    assert 0 <= result["max_abs_diff"] < 1e-3
    assert result["bytes"] == out.stat().st_size
    print(f"\nexport: {result['bytes'] / 1e6:.1f} MB, max abs diff {result['max_abs_diff']:.3g}")


def test_onnx_file_is_valid_with_contract_names_and_metadata(exported, random_checkpoint):
    out, _ = exported
    onnx.checker.check_model(str(out))
    model = onnx.load(str(out))
    assert {o.domain: o.version for o in model.opset_import}.get("", None) == 17
    metadata = {p.key: p.value for p in model.metadata_props}
    assert metadata["encoder"] == "mobilesam"
    assert metadata["source_sha256"] == random_checkpoint["sha256"]

    def dims(value_info):
        return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]

    assert [i.name for i in model.graph.input] == ["image"]
    assert [o.name for o in model.graph.output] == ["embedding"]
    assert dims(model.graph.input[0]) == ["batch", 3, 1024, 1024]
    assert dims(model.graph.output[0]) == ["batch", 256, 64, 64]
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT


def test_onnxruntime_matches_pytorch_for_a_batch_of_two(exported, random_checkpoint):
    out, _ = exported
    x = torch.randn(2, 3, 1024, 1024, generator=torch.Generator().manual_seed(42))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(str(out), options, providers=["CPUExecutionProvider"])
    (got,) = session.run(["embedding"], {"image": x.numpy()})
    with torch.no_grad():
        want = load_image_encoder(random_checkpoint["path"])(x).numpy()
    assert got.shape == (2, 256, 64, 64)
    diff = float(np.abs(got - want).max())
    print(f"\nbatch of 2: max abs diff PyTorch vs onnxruntime {diff:.3g}")
    assert diff < 1e-3
    assert not np.allclose(got[0], got[1])  # two different inputs give two different embeddings


def test_export_of_a_bad_checkpoint_fails_cleanly(tmp_path):
    bad = tmp_path / "mobile_sam.pt"
    torch.save({"image_encoder.neck.0.weight": torch.zeros(1)}, bad)
    out = tmp_path / "enc.onnx"
    done = run_cli("export", "--checkpoint", str(bad), "--out", str(out))
    assert done.returncode == 1
    error = events(done.stdout)[-1]
    assert error["event"] == "error" and error["code"] == "encoder_checkpoint_invalid"
    assert "missing key(s)" in error["message"] and "mobile_sam.pt" in error["message"]
    assert list(tmp_path.iterdir()) == [bad]  # neither the ONNX file nor a temporary one


def test_export_of_a_missing_checkpoint(tmp_path):
    done = run_cli("export", "--checkpoint", str(tmp_path / "absent.pt"), "--out", str(tmp_path / "x.onnx"))
    assert done.returncode == 1
    error = events(done.stdout)[-1]
    assert error["code"] == "encoder_checkpoint_invalid" and "checkpoint not found" in error["message"]
