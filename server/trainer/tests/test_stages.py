"""The training run's small parts on their own: the budget's fraction and the validation record's rules."""

import torch

from nnsam_trainer.training import Budget, TrainOptions
from nnsam_trainer.validation import ValidationRecord


def test_budget_defaults_to_five_minutes_and_counts_iterations():
    assert Budget.from_options(TrainOptions(data="d", out="o")).seconds == 300
    budget = Budget.from_options(TrainOptions(data="d", out="o", max_iterations=10))
    budget.start()
    assert budget.seconds is None and budget.fraction(5) == 0.5 and budget.fraction(12) == 1.0
    assert budget.end_reason(10) == "iterations"


def test_only_a_better_dice_keeps_weights_and_the_final_one_keeps_the_best_fraction():
    net = torch.nn.Linear(2, 1)
    record = ValidationRecord()
    assert record.keep_if_better(10, 0.5, {"1": 0.5}, 0.2, net) and record.state is not None
    assert not record.keep_if_better(20, 0.5, {"1": 0.5}, 0.4, net)  # equal is not better
    assert (record.iteration, record.fraction) == (10, 0.2)
    assert record.patience_ran_out(0.6, 0.25) and not record.patience_ran_out(0.4, 0.1)
    record.keep_final(25, 0.5, {"1": 0.5})  # as good: the last weights are exported, no copy is kept
    assert (record.iteration, record.fraction, record.state) == (25, 0.2, None)
    assert [h["iteration"] for h in record.summary(True)["history"]] == [10, 20, 25]
    assert record.summary(False)["bestDice"] is None
