"""int8 static quantization of the exported network (opt-in: plan.inference.int8), calibrated on training
slices.

onnxruntime's quantize_static, QDQ format: int8 weights per output channel, uint8 activations whose ranges
are the min/max seen while the float network runs on whole training slices, fed exactly as Node feeds them
at inference (whole_slice_inputs). Only convolutions are quantized, and not all: instance normalization,
LeakyReLU and the concatenations stay float (cheap, and the normalization is what keeps int8 activations in
range), and so do the first convolution (one input channel: nothing to gain) and the segmentation head (its
outputs are the logits whose argmax is the label). Node runs the file with `nnsam predict --precision int8`;
it stays opt-in until it meets the rule in docs/engine.md (ACDC validation Dice within 0.005 of float32,
under 0.5 % of voxel labels changed). MinMax calibration: percentile and entropy calibrators of onnxruntime
stack the collected tensors and fail on slices of different sizes.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .augmentation import whole_slice_inputs
from .data import Dataset, Slice
from .network import stage_strides

INT8_FILE = "network-int8.onnx"
#: Calibration slices at most: ranges settle after a few; each costs a float forward pass.
MAX_CALIBRATION_SLICES = 16


def calibration_feeds(slices: list[Slice], plan: dict[str, Any]) -> list[dict[str, np.ndarray]]:
    """Whole slices as Node feeds them at inference (padded at the end to the divisibility, at least the
    patch)."""
    network = plan["network"]
    emb = plan.get("embedding")
    stride = tuple(stage_strides(network)[int(emb["stage"])]) if emb else None
    feeds = []
    for s in slices:
        image, e = whole_slice_inputs(s, tuple(network["divisibleBy"]), stride, tuple(network["patchSize"]))
        feed = {"image": image.numpy().astype(np.float32)}
        if e is not None:
            feed["embedding"] = e.float().numpy()
        feeds.append(feed)
    return feeds


def calibration_slices(ds: Dataset) -> list[Slice]:
    """Training slices (labelled), then unlabelled ones; MAX_CALIBRATION_SLICES at most, evenly spaced."""
    pool = ds.train + ds.unlabelled
    if len(pool) <= MAX_CALIBRATION_SLICES:
        return pool
    picks = np.linspace(0, len(pool) - 1, MAX_CALIBRATION_SLICES).round().astype(int)
    return [pool[i] for i in picks]


def quantize_network(fp32_path: str, out_path: str, feeds: list[dict[str, np.ndarray]]) -> dict:
    """Writes the int8 network; returns how it compares with the float one on the calibration feeds."""
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter(feeds)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.items, None)

    import onnx

    graph = onnx.load(fp32_path).graph
    kept_float = [n.name for n in graph.node
                  if n.op_type == "Conv" and ("image" in n.input or "logits" in n.output)]
    tmp = out_path + ".tmp"
    quantize_static(fp32_path, tmp, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    op_types_to_quantize=["Conv", "ConvTranspose"], nodes_to_exclude=kept_float)
    os.replace(tmp, out_path)
    sessions = [ort.InferenceSession(p, providers=["CPUExecutionProvider"]) for p in (fp32_path, out_path)]
    changed = total = 0
    max_abs = 0.0
    for feed in feeds:
        ref, got = (s.run(["logits"], feed)[0] for s in sessions)
        changed += int((ref.argmax(1) != got.argmax(1)).sum())
        total += ref.shape[0] * ref.shape[2] * ref.shape[3]
        max_abs = max(max_abs, float(np.abs(ref - got).max()))
    return {"file": os.path.basename(out_path), "calibrationSlices": len(feeds),
            "labelsChanged": changed / max(1, total), "maxAbsDiff": max_abs}


def export_int8(ds: Dataset, out_dir: str) -> dict:
    """network-int8.onnx next to network.onnx, calibrated on the run's training slices."""
    feeds = calibration_feeds(calibration_slices(ds), ds.plan)
    return quantize_network(os.path.join(out_dir, "network.onnx"), os.path.join(out_dir, INT8_FILE), feeds)
