"""The training loop: nnU-Net's recipe (poly learning rate, Dice+CE with deep supervision, nnU-Net
augmentation, gradient clipping at 12) adapted to a few labelled slices and a wall-clock budget.

Adaptations, and why:
- AdamW (lr 1e-3) by default instead of SGD Nesterov (lr 1e-2, momentum 0.99): with budgets of a few hundred
  iterations SGD had not left the all-background solution after 200 iterations on 8 ACDC slices (Dice 0.00)
  where AdamW reached 0.34. The plan can still ask for "SGD-nesterov".
- The budget is time (`--minutes`) and/or iterations (`--max-iterations`) instead of 1000 epochs: the poly
  schedule runs on the fraction of the budget used (iterations when given, else elapsed time), so the learning
  rate reaches ~0 when the budget ends. With only iterations the run is deterministic for a seed on CPU.
- Validation on held-out labelled slices (when Node sends some): Dice every `--val-every` iterations, the best
  weights are kept and exported, and training stops early when Dice has not improved for `--patience` of the
  budget (only in the second half, while the learning rate is still high enough to matter).
"""

from __future__ import annotations

import copy
import json
import os
import random
import signal
import time
from dataclasses import dataclass

import numpy as np
import torch
from nnunetv2.training.lr_scheduler.polylr import PolyLRScheduler

from .augmentation import Sampler, spatial_params_for, whole_slice_inputs
from .data import Dataset, load_dataset
from .export import export_onnx
from .loss import build_loss
from .network import build_network, stage_strides
from .precision import Precision, choose_precision
from .progress import Progress
from .quantize import export_int8
from . import self_training
from .semi_supervised import MeanTeacher, params_from_plan

SCHEDULE_STEPS = 100_000  # resolution of the poly schedule (progress fraction * steps)
ROUND_BUDGET_SHARE = 0.1  # the most of a wall-clock budget one self-training round may take


@dataclass
class TrainOptions:
    data: str
    out: str
    minutes: float | None = None
    max_iterations: int | None = None
    seed: int = 0
    device: str = "auto"
    threads: int | None = None
    val_every: int = 50
    optimizer: str | None = None  # overrides plan.training.optimizer (experiments)
    lr: float | None = None  # overrides plan.training.initialLr (experiments)
    patience: float = 0.25
    checkpoint_every_s: float = 300.0
    #: weights to start from (a model's weights.pt: warm start) instead of He initialization
    init: str | None = None


class Cancelled(Exception):
    pass


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


def _pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was requested but PyTorch sees no CUDA device")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def dice_per_class(pred: torch.Tensor, gt: torch.Tensor, num_classes: int, ignore: int) -> dict[int, tuple[int, int]]:
    """(2*intersection, |pred|+|gt|) per foreground class, ignoring pixels with the ignore value."""
    valid = gt != ignore
    out = {}
    for c in range(1, num_classes):
        p = (pred == c) & valid
        g = gt == c
        out[c] = (int(2 * (p & g).sum()), int(p.sum() + g.sum()))
    return out


def validate(net, ds: Dataset, device: torch.device, precision: Precision) -> tuple[float, dict[str, float]]:
    plan = ds.plan
    divisible = tuple(plan["network"]["divisibleBy"])
    patch = tuple(plan["network"]["patchSize"])
    emb_stride = tuple(plan["embedding"]["stride"]) if plan.get("embedding") else None
    totals = {c: [0, 0] for c in range(1, ds.num_classes)}
    net.eval()
    net.deep_supervision = False
    with torch.no_grad(), precision.autocast():
        for s in ds.val:
            image, emb = whole_slice_inputs(s, divisible, emb_stride, patch)
            logits = net(image.to(device), emb.to(device) if emb is not None else None)
            h, w = s.hw
            pred = logits[0, :, :h, :w].argmax(0).cpu()
            for c, (num, den) in dice_per_class(pred, s.label.long(), ds.num_classes, ds.ignore_value).items():
                totals[c][0] += num
                totals[c][1] += den
    net.deep_supervision = True
    net.train()
    per_class = {str(c): (num / den) for c, (num, den) in totals.items() if den > 0}
    mean = float(np.mean(list(per_class.values()))) if per_class else float("nan")
    return mean, per_class


def build_optimizer(net: torch.nn.Module, tplan: dict, opts: TrainOptions) -> tuple[torch.optim.Optimizer, str, float]:
    """The plan's optimizer (or --optimizer / --lr): (optimizer, its name, initial learning rate)."""
    lr0 = float(opts.lr or tplan["initialLr"])
    opt_name = opts.optimizer or tplan["optimizer"]
    wd = float(tplan["weightDecay"])
    if opt_name == "AdamW":
        # fused: one kernel for all parameters; the per-tensor loop took 0.12 s of a 0.8 s CPU step (cProfile)
        return torch.optim.AdamW(net.parameters(), lr0, weight_decay=wd, fused=True), opt_name, lr0
    if opt_name == "SGD-nesterov":
        return torch.optim.SGD(net.parameters(), lr0, weight_decay=wd, momentum=float(tplan["momentum"]),
                               nesterov=True), opt_name, lr0
    raise ValueError(f"unknown optimizer {opt_name!r} (SGD-nesterov or AdamW)")


def train(opts: TrainOptions, progress: Progress) -> dict:
    os.makedirs(opts.out, exist_ok=True)
    cancel = {"flag": False}

    def on_term(_sig, _frame):
        cancel["flag"] = True

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        return _train(opts, progress, cancel)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _train(opts: TrainOptions, progress: Progress, cancel: dict) -> dict:
    threads = opts.threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    seed_everything(opts.seed)
    device = _pick_device(opts.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True

    ds = load_dataset(opts.data)
    plan = ds.plan
    tplan = plan["training"]  # every value from the plan (defaults filled in by contract.py)
    precision = choose_precision(device, str(tplan["precision"]))
    amp = precision.dtype is not None
    patch = tuple(int(v) for v in plan["network"]["patchSize"])
    batch_size = int(plan["network"]["batchSize"])
    strides = stage_strides(plan["network"])
    ds_strides = strides[:-1]  # one deep-supervision output per decoder stage
    emb_stride = tuple(plan["embedding"]["stride"]) if plan.get("embedding") else None
    neighbours = int(plan["network"]["inputSlices"]) > 1  # 2.5D: channels are slices of one image

    net = build_network(plan, ds.num_classes)
    if opts.init:
        load_initial_weights(net, opts.init)
    net = net.to(device)
    loss_fn = build_loss(len(ds_strides), ds.ignore_value)
    optimizer, opt_name, lr0 = build_optimizer(net, tplan, opts)
    scheduler = PolyLRScheduler(optimizer, lr0, SCHEDULE_STEPS)
    scaler = torch.amp.GradScaler("cuda") if precision.needs_scaler else None
    sampler = Sampler(ds.train, patch, batch_size, ds_strides, emb_stride, ds.ignore_value,
                      np.random.default_rng(opts.seed), spatial_params_for(patch, tplan),
                      float(tplan["oversampleForeground"]), synchronize_channels=neighbours)

    ssl = params_from_plan(tplan) if ds.unlabelled else None
    teacher = None
    if ssl is not None:
        teacher = MeanTeacher(net, ssl, ds.num_classes, ds.ignore_value, neighbours, np.random.default_rng(opts.seed + 1),
                              lambda: Sampler(ds.unlabelled, patch, batch_size, ds_strides, emb_stride, ds.ignore_value,
                                              np.random.default_rng(opts.seed + 2), spatial_params_for(patch, tplan),
                                              0.0, intensity=False))

    st = self_training.params_from_plan(tplan) if ds.unlabelled else None
    st_rounds = list(st.at) if st else []
    pseudo_sampler = None
    pseudo_count = 0

    budget_s = opts.minutes * 60 if opts.minutes else None
    max_it = opts.max_iterations
    if budget_s is None and max_it is None:
        budget_s = 5 * 60
    n_params = sum(p.numel() for p in net.parameters())
    progress.emit("start", device=device.type, threads=threads, amp=amp, precision=precision.name,
                  trainSlices=len(ds.train),
                  valSlices=len(ds.val), patchSize=list(patch), batchSize=batch_size, parameters=n_params,
                  seed=opts.seed, budgetSeconds=budget_s, maxIterations=max_it,
                  embeddingChannels=ds.embedding_channels, optimizer=opt_name, initialLr=lr0,
                  unlabelledSlices=len(ds.unlabelled), semiSupervised=ssl is not None, warmStart=bool(opts.init))

    ckpt_dir = os.path.join(opts.out, "checkpoints")
    os.makedirs(ckpt_dir, exist_ok=True)
    best = {"dice": -1.0, "iteration": 0, "fraction": 0.0, "state": None, "perClass": {}}
    history: list[tuple[int, float]] = []
    start = time.perf_counter()
    last_ckpt = start
    it = 0
    stop_reason = "iterations"
    loss_ema = None

    def fraction_done() -> float:
        f = 0.0
        if max_it:
            f = max(f, it / max_it)
        if budget_s:
            f = max(f, (time.perf_counter() - start) / budget_s)
        return min(f, 1.0)

    net.train()
    while True:
        if cancel["flag"]:
            stop_reason = "cancelled"
            break
        done = fraction_done()
        if done >= 1.0:
            stop_reason = "iterations" if max_it and it >= max_it else "time"
            break
        if st_rounds and done >= st_rounds[0]:
            st_rounds.pop(0)
            if budget_s:  # a round may take a tenth of the budget, however many slices the series have
                st.max_seconds = ROUND_BUDGET_SHARE * budget_s
            with precision.autocast():
                pseudo = self_training.pseudo_label_slices(net, ds.unlabelled, plan, ds.num_classes,
                                                           ds.ignore_value, st, device,
                                                           np.random.default_rng(opts.seed + 4 + it))
            pseudo_count = len(pseudo)
            pseudo_sampler = Sampler(pseudo, patch, batch_size, ds_strides, emb_stride, ds.ignore_value,
                                     np.random.default_rng(opts.seed + 3 + it), spatial_params_for(patch, tplan),
                                     float(tplan["oversampleForeground"]),
                                     synchronize_channels=neighbours) if pseudo else None
            progress.emit("pseudoLabels", iteration=it, slices=pseudo_count, of=len(ds.unlabelled),
                          seconds=round(time.perf_counter() - start, 3))
        scheduler.step(int(done * SCHEDULE_STEPS))
        lr = optimizer.param_groups[0]["lr"]
        if pseudo_sampler is not None and batch_size > 1:
            n_pseudo = min(max(round(batch_size * st.share), 1), batch_size - 1)
            batch = sampler.next(batch_size - n_pseudo).concat(pseudo_sampler.next(n_pseudo))
        else:
            batch = sampler.next()
        image = batch.image.to(device, non_blocking=True)
        targets = [t.to(device, non_blocking=True) for t in batch.targets]
        emb = batch.embedding.to(device, non_blocking=True) if batch.embedding is not None else None
        optimizer.zero_grad(set_to_none=True)
        ub = None
        if teacher is not None:
            ub = teacher.batch(device, precision, done)
            # one student pass over labelled and strongly augmented unlabelled samples together
            image = torch.cat([image, ub.image])
            if emb is not None:
                emb = torch.cat([emb, ub.embedding])
        with precision.autocast():
            outputs = net(image, emb)
            n_sup = targets[0].shape[0]
            loss = loss_fn([o[:n_sup] for o in outputs], targets)
            if ub is not None:
                loss = loss + teacher.loss(outputs[0][n_sup:], ub)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(net.parameters(), 12)
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 12)
            optimizer.step()
        if teacher is not None:
            teacher.update(net)
        it += 1
        lv = float(loss.detach().cpu())
        loss_ema = lv if loss_ema is None else 0.9 * loss_ema + 0.1 * lv
        elapsed = time.perf_counter() - start
        progress.emit("iteration", iteration=it, loss=lv, lr=lr, seconds=round(elapsed, 3),
                      itPerSec=round(it / elapsed, 4), fraction=round(fraction_done(), 4))

        if ds.val and (it % opts.val_every == 0):
            dice, per_class = validate(net, ds, device, precision)
            history.append((it, dice))
            improved = dice > best["dice"]
            if improved:
                best.update(dice=dice, iteration=it, perClass=per_class, fraction=fraction_done(),
                            state=copy.deepcopy({k: v.detach().cpu() for k, v in net.state_dict().items()}))
                torch.save({"iteration": it, "network": best["state"], "dice": dice},
                           os.path.join(ckpt_dir, "checkpoint_best.pt"))
            progress.emit("validation", iteration=it, dice=dice, dicePerClass=per_class, best=best["dice"],
                          bestIteration=best["iteration"], seconds=round(time.perf_counter() - start, 3))
            done = fraction_done()
            if 0.5 <= done < 1.0 and best["dice"] > 0 and done - best["fraction"] >= opts.patience:
                stop_reason = "early_stop"
                break
        if time.perf_counter() - last_ckpt > opts.checkpoint_every_s:
            _save_latest(net, optimizer, it, ckpt_dir)
            last_ckpt = time.perf_counter()
            progress.emit("checkpoint", iteration=it, path=os.path.join("checkpoints", "checkpoint_latest.pt"))

    seconds = time.perf_counter() - start
    if stop_reason == "cancelled":
        progress.emit("cancelled", iteration=it, seconds=round(seconds, 3))
        raise Cancelled()

    _save_latest(net, optimizer, it, ckpt_dir)
    if ds.val and (not history or history[-1][0] != it):
        dice, per_class = validate(net, ds, device, precision)
        history.append((it, dice))
        if dice >= best["dice"]:
            best.update(dice=dice, iteration=it, perClass=per_class, state=None)
        progress.emit("validation", iteration=it, dice=dice, dicePerClass=per_class, best=best["dice"],
                      bestIteration=best["iteration"], seconds=round(time.perf_counter() - start, 3))
    if best["state"] is not None:
        net.load_state_dict(best["state"])

    check, int8 = export_all(net.cpu().float(), ds, opts.out, progress)
    metrics = {
        "iterations": it,
        "seconds": round(seconds, 3),
        "itPerSec": round(it / seconds, 4) if seconds > 0 else None,
        "stopReason": stop_reason,
        "finalLossEma": loss_ema,
        "device": device.type,
        "threads": threads,
        "amp": amp,
        "precision": precision.name,
        "batchSize": batch_size,
        "patchSize": list(patch),
        "parameters": n_params,
        "seed": opts.seed,
        "trainSlices": len(ds.train),
        "valSlices": len(ds.val),
        "unlabelledSlices": len(ds.unlabelled),
        "semiSupervised": ssl is not None,
        "selfTraining": st is not None,
        "pseudoLabelledSlices": pseudo_count,
        "warmStart": bool(opts.init),
        "weights": WEIGHTS_FILE,
        "validation": {
            "bestDice": best["dice"] if ds.val else None,
            "bestIteration": best["iteration"] if ds.val else None,
            "dicePerClass": best["perClass"] if ds.val else None,
            "history": [{"iteration": i, "dice": d} for i, d in history],
        },
        "export": check,
        "int8": int8,
    }
    with open(os.path.join(opts.out, "metrics.json"), "w", encoding="utf8") as f:
        json.dump(metrics, f, indent=2)
    progress.emit("done", **{k: metrics[k] for k in ("iterations", "seconds", "itPerSec", "stopReason")},
                  bestDice=metrics["validation"]["bestDice"])
    return metrics


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


def _save_latest(net, optimizer, it: int, ckpt_dir: str) -> None:
    tmp = os.path.join(ckpt_dir, "checkpoint_latest.pt.tmp")
    torch.save({"iteration": it, "network": net.state_dict(), "optimizer": optimizer.state_dict()}, tmp)
    os.replace(tmp, os.path.join(ckpt_dir, "checkpoint_latest.pt"))
