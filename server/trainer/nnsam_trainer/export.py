"""ONNX export of a trained network (opset 17, dynamic batch and spatial size) and its equivalence check.

Inputs: `image` [N, K, H, W] (K = network.inputSlices, 1 for 2D) and, when the model uses a SAM encoder, `embedding` [N, C, H/s, W/s].
Output: `logits` [N, classes, H, W] (highest-resolution head only; no softmax, Node applies it after
test-time augmentation and window blending).
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
import torch


def export_onnx(net: torch.nn.Module, plan: dict[str, Any], num_classes: int, path: str, check: bool = True) -> dict:
    net = net.cpu().float().eval()
    net.deep_supervision = False
    ph, pw = (int(v) for v in plan["network"]["patchSize"])
    emb = plan.get("embedding")
    g = torch.Generator().manual_seed(0)
    image = torch.randn(2, int(plan["network"]["inputSlices"]), ph, pw, generator=g)
    args: tuple = (image,)
    names = ["image"]
    dynamic = {"image": {0: "n", 2: "h", 3: "w"}, "logits": {0: "n", 2: "h", 3: "w"}}
    if emb:
        sy, sx = emb["stride"]
        args = (image, torch.randn(2, int(emb["channels"]), ph // sy, pw // sx, generator=g))
        names.append("embedding")
        dynamic["embedding"] = {0: "n", 2: "eh", 3: "ew"}
    tmp = path + ".tmp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # legacy exporter deprecation and instance-norm training-mode notices
        torch.onnx.export(net, args, tmp, input_names=names, output_names=["logits"], dynamic_axes=dynamic,
                          opset_version=17, dynamo=False)
    os.replace(tmp, path)
    result: dict[str, Any] = {"opset": 17, "inputs": names, "outputs": ["logits"], "numClasses": num_classes}
    if check:
        result["maxAbsDiff"] = max_abs_difference(net, path, args)
    net.deep_supervision = True
    return result


def max_abs_difference(net: torch.nn.Module, path: str, args: tuple) -> float:
    """Largest |PyTorch - onnxruntime| over the logits for the given inputs (CPU, float32)."""
    import onnxruntime as ort

    ds = getattr(net, "deep_supervision", False)
    net.eval()
    net.deep_supervision = False
    with torch.no_grad():
        ref = net(*args).numpy()
    net.deep_supervision = ds
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    feeds = {i.name: a.numpy() for i, a in zip(sess.get_inputs(), args)}
    out = sess.run(["logits"], feeds)[0]
    return float(np.abs(out - ref).max())
