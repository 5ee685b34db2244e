"""Self-training rounds: pseudo-labels only where the mirrored passes agree confidently, never on labelled
slices, and a training run that uses them."""

import json
import os

import numpy as np
import torch
from synthetic import SELF_TRAINING, raw_plan, write_folder
from test_training import run_trainer

from nnsam_trainer.contract import checked
from nnsam_trainer.data import Slice
from nnsam_trainer.self_training import SelfTrainingParams, mean_softmax, params_from_plan, pseudo_label_slices

IGNORE = 255
PLAN = {"network": {"divisibleBy": [4, 4], "patchSize": [8, 8]}, "embedding": None}


class PixelNet(torch.nn.Module):
    """Logits from each pixel's value alone: background 0, class 1 = 4 * value (a stand-in network)."""

    deep_supervision = False

    def forward(self, image, embedding=None):
        return torch.cat([torch.zeros_like(image), 4 * image], dim=1)


def make_slice(image: np.ndarray) -> Slice:
    return Slice("u0", torch.from_numpy(image.astype(np.float32)), torch.full(image.shape, IGNORE, dtype=torch.uint8),
                 None)


def test_pseudo_labels_respect_the_threshold_and_leave_the_rest_ignored():
    image = np.zeros((6, 7), np.float32)
    image[1, 1] = 2.0  # p(class 1) = 1 / (1 + e^-8) ~ 0.9997: confident class 1
    image[2, 2] = 0.1  # p ~ 0.6: unsure
    image[3:, :] = -3.0  # confident background (p ~ 0.999994)
    [pseudo] = pseudo_label_slices(PixelNet(), [make_slice(image)], PLAN, 2, IGNORE,
                                   SelfTrainingParams(threshold=0.8), torch.device("cpu"))
    lab = pseudo.label
    assert lab.shape == (6, 7) and lab.dtype == torch.uint8
    assert lab[1, 1] == 1 and lab[2, 2] == IGNORE
    assert torch.all(lab[3:] == 0)
    assert lab[0, 0] == IGNORE  # logit 0 vs 0: p 0.5, not confident either way
    assert pseudo.present_classes == [1] and pseudo.class_pixels[1].tolist() == [1 * 7 + 1]
    # a higher threshold admits less; a slice with no confident pixel is left out
    [strict] = pseudo_label_slices(PixelNet(), [make_slice(image)], PLAN, 2, IGNORE,
                                   SelfTrainingParams(threshold=0.9999), torch.device("cpu"))
    assert strict.label[1, 1] == IGNORE and torch.all(strict.label[3:] == 0)
    unsure = make_slice(np.full((6, 7), 0.05, np.float32))
    assert pseudo_label_slices(PixelNet(), [unsure], PLAN, 2, IGNORE, SelfTrainingParams(), torch.device("cpu")) == []


def test_mirrored_passes_are_flipped_back():
    """A pixel-wise network is mirror-equivariant: with the flips undone, TTA equals one pass exactly."""
    image = torch.randn(1, 1, 8, 12)
    assert torch.allclose(mean_softmax(PixelNet(), image, None, True), mean_softmax(PixelNet(), image, None, False),
                          atol=1e-6)


def test_plan_block():
    def training(st: dict | None) -> dict:
        plan = raw_plan(embedding=False)
        if st is not None:
            plan["training"]["selfTraining"] = st
        return checked(plan, "plan")["training"]

    assert params_from_plan(training(None)) is None  # the schema's default: off
    assert params_from_plan(training({**SELF_TRAINING, "enabled": False})) is None
    p = params_from_plan(training({**SELF_TRAINING, "at": [0.7, 0.4]}))
    assert p.at == (0.4, 0.7) and p.threshold == SELF_TRAINING["threshold"]


def test_training_with_self_training_uses_the_unlabelled_slices_and_keeps_labelled_ones(tmp_path):
    data = write_folder(str(tmp_path / "data"), n_train=6, n_val=2, n_unlabelled=8,
                        self_training={**SELF_TRAINING, "at": [0.5]})
    labels_before = {f: np.load(os.path.join(data, "slices", f)) for f in os.listdir(os.path.join(data, "slices"))
                     if f.endswith("_label.npy")}
    out = str(tmp_path / "out")
    _, lines = run_trainer(data, out, "--max-iterations", "150", "--val-every", "50", "--seed", "3")
    rounds = [line for line in lines if line["type"] == "pseudoLabels"]
    assert len(rounds) == 1 and rounds[0]["of"] == 8 and rounds[0]["slices"] > 0
    assert 70 <= rounds[0]["iteration"] <= 80  # made at half of the 150 iterations
    metrics = json.load(open(os.path.join(out, "metrics.json")))
    assert metrics["selfTraining"] is True and metrics["pseudoLabelledSlices"] == rounds[0]["slices"]
    assert metrics["validation"]["bestDice"] > 0.6  # the supervised bar on this task (chance ~0.1)
    for name, label in labels_before.items():  # labelled slices are read, never rewritten
        assert np.array_equal(np.load(os.path.join(data, "slices", name)), label)


def test_a_round_stops_at_its_time_limit():
    image = np.full((6, 7), -3.0, np.float32)  # confident background everywhere
    slices = [make_slice(image) for _ in range(5)]
    cpu = torch.device("cpu")
    assert len(pseudo_label_slices(PixelNet(), slices, PLAN, 2, IGNORE, SelfTrainingParams(), cpu)) == 5
    assert pseudo_label_slices(PixelNet(), slices, PLAN, 2, IGNORE, SelfTrainingParams(max_seconds=0.0), cpu) == []
