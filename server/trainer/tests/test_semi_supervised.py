"""Semi-supervised training on unlabelled slices: pseudo-labels, the loss they feed, and a training run."""

import json
import os

import numpy as np
import torch
from synthetic import raw_plan, write_folder
from test_training import run_trainer

from nnsam_trainer.augmentation import Sampler, SpatialParams
from nnsam_trainer.contract import checked
from nnsam_trainer.data import load_dataset
from nnsam_trainer.semi_supervised import (ClassThresholds, SemiSupervisedParams, params_from_plan, pseudo_labels,
                                           ramp_weight, strong_view, unsupervised_loss)

IGNORE = 255
# as plan.ts writes it for new plans (SEMI_SUPERVISED_DEFAULTS)
SSL = {"enabled": True, "threshold": 0.9, "emaDecay": 0.99, "weight": 1.0, "rampFraction": 0.3, "cutout": 0.4,
       "classBalanced": True, "minThreshold": 0.6, "maxUnlabelledSlices": 400}


def test_pseudo_labels_keep_only_confident_pixels_inside_the_slice():
    logits = torch.zeros(1, 3, 2, 3)
    logits[0, 1, 0, 0] = 10.0  # class 1, confident (p ~ 0.9999)
    logits[0, 2, 0, 1] = 1.0  # class 2, p = e / (e + 2) ~ 0.58: below the threshold
    logits[0, 0, 0, 2] = 10.0  # background, confident
    logits[0, 0, 1, :] = 10.0  # background, confident, but row 1 col 2 lies outside the slice
    inside = torch.ones(1, 2, 3, dtype=torch.bool)
    inside[0, 1, 2] = False
    labels = pseudo_labels(logits, 0.9, IGNORE, inside)
    assert labels.tolist() == [[[1, IGNORE, 0], [0, 0, IGNORE]]]
    # a lower threshold admits the uncertain pixel
    assert pseudo_labels(logits, 0.5, IGNORE, inside)[0, 0, 1] == 2


def test_unsupervised_loss_ignores_unlabelled_pixels_and_is_zero_without_targets():
    logits = torch.randn(1, 3, 4, 4, requires_grad=True)
    none = torch.full((1, 4, 4), IGNORE)
    loss = unsupervised_loss(logits, none, IGNORE)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.count_nonzero(logits.grad) == 0  # no pixel without a pseudo-label pushes the network
    one = none.clone()
    one[0, 1, 2] = 1
    logits.grad = None
    unsupervised_loss(logits, one, IGNORE).backward()
    assert torch.count_nonzero(logits.grad.abs().sum(1)) == 1  # only the pseudo-labelled pixel


def test_unlabelled_slices_carry_no_label_and_never_enter_the_supervised_batch(tmp_path):
    folder = write_folder(str(tmp_path / "d"), n_train=3, n_val=1, n_unlabelled=5, semi_supervised=SSL)
    ds = load_dataset(folder)
    assert (len(ds.train), len(ds.val), len(ds.unlabelled)) == (3, 1, 5)
    for s in ds.unlabelled:
        assert torch.all(s.label == IGNORE) and not s.present_classes  # never background, never a class
    ids = {s.id for s in ds.unlabelled}
    assert not ids & {s.id for s in ds.train}
    # the unlabelled sampler's targets are all ignore: the supervised loss could learn nothing from them
    sampler = Sampler(ds.unlabelled, (32, 32), 2, [(1, 1)], None, IGNORE, np.random.default_rng(0),
                      SpatialParams(), 0.0, intensity=False)
    batch = sampler.next()
    assert torch.all(batch.targets[0] == IGNORE)
    assert len(sampler.last_inside) == 2 and sampler.last_inside[0].dtype == torch.bool


def test_strong_view_changes_the_image_and_cuts_out_a_square():
    images = torch.ones(2, 1, 20, 20)
    out = strong_view(images, np.random.default_rng(0), 0.4)
    assert out.shape == images.shape and torch.all(images == 1)  # the weak view is left as it was
    assert all(int((o == 0).sum()) >= 8 * 8 for o in out)


def test_ramp_and_plan_block():
    p = SemiSupervisedParams(weight=2.0, ramp=0.5)
    assert ramp_weight(p, 0.0) < 0.02 and ramp_weight(p, 0.5) == 2.0 and ramp_weight(p, 1.0) == 2.0

    def training(ssl: dict) -> dict:
        plan = raw_plan(embedding=False)
        plan["training"]["semiSupervised"] = ssl
        return checked(plan, "plan")["training"]

    assert params_from_plan(training({**SSL, "enabled": False})) is None
    assert params_from_plan(training(SSL)).threshold == 0.9
    assert params_from_plan(training(SSL)).class_balanced is True
    # a plan from before per-class thresholds keeps one threshold: the schema's defaults, as plan.ts reads it
    old = {k: v for k, v in SSL.items() if k not in ("classBalanced", "minThreshold")}
    assert params_from_plan(training(old)).class_balanced is False
    assert params_from_plan(training(old)).min_threshold == 0.6


def test_training_with_unlabelled_slices_learns_and_reports_them(tmp_path):
    data = write_folder(str(tmp_path / "data"), n_train=6, n_val=2, n_unlabelled=8, semi_supervised=SSL)
    out = str(tmp_path / "out")
    _, lines = run_trainer(data, out, "--max-iterations", "150", "--val-every", "50", "--seed", "3")
    start = lines[0]
    assert start["unlabelledSlices"] == 8 and start["semiSupervised"] is True
    metrics = json.load(open(os.path.join(out, "metrics.json")))
    assert metrics["unlabelledSlices"] == 8 and metrics["semiSupervised"] is True
    # same bar as the supervised test on this task (chance ~0.1)
    assert metrics["validation"]["bestDice"] > 0.6


def test_class_thresholds_lower_the_bar_for_the_class_the_teacher_is_least_sure_of():
    # background confident everywhere it is predicted, class 1 never: with one threshold class 1 would never
    # be a pseudo-label; its own threshold falls to the floor and admits it, background keeps 0.9
    logits = torch.zeros(1, 3, 4, 4)
    logits[0, 0, :2] = 10.0  # background, p ~ 1
    logits[0, 1, 2:] = 1.0  # class 1, p = e / (e + 2) ~ 0.58
    logits[0, 1, 3, 3] = 1.5  # class 1, p ~ 0.69
    ct = ClassThresholds(3, 0.9, 0.6)
    limit = ct.update(logits)
    assert torch.allclose(limit, torch.tensor([0.9, 0.6, 0.6]))
    labels = pseudo_labels(logits, limit, IGNORE)
    assert labels[0, 3, 3] == 1  # above class 1's own threshold
    assert labels[0, 2, 0] == IGNORE  # still below the floor
    assert torch.all(labels[0, :2] == 0)
    assert pseudo_labels(logits, 0.9, IGNORE)[0, 3, 3] == IGNORE  # one threshold: never class 1
    # unseen classes and an unsure teacher leave the thresholds where they were
    assert torch.allclose(ClassThresholds(3, 0.9, 0.6).thresholds(), torch.full((3,), 0.9))


def test_class_balanced_loss_weighs_a_small_class_as_much_as_the_background():
    logits = torch.zeros(1, 2, 10, 10, requires_grad=True)
    targets = torch.zeros(1, 10, 10, dtype=torch.long)
    targets[0, 0, 0] = 1  # one pixel of class 1 among 99 of background
    unsupervised_loss(logits, targets, IGNORE, class_balanced=True).backward()
    g = logits.grad.abs().sum(1)[0]
    assert torch.isclose(g[0, 0], g[1:].sum() + g[0, 1:].sum(), rtol=1e-4)  # half the push each
    logits.grad = None
    unsupervised_loss(logits, targets, IGNORE).backward()
    g = logits.grad.abs().sum(1)[0]
    assert torch.isclose(g[0, 0] * 99, g[1:].sum() + g[0, 1:].sum(), rtol=1e-4)  # per pixel: background wins
    none = torch.full((1, 10, 10), IGNORE)
    assert unsupervised_loss(logits, none, IGNORE, class_balanced=True).item() == 0.0
