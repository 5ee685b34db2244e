"""The budget trainer's own logic: poly learning rate over the budget, paused clock, skipped checkpoints."""

import time

import pytest
import torch

from nnsam_bench.arms.nnunet_ext.nnunet_budget_trainer import nnUNetTrainerBudget


def bare_trainer(budget_s, elapsed_s, paused_s=0.0):
    # only the attributes the budget logic reads: nnU-Net's __init__ needs a whole preprocessed dataset
    t = object.__new__(nnUNetTrainerBudget)
    t.initial_lr = 0.01
    t.budget_s = budget_s
    t._t0 = time.perf_counter() - elapsed_s
    t._paused_s = paused_s
    t.current_epoch, t.num_epochs = 10, 1000
    t.optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.01)
    return t


def test_learning_rate_follows_poly_over_the_budget():
    t = bare_trainer(budget_s=100, elapsed_s=50)
    lr = t._set_lr()
    assert lr == pytest.approx(0.01 * 0.5**0.9, rel=1e-3)
    assert t.optimizer.param_groups[0]["lr"] == lr
    assert bare_trainer(100, 150)._set_lr() == 0.0, "past the budget the rate is zero"


def test_paused_time_does_not_count():
    t = bare_trainer(budget_s=100, elapsed_s=60, paused_s=20)
    assert t.elapsed() == pytest.approx(40, abs=0.5)
    assert t.progress() == pytest.approx(0.4, abs=0.01)


def test_without_a_budget_progress_is_nnunets_epoch_fraction():
    assert bare_trainer(budget_s=None, elapsed_s=5).progress() == pytest.approx(10 / 1000)


def test_best_and_latest_checkpoints_are_not_written(tmp_path):
    t = bare_trainer(100, 1)
    for name in ("checkpoint_best.pth", "checkpoint_latest.pth"):
        t.save_checkpoint(str(tmp_path / name))  # nnU-Net's writer would fail on this bare object
    assert not list(tmp_path.iterdir())
    with pytest.raises(AttributeError):
        t.save_checkpoint(str(tmp_path / "checkpoint_final.pth"))
