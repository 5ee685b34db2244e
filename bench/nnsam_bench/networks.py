"""The nnU-Net 2D network the speed benchmarks run, built by nnU-Net's own builder from a plans entry.

ACDC_2D is what nnU-Net v2.8.1 planned for the ACDC few-shot datasets here (2d configuration: 6 stages,
32..512 features, patch 256 x 224, batch 2). A plans.json from any run can be used instead.
"""

from __future__ import annotations

import json
from pathlib import Path

ACDC_2D: dict = {
    "network_class_name": "dynamic_network_architectures.architectures.unet.PlainConvUNet",
    "arch_kwargs": {
        "n_stages": 6,
        "features_per_stage": [32, 64, 128, 256, 512, 512],
        "conv_op": "torch.nn.modules.conv.Conv2d",
        "kernel_sizes": [[3, 3]] * 6,
        "strides": [[1, 1], [2, 2], [2, 2], [2, 2], [2, 2], [2, 2]],
        "n_conv_per_stage": [2, 2, 2, 2, 2, 2],
        "n_conv_per_stage_decoder": [2, 2, 2, 2, 2],
        "conv_bias": True,
        "norm_op": "torch.nn.modules.instancenorm.InstanceNorm2d",
        "norm_op_kwargs": {"eps": 1e-05, "affine": True},
        "dropout_op": None,
        "dropout_op_kwargs": None,
        "nonlin": "torch.nn.LeakyReLU",
        "nonlin_kwargs": {"inplace": True},
    },
    "_kw_requires_import": ["conv_op", "norm_op", "dropout_op", "nonlin"],
    "input_channels": 1,
    "num_classes": 4,
    "patch_size": [256, 224],
    "batch_size": 2,
    "source": "nnU-Net v2.8.1 2d plans for the ACDC few-shot datasets (built in)",
}


def spec_from_plans(plans_path: Path, configuration: str = "2d") -> dict:
    """A network spec from an nnU-Net plans.json (+ the dataset.json next to it for the class count)."""
    plans = json.loads(Path(plans_path).read_text())
    config = plans["configurations"][configuration]
    dataset = json.loads((Path(plans_path).parent / "dataset.json").read_text())
    labels = [v for k, v in dataset["labels"].items() if k != "ignore"]
    return {
        **config["architecture"],
        "input_channels": len(dataset["channel_names"]),
        "num_classes": len(labels),
        "patch_size": config["patch_size"],
        "batch_size": config["batch_size"],
        "source": str(plans_path),
    }


def build_network(spec: dict, deep_supervision: bool = False):
    from nnunetv2.utilities.get_network_from_plans import get_network_from_plans

    return get_network_from_plans(spec["network_class_name"], spec["arch_kwargs"], spec["_kw_requires_import"],
                                  spec["input_channels"], spec["num_classes"], allow_init=True,
                                  deep_supervision=deep_supervision)


def export_onnx(network, shape: list[int], out: Path) -> Path:
    """Exports an inference network (no deep supervision) to ONNX opset 17 with a dynamic batch axis."""
    import warnings

    import torch

    network = network.eval()
    example = torch.zeros(shape)
    tmp = out.with_suffix(".tmp.onnx")
    with warnings.catch_warnings():
        # instance norm always normalises with the input's own statistics: "train=True" is what it computes
        warnings.filterwarnings("ignore", message=".*instance_norm.*")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        torch.onnx.export(network, (example,), str(tmp), input_names=["image"], output_names=["logits"],
                          dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17,
                          dynamo=False)
    tmp.rename(out)
    return out
