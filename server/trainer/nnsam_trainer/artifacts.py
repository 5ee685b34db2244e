"""What a training run reads and writes besides its data folder: the --init weights it starts from,
weights.pt (what a later warm start begins from), checkpoints/ (latest and best), and the exported networks
(network.onnx, checked against PyTorch; network-int8.onnx when the plan asks for it)."""

from __future__ import annotations

import os

import torch

from .data import Dataset
from .export import export_onnx
from .progress import Progress
from .quantize import export_int8


class InitError(Exception):
    """--init weights that are missing, unreadable or do not fit the plan's network; the message says which."""


#: the trained network's weights (float16 state dict) in the output folder: what a warm start begins from
WEIGHTS_FILE = "weights.pt"


def load_initial_weights(net: torch.nn.Module, path: str) -> None:
    """Starts `net` from the weights a previous run saved; every tensor must be there with its shape."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InitError(f"{path} is missing") from None
    except Exception as e:  # noqa: BLE001 - any unreadable file gets the same clear message
        raise InitError(f"{path} is not a weights file: {type(e).__name__}: {str(e)[:200]}") from None
    if not isinstance(state, dict):
        raise InitError(f"{path} is not a weights file (no state dict)")
    own = net.state_dict()
    problems = [f"{k} is missing" for k in own if k not in state]
    problems += [f"{k} is not in this network" for k in state if k not in own]
    problems += [f"{k} has shape {list(state[k].shape)}, the network {list(own[k].shape)}"
                 for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise InitError(f"{path} does not fit this plan's network: {'; '.join(problems[:3])}{more}")
    net.load_state_dict({k: v.float() for k, v in state.items()})


def save_weights(net: torch.nn.Module, out: str) -> str:
    """The network's weights as float16 (half the size; a starting point needs no more precision)."""
    path = os.path.join(out, WEIGHTS_FILE)
    tmp = path + ".tmp"
    torch.save({k: v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu()
                for k, v in net.state_dict().items()}, tmp)
    os.replace(tmp, path)
    return path


def export_all(net: torch.nn.Module, ds: Dataset, out: str, progress: Progress) -> tuple[dict, dict | None]:
    """network.onnx (checked against PyTorch), weights.pt, and network-int8.onnx when the plan asks for it:
    (the ONNX check, the int8 export's report or None)."""
    check = export_onnx(net, ds.plan, ds.num_classes, os.path.join(out, "network.onnx"))
    progress.emit("exported", path="network.onnx", maxAbsDiff=check["maxAbsDiff"], inputs=check["inputs"])
    save_weights(net, out)
    progress.emit("exported", path=WEIGHTS_FILE)
    int8 = None
    if ds.plan["inference"]["int8"]:
        int8 = export_int8(ds, out)
        progress.emit("exported", path=int8["file"], labelsChanged=int8["labelsChanged"],
                      calibrationSlices=int8["calibrationSlices"])
    return check, int8


def save_latest(net: torch.nn.Module, optimizer: torch.optim.Optimizer, it: int, ckpt_dir: str) -> None:
    """checkpoints/checkpoint_latest.pt: network and optimizer state (written atomically)."""
    tmp = os.path.join(ckpt_dir, "checkpoint_latest.pt.tmp")
    torch.save({"iteration": it, "network": net.state_dict(), "optimizer": optimizer.state_dict()}, tmp)
    os.replace(tmp, os.path.join(ckpt_dir, "checkpoint_latest.pt"))


def save_best(state: dict[str, torch.Tensor], it: int, dice: float, ckpt_dir: str) -> None:
    """checkpoints/checkpoint_best.pt: the weights of the best validation so far."""
    torch.save({"iteration": it, "network": state, "dice": dice}, os.path.join(ckpt_dir, "checkpoint_best.pt"))
