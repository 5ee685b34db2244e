"""Training end to end on synthetic slices: learning, determinism, export equivalence, errors, cancellation."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import onnxruntime as ort
import pytest
import torch
from synthetic import write_folder

from nnsam_trainer.augmentation import whole_slice_inputs
from nnsam_trainer.data import load_dataset
from nnsam_trainer.export import export_onnx, max_abs_difference
from nnsam_trainer.network import build_network

TRAINER_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_trainer(data: str, out: str, *extra: str, check=True):
    cmd = [sys.executable, "-m", "nnsam_trainer", "train", "--data", data, "--out", out, "--threads", "1", *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=TRAINER_ROOT)
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    if check:
        assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc.returncode, lines


def test_learns_the_synthetic_task_and_reports_progress(tmp_path):
    data = write_folder(str(tmp_path / "data"), n_train=6, n_val=2)
    out = str(tmp_path / "out")
    _, lines = run_trainer(data, out, "--max-iterations", "150", "--val-every", "50", "--seed", "3")
    types = [line["type"] for line in lines]
    assert types[0] == "start" and types[-1] == "done" and "exported" in types
    its = [line for line in lines if line["type"] == "iteration"]
    assert its[0]["iteration"] == 1 and {"loss", "lr", "seconds", "itPerSec"} <= its[0].keys()
    # poly schedule: the learning rate decreases monotonically
    lrs = [line["lr"] for line in its]
    assert lrs[0] == pytest.approx(1e-3) and all(a >= b for a, b in zip(lrs, lrs[1:]))
    assert np.mean([line["loss"] for line in its[-20:]]) < np.mean([line["loss"] for line in its[:20]]) - 0.3
    metrics = json.load(open(os.path.join(out, "metrics.json")))
    # chance level on this task is ~0.1 Dice; measured 0.85-0.95 after 150 iterations
    assert metrics["validation"]["bestDice"] > 0.6
    assert os.path.exists(os.path.join(out, "network.onnx"))
    assert os.path.exists(os.path.join(out, "checkpoints", "checkpoint_latest.pt"))
    log = [json.loads(line) for line in open(os.path.join(out, "training_log.jsonl"))]
    assert log == lines


def test_same_seed_same_loss_curve_different_seed_differs(tmp_path):
    data = write_folder(str(tmp_path / "data"), embedding=True)
    curves = []
    for n, seed in enumerate(["7", "7", "8"]):
        _, lines = run_trainer(data, str(tmp_path / f"out{n}"), "--max-iterations", "12", "--seed", seed)
        curves.append([line["loss"] for line in lines if line["type"] == "iteration"])
    assert len(curves[0]) == 12
    assert curves[0] == curves[1]
    assert curves[0] != curves[2]


@pytest.mark.parametrize("embedding", [False, True])
def test_onnx_export_matches_pytorch(tmp_path, embedding):
    data = write_folder(str(tmp_path / "data"), embedding=embedding)
    ds = load_dataset(data)
    torch.manual_seed(0)
    net = build_network(ds.plan, ds.num_classes)
    path = str(tmp_path / "network.onnx")
    result = export_onnx(net, ds.plan, ds.num_classes, path)
    print(f"max |PyTorch - onnxruntime| (embedding={embedding}): {result['maxAbsDiff']:.3e}")
    assert result["maxAbsDiff"] < 1e-4
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == (["image", "embedding"] if embedding else ["image"])
    # dynamic size: a whole validation slice (padded like Node pads it) runs through the same file
    s = ds.val[0]
    stride = tuple(ds.plan["embedding"]["stride"]) if embedding else None
    image, emb = whole_slice_inputs(s, (4, 4), stride, (48, 44))
    args = (image, emb) if embedding else (image,)
    diff = max_abs_difference(net, path, args)
    print(f"max |PyTorch - onnxruntime| at {list(image.shape[2:])}: {diff:.3e}")
    assert diff < 1e-4


def test_a_25d_network_learns_from_the_neighbouring_slices_and_exports_them_as_channels(tmp_path):
    data = write_folder(str(tmp_path / "data"), n_train=6, n_val=2, input_slices=3)
    ds = load_dataset(data)
    assert tuple(ds.train[0].image.shape) == (3, 40, 36)
    out = str(tmp_path / "out")
    run_trainer(data, out, "--max-iterations", "100", "--val-every", "50", "--seed", "3")
    metrics = json.load(open(os.path.join(out, "metrics.json")))
    assert metrics["validation"]["bestDice"] > 0.6  # chance ~0.1, as the 2D run above
    assert metrics["export"]["maxAbsDiff"] < 1e-3
    sess = ort.InferenceSession(os.path.join(out, "network.onnx"), providers=["CPUExecutionProvider"])
    assert sess.get_inputs()[0].shape[1] == 3


def test_a_25d_plan_refuses_2d_images_naming_the_file(tmp_path):
    data = write_folder(str(tmp_path / "data"), input_slices=3)
    path = os.path.join(data, "slices", "s0_image.npy")
    np.save(path, np.load(path)[1])
    code, lines = run_trainer(data, str(tmp_path / "out"), "--max-iterations", "2", check=False)
    assert code == 2
    assert lines[-1]["code"] == "invalid_training_data"
    assert "s0_image.npy" in lines[-1]["message"] and "[3, 40, 36]" in lines[-1]["message"]


def test_a_warm_start_begins_where_the_earlier_model_ended(tmp_path):
    data = write_folder(str(tmp_path / "data"), n_train=6, n_val=2)
    first = str(tmp_path / "first")
    run_trainer(data, first, "--max-iterations", "150", "--val-every", "50", "--seed", "3")
    weights = os.path.join(first, "weights.pt")
    assert json.load(open(os.path.join(first, "metrics.json")))["weights"] == "weights.pt"

    def after_10(*extra):
        _, lines = run_trainer(data, str(tmp_path / f"run{len(extra)}"), "--max-iterations", "10",
                               "--val-every", "10", "--seed", "4", *extra)
        start = next(line for line in lines if line["type"] == "start")
        first_loss = next(line["loss"] for line in lines if line["type"] == "iteration")
        dice = next(line["dice"] for line in lines if line["type"] == "validation")
        return start["warmStart"], first_loss, dice

    cold, warm = after_10(), after_10("--init", weights)
    assert cold[0] is False and warm[0] is True
    assert warm[1] < cold[1]  # the first step already sees a trained network
    assert warm[2] > 0.6 and warm[2] > cold[2] + 0.2  # 10 iterations from scratch stay near chance


def test_warm_start_weights_that_do_not_fit_give_a_clear_error_line(tmp_path):
    other = write_folder(str(tmp_path / "other"), embedding=True)
    run_trainer(other, str(tmp_path / "other-out"), "--max-iterations", "2")
    data = write_folder(str(tmp_path / "data"))
    for weights, says in [(str(tmp_path / "other-out" / "weights.pt"), "does not fit this plan's network"),
                          (str(tmp_path / "nothing.pt"), "is missing")]:
        code, lines = run_trainer(data, str(tmp_path / "out"), "--max-iterations", "2", "--init", weights,
                                  check=False)
        assert code == 2
        assert lines[-1]["code"] == "invalid_init_weights"
        assert weights in lines[-1]["message"] and says in lines[-1]["message"]


def test_bad_labels_give_a_clear_error_line(tmp_path):
    data = write_folder(str(tmp_path / "data"))
    label_path = os.path.join(data, "slices", "s1_label.npy")
    label = np.load(label_path)
    label[0, 0] = 9
    np.save(label_path, label)
    code, lines = run_trainer(data, str(tmp_path / "out"), "--max-iterations", "2", check=False)
    assert code == 2
    assert lines[-1]["type"] == "error" and lines[-1]["code"] == "invalid_training_data"
    assert "s1_label.npy" in lines[-1]["message"] and "[9]" in lines[-1]["message"]


def test_sigterm_cancels_without_exporting(tmp_path):
    data = write_folder(str(tmp_path / "data"))
    out = str(tmp_path / "out")
    cmd = [sys.executable, "-m", "nnsam_trainer", "train", "--data", data, "--out", out, "--threads", "1",
           "--minutes", "5"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=TRAINER_ROOT)
    # wait until it iterates, then cancel
    for line in proc.stdout:
        if json.loads(line)["type"] == "iteration":
            break
    proc.send_signal(signal.SIGTERM)
    t0 = time.time()
    rest = proc.stdout.read()
    code = proc.wait(timeout=30)
    assert time.time() - t0 < 10
    assert code == 3
    assert json.loads(rest.strip().splitlines()[-1])["type"] == "cancelled"
    assert not os.path.exists(os.path.join(out, "network.onnx"))


def test_nnunet_sgd_remains_selectable(tmp_path):
    data = write_folder(str(tmp_path / "data"))
    _, lines = run_trainer(data, str(tmp_path / "out"), "--max-iterations", "3", "--optimizer", "SGD-nesterov",
                           "--lr", "0.01")
    assert lines[0]["optimizer"] == "SGD-nesterov" and lines[0]["initialLr"] == 0.01
    assert [line["lr"] for line in lines if line["type"] == "iteration"][0] == pytest.approx(0.01)
