"""int8 export (plan.inference.int8): which slices calibrate, which convolutions stay float, the file runs."""

import numpy as np
import onnx
import torch
from synthetic import make_plan, write_folder

from nnsam_trainer.data import load_dataset
from nnsam_trainer.export import export_onnx
from nnsam_trainer.network import build_network
from nnsam_trainer.quantize import MAX_CALIBRATION_SLICES, calibration_slices, export_int8


def test_calibrates_on_training_slices_evenly_and_keeps_the_first_and_last_convolution_float(tmp_path):
    data = write_folder(str(tmp_path / "data"), n_train=20, n_val=2, embedding=True)
    ds = load_dataset(data)
    picked = calibration_slices(ds)
    assert len(picked) == MAX_CALIBRATION_SLICES
    assert picked[0] is ds.train[0] and picked[-1] is ds.train[-1]
    assert not set(map(id, picked)) & set(map(id, ds.val))  # held-out slices never calibrate

    torch.manual_seed(0)
    plan = make_plan(embedding=True)
    net = build_network(plan, num_classes=3)
    out = tmp_path / "model"
    out.mkdir()
    export_onnx(net, plan, 3, str(out / "network.onnx"), check=False)
    info = export_int8(ds, str(out))
    assert info["file"] == "network-int8.onnx" and info["calibrationSlices"] == MAX_CALIBRATION_SLICES
    assert 0 <= info["labelsChanged"] < 1 and np.isfinite(info["maxAbsDiff"])
    graph = onnx.load(str(out / "network-int8.onnx")).graph
    quantized = {n.input[0] for n in graph.node if n.op_type == "DequantizeLinear"}
    convs = [n for n in graph.node if n.op_type == "Conv"]
    first = next(n for n in convs if "image" in n.input)
    head = next(n for n in convs if "logits" in n.output)
    assert not any(i.endswith("_DequantizeLinear_Output") for i in first.input)
    assert not any(i.endswith("_DequantizeLinear_Output") for i in head.input)
    assert quantized  # the other convolutions are
    assert sum(any(i.endswith("_DequantizeLinear_Output") for i in n.input) for n in convs) >= len(convs) - 2
