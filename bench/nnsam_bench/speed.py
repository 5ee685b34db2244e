"""Speed targets: SAM encoder, segmentation-network inference, training step and machine peak.

Every runtime is timed in a process of its own on the same input file (runtimes.py for PyTorch and
onnxruntime-python, bench/dist/ort-node-speed.js for onnxruntime-node), and their outputs are compared so
the numbers are known to come from the same computation.
"""

from __future__ import annotations

import json
import os
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
        "cache_hit": {"status": "pending", "message": "needs the engine's embedding cache (issue 4)"},
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
    """Measured GEMM throughput (FLOP/s): the practical peak the training step is compared with."""
    import torch

    torch.set_num_threads(threads)
    dev = torch.device(device)
    size = size or (8192 if dev.type == "cuda" else 2048)
    dt = getattr(torch, dtype)
    a = torch.randn(size, size, device=dev, dtype=dt)
    b = torch.randn(size, size, device=dev, dtype=dt)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    times = []
    for i in range(runs + 1):
        sync()
        started = time.perf_counter()
        torch.mm(a, b)
        sync()
        if i:
            times.append(time.perf_counter() - started)
    return {"dtype": dtype, "size": size, "flops_per_second": 2 * size**3 / statistics.median(times)}


def training_step_speed(threads: int, runs: int = 5, warmup: int = 2, plans: str | None = None,
                        device: str = "cpu", batch_size: int | None = None, peak: dict | None = None) -> dict:
    """A bare PyTorch loop of nnU-Net's 2D network: forward, nnU-Net's loss, backward, clip, SGD.
    batch_size overrides the plans' (nnU-Net plans a larger batch for datasets with more cases)."""
    import torch
    from nnunetv2.training.loss.compound_losses import DC_and_CE_loss
    from nnunetv2.training.loss.deep_supervision import DeepSupervisionWrapper
    from nnunetv2.training.loss.dice import MemoryEfficientSoftDiceLoss
    from torch.utils.flop_counter import FlopCounterMode

    from .networks import ACDC_2D, build_network, spec_from_plans

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    dev = torch.device(device)
    spec = spec_from_plans(Path(plans)) if plans else ACDC_2D
    network = build_network(spec, deep_supervision=True).to(dev).train()
    n_down = len(spec["arch_kwargs"]["strides"]) - 1
    weights = np.array([1 / 2**i for i in range(n_down)])
    weights[-1] = 0
    loss_fn = DeepSupervisionWrapper(DC_and_CE_loss({"batch_dice": True, "smooth": 1e-5, "do_bg": False, "ddp": False},
                                                    {}, weight_ce=1, weight_dice=1,
                                                    dice_class=MemoryEfficientSoftDiceLoss), weights / weights.sum())
    optimizer = torch.optim.SGD(network.parameters(), 0.01, weight_decay=3e-5, momentum=0.99, nesterov=True)
    b, (h, w) = batch_size or spec["batch_size"], spec["patch_size"]
    x = torch.randn(b, spec["input_channels"], h, w, device=dev)
    targets = [torch.randint(0, spec["num_classes"], (b, 1, h // 2**i, w // 2**i), device=dev).float()
               for i in range(n_down)]
    use_amp = dev.type == "cuda"  # nnU-Net trains with fp16 autocast on CUDA, fp32 on CPU
    scaler = torch.amp.GradScaler("cuda") if use_amp else None

    def step():
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(dev.type, enabled=use_amp):
            loss = loss_fn(network(x), targets)
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

    counter = FlopCounterMode(display=False)
    with counter:
        step()
    flops = counter.get_total_flops()
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    times = []
    for i in range(warmup + runs):
        sync()
        started = time.perf_counter()
        step()
        sync()
        if i >= warmup:
            times.append(time.perf_counter() - started)
    step_s = statistics.median(times)
    peak = peak or matmul_peak(device, threads, "float16" if use_amp else "float32")
    return {
        "network": spec.get("source"),
        "batch_size": b,
        "patch_size": [h, w],
        "precision": "fp16 autocast" if use_amp else "fp32",
        "flops_per_step": flops,
        "bare_step_seconds": stats(times),
        "bare_iterations_per_second": 1 / step_s,
        "achieved_flops_per_second": flops / step_s,
        "peak": peak,
        "fraction_of_peak": flops / step_s / peak["flops_per_second"],
    }


def training_speed(threads: int, results_dir: Path, device: str = "cpu", plans: str | None = None,
                   runs: int = 5) -> dict:
    """Bare loop + FLOPs + peak, put next to the iterations/s the arms reached in the accuracy runs.

    The bare loop runs at every batch size the arms used (nnU-Net plans 2 for 4 labelled volumes, 9 for
    20), so each arm is compared with the same amount of work per step."""
    arms: dict[str, dict] = {}
    for path in sorted((results_dir / "accuracy").glob("*.json")) if (results_dir / "accuracy").is_dir() else []:
        r = json.loads(path.read_text())
        t = r.get("training") or {}
        if r.get("status") != "ok" or not t.get("iterations_per_second"):
            continue
        batch = (t.get("plans") or {}).get("batch_size")
        entry = arms.setdefault(f"{r['arm']} (batch {batch})", {"arm": r["arm"], "batch_size": batch, "runs": 0,
                                                              "iterations": 0, "seconds": 0.0, "step_seconds": 0.0})
        entry["runs"] += 1
        entry["iterations"] += t["iterations"]
        entry["seconds"] += t["train_seconds"]
        entry["step_seconds"] += t.get("train_step_seconds") or 0.0
    default = training_step_speed(threads, runs=runs, plans=plans, device=device)
    bare = {default["batch_size"]: default}
    for batch in sorted({e["batch_size"] for e in arms.values() if e["batch_size"]} - set(bare)):
        bare[batch] = training_step_speed(threads, runs=max(2, runs // 2), plans=plans, device=device,
                                          batch_size=batch, peak=default["peak"])
    for e in arms.values():
        loop = bare.get(e["batch_size"], default)
        e["iterations_per_second"] = e["iterations"] / e["seconds"]
        e["overhead_ratio"] = loop["bare_iterations_per_second"] / e["iterations_per_second"]
        e["fraction_of_peak"] = loop["flops_per_step"] * e["iterations_per_second"] / loop["peak"]["flops_per_second"]
        if e["step_seconds"]:
            e["train_step_iterations_per_second"] = e["iterations"] / e["step_seconds"]
    return {
        "kind": "training",
        "date": now_iso(),
        "machine": machine_info(),
        "load_average": load_average(),
        "threads": threads,
        "bare_loop": default,
        "bare_loops": [bare[b] for b in sorted(bare)],
        "arms": arms,
        "pending": {"nnsam-none": "our network step vs the bare loop needs the engine's trainer (issue 4)"}
        if not any(e["arm"] == "nnsam-none" for e in arms.values()) else {},
    }


E2E_STAGES = ("fetch", "decode", "preprocess", "embed", "infer", "postprocess", "seg_write", "stow")


def e2e_pending() -> dict:
    return {
        "kind": "e2e",
        "status": "pending",
        "date": now_iso(),
        "machine": machine_info(),
        "stages": list(E2E_STAGES),
        "message": "needs the DICOM layer (issue 3), the engine (issue 4) and the server (issue 5): a 300-slice "
                   "512x512 series from DICOMweb fetch to SEG stored, timed per stage",
    }
