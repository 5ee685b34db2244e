"""Speed targets: SAM encoder, segmentation-network inference, training step and machine peak.

Every runtime is timed in a process of its own on the same input file (runtimes.py for PyTorch and
onnxruntime-python, bench/dist/ort-node-speed.js for onnxruntime-node), and their outputs are compared so
the numbers are known to come from the same computation.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from .machine import load_average, machine_info, now_iso
from .paths import BENCH_DIR, REPO_ROOT, TRAINER_DIR, work_dir

ORT_NODE_SCRIPT = BENCH_DIR / "dist" / "ort-node-speed.js"


def child_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(BENCH_DIR), str(TRAINER_DIR), env.get("PYTHONPATH", "")]).rstrip(":")
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(threads)
    return env


def _run_json(cmd: list[str], threads: int) -> dict:
    proc = subprocess.run(cmd, env=child_env(threads), capture_output=True, text=True, cwd=REPO_ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])}... failed ({proc.returncode}): {proc.stderr.strip()[-1500:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


Inputs = list[tuple[Path, list[int]]]  # one (raw float32 file, shape) per network input, in input order


def _input_args(inputs: Inputs) -> list[str]:
    return [a for path, shape in inputs for a in ("--input", str(path), "--shape", ",".join(map(str, shape)))]


def time_python_runtime(kind: str, extra: list[str], inputs: Inputs, runs: int, warmup: int, threads: int,
                        output: Path, device: str = "cpu") -> dict:
    cmd = [sys.executable, "-m", "nnsam_bench.runtimes", kind, *extra, *_input_args(inputs), "--runs", str(runs),
           "--warmup", str(warmup), "--threads", str(threads), "--output", str(output), "--device", device]
    return _run_json(cmd, threads)


def time_ort_node(model: Path, inputs: Inputs, runs: int, warmup: int, threads: int, output: Path) -> dict:
    if not ORT_NODE_SCRIPT.is_file():
        raise FileNotFoundError(f"{ORT_NODE_SCRIPT} is missing: build it with `npx tsc -p bench` (scripts/bench.sh does)")
    cmd = ["node", str(ORT_NODE_SCRIPT), "--model", str(model), *_input_args(inputs), "--runs", str(runs),
           "--warmup", str(warmup), "--threads", str(threads), "--output", str(output)]
    return _run_json(cmd, threads)


def maybe_ort_node(*args) -> dict:
    """onnxruntime-node timings, or {"skipped": why} where Node or its onnxruntime is not installed (a bare
    GPU machine): the other runtimes are still measured."""
    try:
        return time_ort_node(*args)
    except (OSError, RuntimeError) as e:
        return {"skipped": str(e)[:300]}


def stats(seconds: list[float], per: int = 1) -> dict:
    """Median / min / max seconds per item (per = items in one run)."""
    return {"median": statistics.median(seconds) / per, "min": min(seconds) / per, "max": max(seconds) / per,
            "runs": len(seconds)}


def max_abs_diff(a: Path, b: Path) -> float:
    return float(np.max(np.abs(np.fromfile(a, dtype="<f4") - np.fromfile(b, dtype="<f4"))))


def max_abs(path: Path) -> float:
    return float(np.max(np.abs(np.fromfile(path, dtype="<f4"))))


def _mid_slices(count: int) -> list[np.ndarray]:
    """`count` real ACDC validation slices (the middle slice of the first validation volumes), float32."""
    import nibabel as nib

    from .fewshot import acdc_paths, acdc_split

    slices = []
    for case in acdc_split("val")[:count]:
        vol = np.asarray(nib.load(acdc_paths(case, "val")[0]).dataobj, dtype=np.float32)
        slices.append(vol[:, :, vol.shape[2] // 2].T)  # rows x columns
    return slices


# -- SAM encoder -----------------------------------------------------------------------------------------
def encoder_speed(threads: int, runs: int = 5, warmup: int = 1, encoder_onnx: str | None = None,
                  device: str = "cpu") -> dict:
    import torch
    from nnsam_trainer.encoders import sam_preprocess

    from .encoders import choose_encoder

    work = work_dir("speed", "encoder")
    enc = choose_encoder(encoder_onnx, threads)
    slice_ = torch.from_numpy(_mid_slices(1)[0][None, None])  # [1, 1, H, W]
    started = time.perf_counter()
    x = sam_preprocess(slice_).numpy().astype("<f4")
    preprocess_s = time.perf_counter() - started
    shape = list(x.shape)
    input_path = work / "input.f32"
    x.tofile(input_path)
    results: dict = {}
    outputs: dict[str, Path] = {}
    if enc.checkpoint is not None:
        outputs["pytorch"] = work / "out-pytorch.f32"
        results["pytorch"] = time_python_runtime("torch-encoder", ["--checkpoint", str(enc.checkpoint)],
                                                 [(input_path, shape)], runs, warmup, threads, outputs["pytorch"],
                                                 device)
    outputs["onnxruntime_python"] = work / "out-ort-python.f32"
    results["onnxruntime_python"] = time_python_runtime("ort", ["--model", str(enc.onnx)], [(input_path, shape)],
                                                        runs, warmup, threads, outputs["onnxruntime_python"])
    outputs["onnxruntime_node"] = work / "out-ort-node.f32"
    results["onnxruntime_node"] = maybe_ort_node(enc.onnx, [(input_path, shape)], runs, warmup, threads,
                                                 outputs["onnxruntime_node"])
    reference = outputs.get("pytorch", outputs["onnxruntime_python"])
    for name, r in results.items():
        if "skipped" not in r:
            r["secondsPerSlice"] = stats(r["seconds"])
            r["maxAbsDiffToReference"] = max_abs_diff(outputs[name], reference)
    return {
        "kind": "encoder",
        "date": now_iso(),
        "machine": machine_info(),
        "load_average": load_average(),
        "encoder": {"onnx": enc.onnx.name, "random_weights": enc.random_weights, "label": enc.label},
        "threads": threads,
        "input": {"shape": shape, "source": "middle slice of the first ACDC validation volume, SAM-preprocessed"},
        "sam_preprocess_seconds": preprocess_s,
        "reference": "pytorch" if "pytorch" in outputs else "onnxruntime_python",
        "reference_max_abs": max_abs(reference),
        "runtimes": results,
    }


# -- segmentation network inference ----------------------------------------------------------------------
ENGINE_PREDICT_SCRIPT = BENCH_DIR / "dist" / "engine-predict.js"


def _patch_batch(slices: list[np.ndarray], h: int, w: int) -> np.ndarray:
    """Real slices, z-scored, cropped / zero-padded to the patch: [B, 1, h, w] float32."""
    x = np.zeros((len(slices), 1, h, w), dtype="<f4")
    for i, s in enumerate(slices):
        s = (s - s.mean()) / (s.std() + 1e-8)
        hh, ww = min(h, s.shape[0]), min(w, s.shape[1])
        x[i, 0, :hh, :ww] = s[:hh, :ww]
    return x


def network_runtimes(work: Path, plan: dict, threads: int, batch: int, runs: int, warmup: int,
                     device: str) -> dict:
    """The engine's network for `plan`: PyTorch eager vs onnxruntime-python vs onnxruntime-node on the same
    exported file and the same inputs (real ACDC slices; the embedding input, when planned, random values)."""
    from .engine import export_engine_network

    net = export_engine_network(plan, work)
    h, w = plan["network"]["patchSize"]
    inputs: Inputs = []
    image = _patch_batch(_mid_slices(batch), h, w)
    image.tofile(work / "input-image.f32")
    inputs.append((work / "input-image.f32", list(image.shape)))
    emb = plan.get("embedding")
    if emb:
        sy, sx = emb["stride"]
        e = np.random.default_rng(0).standard_normal((batch, int(emb["channels"]), h // sy, w // sx)).astype("<f4")
        e.tofile(work / "input-embedding.f32")
        inputs.append((work / "input-embedding.f32", list(e.shape)))
    outputs = {k: work / f"out-{k}.f32" for k in ("pytorch", "onnxruntime_python", "onnxruntime_node")}
    results = {
        "pytorch": time_python_runtime("torch-nnsam", ["--plan", str(net["plan"]), "--weights", str(net["weights"])],
                                       inputs, runs, warmup, threads, outputs["pytorch"], device),
        "onnxruntime_python": time_python_runtime("ort", ["--model", str(net["onnx"])], inputs, runs, warmup, threads,
                                                  outputs["onnxruntime_python"]),
        "onnxruntime_node": maybe_ort_node(net["onnx"], inputs, runs, warmup, threads, outputs["onnxruntime_node"]),
    }
    for name, r in results.items():
        if "skipped" in r:
            continue
        per_slice = stats(r["seconds"], per=batch)
        r["secondsPerSlice"] = per_slice
        r["slicesPerSecond"] = 1 / per_slice["median"]
        r["maxAbsDiffToReference"] = max_abs_diff(outputs[name], outputs["pytorch"])
    return {
        "network": {"class": "nnsam_trainer.network.NnsamUNet", "patch_size": [h, w],
                    "batch_size": plan["network"]["batchSize"], "stages": plan["network"]["numStages"],
                    "features": plan["network"]["featuresPerStage"], "parameters": net["parameters"],
                    "inputs": [[name, shape] for name, (_, shape) in zip(net["inputs"], inputs)],
                    "embedding": {k: emb[k] for k in ("stage", "stride", "channels")} if emb else None,
                    "encoder": plan["encoder"]["id"]},
        "reference": "pytorch",
        "reference_max_abs": max_abs(outputs["pytorch"]),
        "runtimes": results,
    }


def engine_predict(model_dir: Path, images: list[Path], threads: int, runs: int, warmup: int, tta: bool) -> dict:
    """predictVolume of the engine (bench/dist/engine-predict.js) on NIfTI volumes: seconds per stage."""
    if not ENGINE_PREDICT_SCRIPT.is_file():
        raise FileNotFoundError(f"{ENGINE_PREDICT_SCRIPT} is missing: build it with `npx tsc -p bench`")
    cmd = ["node", str(ENGINE_PREDICT_SCRIPT), "--model", str(model_dir), *[a for i in images for a in ("--image", str(i))],
           "--runs", str(runs), "--warmup", str(warmup), "--threads", str(threads), "--tta", "on" if tta else "off"]
    r = _run_json(cmd, threads)
    totals = [run["seconds"] for run in r["runs"]]
    slices = r["runs"][0]["slices"]
    r["secondsPerSlice"] = stats(totals, per=slices)
    r["slicesPerSecond"] = slices / statistics.median(totals)
    r["stagesMedian"] = {k: statistics.median(run["stages"][k] for run in r["runs"]) for k in r["runs"][0]["stages"]}
    return r


def inference_speed(threads: int, batch: int = 4, runs: int = 5, warmup: int = 1, device: str = "cpu",
                    encoder_onnx: str | None = None, predict_volume: bool = True) -> dict:
    """The engine's segmentation network, planned by `nnsam plan` for the ACDC few-shot manifest (4 slices,
    draw 0), with and without the SAM embedding input; then the engine's whole predictVolume on one real
    validation volume (TTA off and on), with a model trained for 2 iterations (weights do not change cost)."""
    from .encoders import choose_encoder
    from .engine import engine_plan, fewshot_manifest, train_engine_model
    from .fewshot import acdc_paths, acdc_split

    manifest = fewshot_manifest(4, 0)
    peak_before = matmul_peak(device, threads, "float16" if device == "cuda" else "float32")
    variants: dict[str, str] = {"nnsam-none": "none"}
    notes = []
    try:
        enc = choose_encoder(encoder_onnx, threads)
        variants["nnsam-mobilesam"] = str(enc.onnx)
    except (OSError, RuntimeError) as e:
        notes.append(f"nnsam-mobilesam left out: no encoder ({e})")
    networks = {}
    for name, encoder in variants.items():
        work = work_dir("speed", "inference", name)
        plan = engine_plan(manifest, encoder, threads, work / "plan.json")
        networks[name] = network_runtimes(work, plan, threads, batch, runs, warmup, device)
    predict = {}
    if predict_volume and device == "cpu":
        model_dir = work_dir("speed", "inference") / "model-nnsam-none"
        train_engine_model(manifest, model_dir, "none", 2, threads)
        image = acdc_paths(acdc_split("val")[0], "val")[0]
        for tta in (False, True):
            try:
                predict["tta" if tta else "no_tta"] = engine_predict(model_dir, [image], threads, runs, warmup, tta)
            except (OSError, RuntimeError) as e:
                predict["tta" if tta else "no_tta"] = {"skipped": str(e)[:300]}
        predict["volume"] = image.name
    return {
        "kind": "inference",
        "format": 2,
        "date": now_iso(),
        "machine": machine_info(),
        "load_average": load_average(),
        "load_average_after": None,
        "source": f"`nnsam plan` for the ACDC few-shot manifest ({manifest.parent.name}); network built by "
                  "nnsam_trainer.network with random He init, exported by nnsam_trainer.export (as training does)",
        "notes": notes,
        "batch": batch,
        "threads": threads,
        "networks": networks,
        "predict_volume": predict,
    }


# -- training step, FLOPs, machine peak -----------------------------------------------------------------
def matmul_peak(device: str, threads: int, dtype: str = "float32", size: int | None = None, runs: int = 5) -> dict:
    """Measured GEMM throughput: the practical peak the training step is compared with. flops_per_second from the
    fastest run (a peak; other jobs on a shared machine only slow runs down), flops_per_cpu_second from the least
    CPU time (all threads), to compare with the training step's FLOPs per CPU second."""
    import torch

    torch.set_num_threads(threads)
    dev = torch.device(device)
    size = size or (8192 if dev.type == "cuda" else 2048)
    dt = getattr(torch, dtype)
    a = torch.randn(size, size, device=dev, dtype=dt)
    b = torch.randn(size, size, device=dev, dtype=dt)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    times, cpu = [], []
    for i in range(runs + 1):
        sync()
        started, cpu_started = time.perf_counter(), time.process_time()
        torch.mm(a, b)
        sync()
        if i:
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
    flops = 2 * size**3
    return {"dtype": dtype, "size": size, "threads": threads, "flops_per_second": flops / min(times),
            "median_flops_per_second": flops / statistics.median(times),
            "flops_per_cpu_second": flops / min(cpu) if dev.type == "cpu" else None}


def best_peak(*peaks: dict) -> dict:
    """The highest of several peak measurements (taken before and after the loops on a shared machine)."""
    best = dict(max(peaks, key=lambda p: p["flops_per_second"]))
    cpu = [p["flops_per_cpu_second"] for p in peaks if p.get("flops_per_cpu_second")]
    best["flops_per_cpu_second"] = max(cpu) if cpu else None
    best["measurements"] = [p["flops_per_second"] for p in peaks]
    return best


def bare_loop(plan: dict, threads: int, iterations: int, warmup: int = 2, device: str = "cpu",
              batch_size: int | None = None, count_flops: bool = True) -> dict:
    """A bare PyTorch loop of the engine's network for `plan` (nnsam_trainer.network, the trainer's loss,
    AdamW, gradient clipping at 12; fp16 autocast + GradScaler on CUDA as the trainer) on tensors already
    in memory: what the trainer's step would cost with no data loading, augmentation or logging."""
    import torch
    from nnsam_trainer.loss import build_loss
    from nnsam_trainer.network import build_network, stage_strides
    from torch.utils.flop_counter import FlopCounterMode

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    dev = torch.device(device)
    classes = int(plan["numClasses"])
    network = build_network(plan, classes).to(dev).train()
    ds_strides = stage_strides(plan["network"])[:-1]
    loss_fn = build_loss(len(ds_strides), int(plan.get("ignoreValue", 255)))
    optimizer = torch.optim.AdamW(network.parameters(), 1e-3, weight_decay=3e-5)
    b = batch_size or int(plan["network"]["batchSize"])
    h, w = (int(v) for v in plan["network"]["patchSize"])
    x = torch.randn(b, 1, h, w, device=dev)
    emb = plan.get("embedding")
    e = torch.randn(b, int(emb["channels"]), h // emb["stride"][0], w // emb["stride"][1], device=dev) if emb else None
    targets = [torch.randint(0, classes, (b, 1, h // sy, w // sx), device=dev) for sy, sx in ds_strides]
    amp = dev.type == "cuda"
    scaler = torch.amp.GradScaler("cuda") if amp else None

    def step():
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(dev.type, enabled=amp):
            loss = loss_fn(network(x, e), targets)
        if scaler:
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(network.parameters(), 12)
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            torch.nn.utils.clip_grad_norm_(network.parameters(), 12)
            optimizer.step()

    flops = None
    if count_flops:
        counter = FlopCounterMode(display=False)
        with counter:
            step()
        flops = counter.get_total_flops()
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    times, cpu = [], []
    for i in range(warmup + iterations):
        sync()
        started, cpu_started = time.perf_counter(), time.process_time()
        step()
        sync()
        if i >= warmup:
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
    # CPU seconds (all threads of this process): less sensitive than wall time to other jobs on a shared machine
    out = {"batch_size": b, "patch_size": [h, w], "precision": "fp16 autocast" if amp else "fp32",
           "embedding": bool(emb), "step_seconds": times, "step_cpu_seconds": cpu, "flops_per_step": flops}
    if dev.type == "cuda":
        out["peak_gpu_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def bare_loop_process(plan: dict, threads: int, iterations: int, device: str = "cpu",
                      count_flops: bool = True) -> dict:
    """bare_loop in a fresh Python process, as every runtime here is timed: inside the harness process (numpy,
    nibabel, an earlier matmul) the 2-thread bare step measured several times slower in CPU time than the
    same step in the trainer, while 1 thread agreed; a process of its own is the fair reference."""
    path = work_dir("speed", "training") / "bare-loop-plan.json"
    path.write_text(json.dumps(plan))
    cmd = [sys.executable, "-m", "nnsam_bench.speed", "bare-loop", str(path), str(threads), str(iterations), device,
           "1" if count_flops else "0"]
    return _run_json(cmd, threads)


def nnunet_loop(manifest: Path, threads: int, budget_minutes: float, device: str, da_workers: int | None,
                iterations_per_epoch: int | None) -> dict:
    """nnU-Net v2's own training loop (the accuracy arm's budget trainer) on the same manifest, training only:
    iterations/s of the whole loop and of its train_step, and the median seconds per iteration."""
    from .arms.base import ArmRequest
    from .arms.nnunet import nnunet_env

    root = work_dir("speed", "training", "nnunetv2")
    for sub in ("raw", "preprocessed", "results"):
        shutil.rmtree(root / sub, ignore_errors=True)
    (root / "curve.jsonl").unlink(missing_ok=True)
    (root / "images.txt").write_text("")
    request = ArmRequest(manifest, budget_minutes, 0, [], root, threads, snapshots=1,
                         iterations_per_epoch=iterations_per_epoch, augmentation_workers=da_workers, device=device)
    cmd = [sys.executable, "-m", "nnsam_bench.arms.nnunet_worker", "--manifest", str(manifest), "--out", str(root),
           "--images-list", str(root / "images.txt"), "--seed", "0", "--threads", str(threads), "--device", device,
           "--train-only"]
    with open(root / "nnunet.log", "w") as log_file:
        proc = subprocess.run(cmd, env=nnunet_env(root, request), stdout=log_file, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        tail = (root / "nnunet.log").read_text(errors="replace").strip().splitlines()[-12:]
        raise RuntimeError(f"nnU-Net exited with {proc.returncode}: " + " | ".join(tail))
    log = json.loads((root / "training_log.json").read_text())
    its = [e for e in log["curve"] if e.get("event") == "iteration"]
    steps = [b["seconds"] - a["seconds"] for a, b in zip(its, its[1:])][1:]  # first iterations: warm-up
    return {
        "batch_size": log["plans"]["batch_size"],
        "patch_size": log["plans"]["patch_size"],
        "budget_minutes": budget_minutes,
        "iterations": log["iterations"],
        "train_seconds": log["train_seconds"],
        "iterations_per_second": log["iterations"] / log["train_seconds"],
        "train_step_iterations_per_second": log["iterations"] / log["train_step_seconds"],
        "step_seconds": steps,
        "prepare_seconds": log["timings"].get("prepare_s"),
        "augmentation_workers": da_workers,
    }


def trainer_loop(manifest: Path, encoder: str, iterations: int, threads: int, name: str, device: str = "cpu") -> dict:
    """Our trainer's real loop through `nnsam train --iterations N` (Node preprocessing, the Python trainer:
    sampling, affine + intensity augmentation, forward/backward, AdamW, logging); per-iteration seconds come
    from its `iteration` events, the plan from the model folder."""
    from .engine import train_engine_model, trainer_step_seconds

    model = work_dir("speed", "training") / f"model-{name}"

    def run(n: int) -> tuple[list[dict], float, float]:
        """`nnsam train --iterations n`: events, wall seconds, CPU seconds of Node and the Python trainer
        (children's rusage: the trainer is reaped by Node, Node by us)."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        events = train_engine_model(manifest, model, encoder, n, threads, device=device)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return events, wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)

    # a short run first (also fills the embedding cache, so both runs do the same work but for the iterations):
    # the difference of the two runs is the cost of (iterations - short) iterations, startup and export cancel
    short = 2
    if encoder != "none":
        run(short)  # embeds the manifest's slices into the engine's cache, so the timed runs both hit it
    _, short_wall, short_cpu = run(short)
    events, wall, cpu = run(iterations)
    plan = json.loads((model / "plan.json").read_text())
    done = next((e for e in reversed(events) if e.get("type") == "model"), {}).get("training") or {}
    extra = max(1, iterations - short)
    return {
        "short_iterations": short,
        "wall_seconds_per_iteration": (wall - short_wall) / extra,
        "cpu_seconds_per_iteration": (cpu - short_cpu) / extra,
        "command_cpu_seconds": cpu,
        "short_command_wall_seconds": short_wall,
        "encoder": plan["encoder"]["id"],
        "batch_size": plan["network"]["batchSize"],
        "patch_size": plan["network"]["patchSize"],
        "iterations": done.get("iterations"),
        "train_seconds": done.get("seconds"),
        "iterations_per_second": done.get("itPerSec"),
        "step_seconds": trainer_step_seconds(events),
        "command_wall_seconds": wall,
        "plan": plan,
    }


def training_speed(threads: int, results_dir: Path, device: str = "cpu", runs: int = 5, iterations: int = 8,
                   arms: tuple[str, ...] = ("nnsam-none", "nnsam-mobilesam", "nnunetv2"), nnunet_minutes: float = 1.0,
                   da_workers: int | None = None, iterations_per_epoch: int | None = None,
                   encoder_onnx: str | None = None) -> dict:
    """Side by side in one run, on the ACDC few-shot manifest (4 slices, draw 0): the bare loop of our network,
    our trainer's loop (`nnsam train --iterations N`) per encoder, the bare loop again (the machine is shared:
    before and after are pooled), nnU-Net v2's loop for a short budget; FLOPs per step and the measured peak.
    Then the iterations/s of the accuracy runs in results_dir next to the bare loop at their batch size."""
    from .engine import engine_plan, fewshot_manifest

    manifest = fewshot_manifest(4, 0)
    peak_before = matmul_peak(device, threads, "float16" if device == "cuda" else "float32")
    encoders = {"nnsam-none": "none"}
    if "nnsam-mobilesam" in arms:
        from .encoders import choose_encoder

        encoders["nnsam-mobilesam"] = str(choose_encoder(encoder_onnx, threads).onnx)
    ours: dict[str, dict] = {}
    bare: dict[str, dict] = {}
    half = max(2, iterations // 2)
    skipped: dict[str, str] = {}
    for name, encoder in encoders.items():
        if name not in arms and name != "nnsam-none":
            continue
        # the engine's plan first (`nnsam plan`, what `nnsam train` plans too), then bare loop / our trainer /
        # bare loop again: the machine is shared, so the reference is measured on both sides of our loop
        plan = engine_plan(manifest, encoder, threads, work_dir("speed", "training") / f"plan-{name}.json", device)
        first = bare_loop_process(plan, threads, half, device=device)
        trainer = None
        if name in arms:
            try:
                trainer = trainer_loop(manifest, encoder, iterations, threads, name, device)
            except (OSError, RuntimeError) as e:
                skipped[name] = str(e)[:400]
        second = bare_loop_process(plan, threads, half, device=device, count_flops=False)
        loop = dict(first, step_seconds=first["step_seconds"] + second["step_seconds"],
                    step_seconds_before=first["step_seconds"], step_seconds_after=second["step_seconds"],
                    step_cpu_seconds=first["step_cpu_seconds"] + second["step_cpu_seconds"])
        loop["step"] = stats(loop["step_seconds"])
        loop["cpu"] = stats(loop["step_cpu_seconds"])
        loop["iterations_per_second"] = 1 / loop["step"]["median"]
        bare[name] = loop
        if trainer:
            trained = trainer.pop("plan")["network"]
            trainer["same_plan_as_bare_loop"] = trained == plan["network"]
            if [trained["batchSize"], trained["patchSize"]] != [plan["network"]["batchSize"],
                                                                plan["network"]["patchSize"]]:
                skipped[name] = "the trainer planned another batch or patch than `nnsam plan`: not comparable"
                continue
            trainer["step"] = stats(trainer["step_seconds"])
            trainer["overhead_ratio"] = trainer["step"]["median"] / loop["step"]["median"]
            trainer["overhead_ratio_cpu"] = trainer["cpu_seconds_per_iteration"] / loop["cpu"]["median"]
            ours[name] = trainer
    nnunet = None
    if "nnunetv2" in arms:
        try:
            nnunet = nnunet_loop(manifest, threads, nnunet_minutes, device, da_workers, iterations_per_epoch)
            nnunet["step"] = stats(nnunet["step_seconds"]) if nnunet["step_seconds"] else None
            ref = bare["nnsam-none"]
            if nnunet["batch_size"] == ref["batch_size"] and nnunet["step"]:
                nnunet["overhead_ratio"] = nnunet["step"]["median"] / ref["step"]["median"]
        except (OSError, RuntimeError) as e:
            nnunet = {"skipped": str(e)[:400]}
    peak = best_peak(peak_before, matmul_peak(device, threads, "float16" if device == "cuda" else "float32"))
    per_cpu = peak.get("flops_per_cpu_second")
    for loop in bare.values():
        loop["achieved_flops_per_second"] = loop["flops_per_step"] / loop["step"]["median"]
        loop["fraction_of_peak"] = loop["achieved_flops_per_second"] / peak["flops_per_second"]
        if per_cpu:
            loop["fraction_of_peak_cpu"] = loop["flops_per_step"] / loop["cpu"]["median"] / per_cpu
    for name, t in ours.items():
        t["fraction_of_peak"] = bare[name]["flops_per_step"] / t["step"]["median"] / peak["flops_per_second"]
        if per_cpu and t.get("cpu_seconds_per_iteration"):
            t["fraction_of_peak_cpu"] = bare[name]["flops_per_step"] / t["cpu_seconds_per_iteration"] / per_cpu
    return {
        "kind": "training",
        "format": 2,
        "date": now_iso(),
        "machine": machine_info(),
        "threads": threads,
        "device": device,
        "manifest": manifest.parent.name,
        "iterations": iterations,
        "peak": peak,
        "bare_loop": bare,
        "trainer": ours,
        "trainer_skipped": skipped,
        "nnunetv2": nnunet,
        "accuracy_arms": accuracy_arm_speeds(results_dir, bare.get("nnsam-none"), peak),
    }


def accuracy_arm_speeds(results_dir: Path, bare: dict | None, peak: dict) -> dict:
    """Iterations/s the arms reached in the accuracy runs (whole loop over the budget), next to the bare loop of
    the same network at batch 2 scaled by batch size (the FLOPs of a step grow linearly with the batch)."""
    arms: dict[str, dict] = {}
    folder = results_dir / "accuracy"
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        r = json.loads(path.read_text())
        t = r.get("training") or {}
        if r.get("status") != "ok" or not t.get("iterations_per_second"):
            continue
        batch = (t.get("plans") or {}).get("batch_size") or (t.get("result") or {}).get("batchSize")
        key = f"{r['arm']}, {r['slices']} slices, {r['budget_minutes']:g} min" + (f" (batch {batch})" if batch else "")
        entry = {"arm": r["arm"], "batch_size": batch, "iterations": t.get("iterations"),
                 "train_seconds": t.get("train_seconds"), "iterations_per_second": t["iterations_per_second"],
                 "date": r.get("date")}
        if t.get("train_step_seconds"):
            entry["train_step_iterations_per_second"] = t["iterations"] / t["train_step_seconds"]
        if bare and batch and bare.get("flops_per_step"):
            flops = bare["flops_per_step"] * batch / bare["batch_size"]
            entry["achieved_flops_per_second"] = flops * entry["iterations_per_second"]
            entry["fraction_of_peak"] = entry["achieved_flops_per_second"] / peak["flops_per_second"]
        arms[key] = entry
    return arms


E2E_STAGES = ("fetch", "decode", "preprocess", "embed", "infer", "postprocess", "seg_write", "stow")
E2E_SCRIPT = BENCH_DIR / "dist" / "e2e.js"


def _on_off(value: bool | None) -> str:
    return "auto" if value is None else "on" if value else "off"


def e2e_variant(tta: bool | None = None, whole_slice: bool | None = None, crop: bool | None = None,
                precision: str | None = None, embedding_stride: int | None = None,
                overlap_sessions: bool | None = None) -> str:
    """Result-name suffix of the inference options that differ from the server's defaults."""
    return ({None: "", True: "-tta", False: "-notta"}[tta] + ("-tiles" if whole_slice is False else "")
            + ("-nocrop" if crop is False else "") + {None: "", "int8": "-int8", "fp32": "-fp32"}[precision]
            + (f"-stride{embedding_stride}" if embedding_stride is not None else "")
            + {None: "", True: "-overlap", False: "-turns"}[overlap_sessions])


def e2e_speed(threads: int, runs: int = 1, size: int = 512, slices: int = 300, tta: bool | None = None,
              encoder: str = "none", iterations: int = 20, whole_slice: bool | None = None, crop: bool | None = None,
              precision: str | None = None, embedding_stride: int | None = None, overlap_sessions: bool | None = None,
              compare: str = "every-slice") -> dict:
    """bench/dist/e2e.js: synthetic CT in a private Orthanc, the segment job's path per stage (see there).
    Inference options left None are the server's defaults (test-time augmentation per device, the SAM
    encoder's slice stride by slice spacing, its session and the network's in turns on a CPU). compare: the
    one more run with an encoder (every-slice, sessions or none; see e2e.ts)."""
    if not E2E_SCRIPT.is_file():
        raise FileNotFoundError(f"{E2E_SCRIPT} is missing: build it with `npx tsc -p bench`")
    cmd = ["node", str(E2E_SCRIPT), "run", "--work", str(work_dir("e2e")), "--size", str(size), "--slices",
           str(slices), "--runs", str(runs), "--threads", str(threads), "--tta", _on_off(tta), "--encoder", encoder,
           "--iterations", str(iterations), "--compare", compare]
    if precision is not None:
        cmd += ["--precision", precision]
    if whole_slice is not None:
        cmd += ["--whole-slice", _on_off(whole_slice)]
    if crop is not None:
        cmd += ["--crop", _on_off(crop)]
    if embedding_stride is not None:
        cmd += ["--embedding-stride", str(embedding_stride)]
    if overlap_sessions is not None:
        cmd += ["--overlap-sessions", _on_off(overlap_sessions)]
    r = _run_json(cmd, threads)
    r["stagesMedian"] = {k: statistics.median(run["stages"][k] for run in r["runs"]) for k in E2E_STAGES}
    r["secondsMedian"] = statistics.median(run["seconds"] for run in r["runs"])
    r["peakRssMiB"] = max(run["peakRssMiB"] for run in r["runs"])
    r["model"]["dir"] = Path(r["model"]["dir"]).name
    return {
        "kind": "e2e",
        "status": "ok",
        "date": now_iso(),
        "machine": machine_info(),
        "threads": threads,
        "stages": list(E2E_STAGES),
        **r,
    }


ROOFLINE_SCRIPT = BENCH_DIR / "dist" / "roofline.js"


def roofline_speed(threads: int, runs: int = 3, size: int = 512, slices: int = 300, encoder: str = "none",
                   iterations: int = 20) -> dict:
    """bench/dist/roofline.js on the e2e benchmark's model (trained first when the e2e target has not)."""
    for script in (E2E_SCRIPT, ROOFLINE_SCRIPT):
        if not script.is_file():
            raise FileNotFoundError(f"{script} is missing: build it with `npx tsc -p bench`")
    model = _run_json(["node", str(E2E_SCRIPT), "model", "--work", str(work_dir("e2e")), "--size", str(size),
                       "--slices", str(slices), "--encoder", encoder, "--iterations", str(iterations), "--threads",
                       str(threads)], threads)
    r = _run_json(["node", str(ROOFLINE_SCRIPT), "run", "--model", model["dir"], "--size", str(size), "--threads",
                   str(threads), "--runs", str(runs)], threads)
    return {
        "kind": "roofline",
        "date": now_iso(),
        "machine": machine_info(),
        "model": {"dir": Path(model["dir"]).name, "encoder": encoder, "iterations": iterations},
        **r,
    }


if __name__ == "__main__":
    # python -m nnsam_bench.speed bare-loop PLAN.json THREADS ITERATIONS DEVICE COUNT_FLOPS -> one JSON line
    if len(sys.argv) == 7 and sys.argv[1] == "bare-loop":
        _plan = json.loads(Path(sys.argv[2]).read_text())
        print(json.dumps(bare_loop(_plan, int(sys.argv[3]), int(sys.argv[4]), device=sys.argv[5],
                                   count_flops=sys.argv[6] == "1")))
    else:
        sys.exit("usage: python -m nnsam_bench.speed bare-loop PLAN.json THREADS ITERATIONS DEVICE 0|1")
