"""nnU-Net v2's own trainer, run under a wall-clock budget (the benchmark's only change to its recipe).

The benchmark's worker instantiates it the way nnU-Net's run_training does; nnunetv2 itself is used
unmodified (train_step, losses, augmentation, sampling, network: all inherited). Deviations, each
needed to compare arms under the same time on the same machine (docs/benchmarks.md lists them):

1. Training stops when NNSAM_BENCH_BUDGET_S seconds of training have passed (checked after every
   iteration), instead of after 1000 epochs. The clock starts when the data loaders are running.
2. The poly learning-rate schedule, lr = 0.01 * (1 - progress) ** 0.9, takes progress = elapsed / budget
   (updated every iteration) instead of epoch / 1000: the schedule nnU-Net would follow if its 1000
   epochs were the budget. Without it, a short budget would train at an almost constant lr of 0.01.
3. NNSAM_BENCH_ITERS_PER_EPOCH (optional) shortens the 250-iteration epoch (validation iterations keep
   nnU-Net's ratio, 1 per 5) so a slow machine still logs pseudo-Dice points; the GPU run keeps 250/50.
4. Only the final checkpoint is written (plus NNSAM_BENCH_SNAPSHOTS - 1 evenly spaced snapshots used for
   the validation curve); nnU-Net's "best" checkpoint is not written or used. Writing snapshots does not
   count against the budget.
Progress goes to NNSAM_BENCH_CURVE as JSON lines (one per iteration and one per epoch).
"""

from __future__ import annotations

import json
import os
import time

import numpy as np
import torch
from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer


class nnUNetTrainerBudget(nnUNetTrainer):
    def __init__(
        self,
        plans: dict,
        configuration: str,
        fold: int,
        dataset_json: dict,
        device: torch.device = torch.device("cuda"),
    ):
        super().__init__(plans, configuration, fold, dataset_json, device)
        self.budget_s = float(os.environ.get("NNSAM_BENCH_BUDGET_S", "0")) or None
        iters = int(os.environ.get("NNSAM_BENCH_ITERS_PER_EPOCH", "0"))
        if iters > 0:
            self.num_iterations_per_epoch = iters
            self.num_val_iterations_per_epoch = max(1, iters // 5)
        self.snapshots = max(1, int(os.environ.get("NNSAM_BENCH_SNAPSHOTS", "1")))
        self.curve_path = os.environ.get("NNSAM_BENCH_CURVE")
        self.iterations = 0
        self.train_step_s = 0.0
        self._t0: float | None = None
        self._paused_s = 0.0
        self._next_snapshot = 1

    # -- the budget clock ---------------------------------------------------------------------------
    def elapsed(self) -> float:
        return 0.0 if self._t0 is None else time.perf_counter() - self._t0 - self._paused_s

    def progress(self) -> float:
        return min(1.0, self.elapsed() / self.budget_s) if self.budget_s else self.current_epoch / self.num_epochs

    def _emit(self, **fields) -> None:
        if self.curve_path:
            with open(self.curve_path, "a") as f:
                f.write(json.dumps(fields) + "\n")

    def _set_lr(self) -> float:
        lr = self.initial_lr * (1 - self.progress()) ** 0.9
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        return lr

    def _maybe_snapshot(self) -> None:
        if not self.budget_s or self._next_snapshot >= self.snapshots:
            return
        if self.elapsed() >= self.budget_s * self._next_snapshot / self.snapshots:
            started = time.perf_counter()
            name = f"checkpoint_snapshot{self._next_snapshot}.pth"
            super().save_checkpoint(os.path.join(self.output_folder, name))
            self._emit(event="snapshot", checkpoint=name, seconds=self.elapsed(), iteration=self.iterations)
            self._next_snapshot += 1
            self._paused_s += time.perf_counter() - started

    # -- nnU-Net hooks --------------------------------------------------------------------------------
    def save_checkpoint(self, filename: str) -> None:
        # deviation 4: no "best"/"latest" checkpoints (selection on validation data, and time)
        if os.path.basename(filename) in ("checkpoint_best.pth", "checkpoint_latest.pth"):
            return
        super().save_checkpoint(filename)

    def on_train_epoch_start(self):
        self.network.train()
        lr = self._set_lr()
        self.print_to_log_file("")
        self.print_to_log_file(f"Epoch {self.current_epoch}")
        self.print_to_log_file(f"Current learning rate: {np.round(lr, decimals=5)}")
        self.logger.log("lrs", lr, self.current_epoch)

    def run_training(self):
        self.on_train_start()
        self._t0 = time.perf_counter()
        self._emit(event="start", budget_s=self.budget_s, batch_size=self.batch_size,
                   patch_size=list(self.configuration_manager.patch_size),
                   iterations_per_epoch=self.num_iterations_per_epoch)
        done = False
        for _ in range(self.current_epoch, self.num_epochs):
            self.on_epoch_start()
            self.on_train_epoch_start()
            train_outputs = []
            for _ in range(self.num_iterations_per_epoch):
                lr = self._set_lr()
                started = time.perf_counter()
                out = self.train_step(next(self.dataloader_train))
                self.train_step_s += time.perf_counter() - started
                train_outputs.append(out)
                self.iterations += 1
                self._emit(event="iteration", iteration=self.iterations, seconds=self.elapsed(),
                           loss=float(out["loss"]), lr=lr)
                self._maybe_snapshot()
                if self.budget_s and self.elapsed() >= self.budget_s:
                    done = True
                    break
            self.on_train_epoch_end(train_outputs)
            with torch.no_grad():
                self.on_validation_epoch_start()
                val_outputs = [self.validation_step(next(self.dataloader_val))
                               for _ in range(self.num_val_iterations_per_epoch)]
                self.on_validation_epoch_end(val_outputs)
            self.on_epoch_end()
            log = self.logger.get_value
            self._emit(event="epoch", epoch=self.current_epoch - 1, seconds=self.elapsed(),
                       iteration=self.iterations, train_loss=float(log("train_losses", step=-1)),
                       val_loss=float(log("val_losses", step=-1)),
                       pseudo_dice=[float(x) for x in log("dice_per_class_or_region", step=-1)],
                       mean_pseudo_dice=float(log("mean_fg_dice", step=-1)))
            if done:
                break
        self._emit(event="end", seconds=self.elapsed(), iterations=self.iterations,
                   train_step_s=self.train_step_s, epochs=self.current_epoch)
        self.on_train_end()
