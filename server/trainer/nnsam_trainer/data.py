"""Reads the dataset folder Node writes for one training run (see docs/engine.md, "Trainer data folder").
plan.json and dataset.json are checked against their schemas (contract.py), which also fill in the defaults.

    plan.json      the plan (network topology, patch and batch size, embedding stage, training recipe)
    dataset.json   classes, ignore value, and one entry per labelled slice:
                   {"id", "split": "train"|"val"|"unlabelled", "shape": [H, W], "image", "label"?, "embedding"?}
                   (unlabelled slices have no label file: they feed the semi-supervised loss only)
    slices/*.npy   image float32 [H, W] (preprocessed; [K, H, W] for a 2.5D plan, network.inputSlices = K > 1,
                   the slice itself in the middle channel and its neighbours either side), label uint8 [H, W],
                   embedding float16/32 [C, 64, 64]

Pixels equal to the ignore value carry no supervision.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .contract import InvalidDocument, checked

class DataError(Exception):
    """Bad or inconsistent input data; the message names the file and what is wrong."""


@dataclass
class Slice:
    id: str
    image: torch.Tensor  # float32 [K, H, W]: K = network.inputSlices (1 = 2D), the slice in the middle channel
    label: torch.Tensor  # uint8 [H, W]
    embedding: torch.Tensor | None  # float16/32 [C, gh, gw]
    present_classes: list[int] = field(default_factory=list)
    class_pixels: dict[int, torch.Tensor] = field(default_factory=dict)  # class -> flat indices

    def __post_init__(self):
        if self.image.ndim == 2:  # a 2D slice is one input channel
            self.image = self.image[None]

    @property
    def hw(self) -> tuple[int, int]:
        return int(self.image.shape[-2]), int(self.image.shape[-1])


@dataclass
class Dataset:
    plan: dict[str, Any]
    num_classes: int
    ignore_value: int
    embedding_channels: int
    train: list[Slice]
    val: list[Slice]
    #: slices without labels (split "unlabelled"): every pixel has the ignore value
    unlabelled: list[Slice] = field(default_factory=list)


def index_classes(s: Slice, num_classes: int) -> None:
    """Fills the slice's present classes and their pixel indices (foreground oversampling draws from them)."""
    flat = s.label.flatten()
    s.present_classes, s.class_pixels = [], {}
    for c in range(1, num_classes):
        idx = torch.nonzero(flat == c).flatten()
        if idx.numel():
            s.present_classes.append(c)
            s.class_pixels[c] = idx


def _load_json(path: str, schema: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf8") as f:
            return checked(json.load(f), schema, path)
    except FileNotFoundError:
        raise DataError(f"{path} is missing") from None
    except json.JSONDecodeError as e:
        raise DataError(f"{path} is not valid JSON: {e}") from None
    except InvalidDocument as e:
        raise DataError(str(e)) from None


def _load_npy(folder: str, rel: str, dtypes: tuple[str, ...], shape: tuple[int, ...] | None) -> np.ndarray:
    path = os.path.join(folder, rel)
    try:
        arr = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"{path} is missing") from None
    except ValueError as e:
        raise DataError(f"{path} is not a valid .npy file: {e}") from None
    if arr.dtype.name not in dtypes:
        raise DataError(f"{path} has dtype {arr.dtype.name}, expected {' or '.join(dtypes)}")
    if shape is not None and tuple(arr.shape) != shape:
        raise DataError(f"{path} has shape {list(arr.shape)}, expected {list(shape)}")
    return arr


def load_dataset(folder: str) -> Dataset:
    plan = _load_json(os.path.join(folder, "plan.json"), "plan")
    meta = _load_json(os.path.join(folder, "dataset.json"), "dataset")
    num_classes = int(meta["numClasses"])
    ignore = int(meta["ignoreValue"])
    input_slices = int(plan["network"]["inputSlices"])
    emb = meta["embedding"]
    channels = int(emb["channels"]) if emb else 0
    grid = tuple(emb["grid"]) if emb else None
    if bool(plan["embedding"]) != bool(emb):
        raise DataError("plan.json and dataset.json disagree on whether the network takes a SAM embedding")
    read = _SliceReader(folder, num_classes, ignore, input_slices, channels, grid)
    splits: dict[str, list[Slice]] = {"train": [], "val": [], "unlabelled": []}
    for entry in meta["slices"]:
        s = read(entry)
        splits[entry["split"]].append(s)
    if not splits["train"]:
        raise DataError("dataset.json lists no training slices")
    return Dataset(plan, num_classes, ignore, channels, splits["train"], splits["val"], splits["unlabelled"])


@dataclass
class _SliceReader:
    """Reads and checks one dataset.json entry's files into a Slice (the messages name the file)."""

    folder: str
    num_classes: int
    ignore: int
    input_slices: int
    channels: int
    grid: tuple[int, ...] | None

    def __call__(self, entry: dict[str, Any]) -> Slice:
        shape = tuple(int(v) for v in entry["shape"])
        k = self.input_slices
        image = _load_npy(self.folder, entry["image"], ("float32",), shape if k == 1 else (k, *shape))
        image = image.reshape(k, *shape)
        label = self._label(entry, shape)
        if not np.isfinite(image).all():
            raise DataError(f"{entry['image']} holds NaN or infinite values")
        s = Slice(entry["id"], torch.from_numpy(image.copy()), torch.from_numpy(label.copy()), self._embedding(entry))
        index_classes(s, self.num_classes)
        return s

    def _label(self, entry: dict[str, Any], shape: tuple[int, ...]) -> np.ndarray:
        split = entry["split"]
        if split == "unlabelled":
            label = np.full(shape, self.ignore, dtype=np.uint8)  # no supervision at all on these pixels
        elif "label" not in entry:
            raise DataError(f"slice {entry['id']} ({split}) has no label file")
        else:
            label = _load_npy(self.folder, entry["label"], ("uint8",), shape)
        bad = np.setdiff1d(np.unique(label), np.array(list(range(self.num_classes)) + [self.ignore]))
        if bad.size:
            raise DataError(f"{entry['label']} holds label values {bad.tolist()} outside 0..{self.num_classes - 1}"
                            f" and the ignore value {self.ignore}")
        return label

    def _embedding(self, entry: dict[str, Any]) -> torch.Tensor | None:
        if not self.channels:
            return None
        if "embedding" not in entry:
            raise DataError(f"slice {entry['id']} has no embedding but the plan needs one")
        e = _load_npy(self.folder, entry["embedding"], ("float16", "float32"), (self.channels, *self.grid))
        return torch.from_numpy(e.copy())
