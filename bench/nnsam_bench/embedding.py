"""Keeping image, labels and SAM embedding aligned under spatial augmentation: what each way costs.

1. Per training batch (the engine's plan for the ACDC few-shot manifest with the MobileSAM encoder: its
   patch, batch size and embedding stride), on the same augmented samples:
   - warp: the cached 256x64x64 embedding of each sample's slice warped with the sample's affine transform
     by the trainer's own code (nnsam_trainer.augmentation: theta_for, warp), to the decoder stage's grid;
   - online: the augmented image patches embedded by the frozen MobileSAM encoder in PyTorch
     (nnsam_trainer.encoders.FrozenSamEncoder, which applies sam_preprocess), then resized to the same grid.
   Full-size MobileSAM with random weights: the same cost as the real one.
2. The engine's embedding cache (bench/src/embed-cache.ts): N ACDC slices through Embedder + EmbeddingCache
   with the full-size random-weights ONNX encoder, cold and warm (cache hit), and the bytes per slice.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np

from .machine import machine_info, now_iso
from .paths import BENCH_DIR, work_dir
from .speed import _run_json, stats

EMBED_CACHE_SCRIPT = BENCH_DIR / "dist" / "embed-cache.js"


def _training_slices(manifest: Path, channels: int, grid: int, seed: int = 0) -> list:
    """The manifest's labelled slices as the trainer holds them (nnsam_trainer.data.Slice): z-scored image,
    labels, and a float16 embedding (random values: the cost of warping does not depend on them)."""
    import nibabel as nib
    import torch
    from nnsam_trainer.data import Slice

    from .fewshot import read_manifest

    rng = np.random.default_rng(seed)
    out = []
    for case in read_manifest(manifest).cases:
        image = np.asarray(nib.load(case.image).dataobj, dtype=np.float32)
        label = np.asarray(nib.load(case.label).dataobj, dtype=np.uint8)
        image = (image - image.mean()) / (image.std() + 1e-8)
        for k in case.labeled_slices:
            lab = torch.from_numpy(np.ascontiguousarray(label[:, :, k].T))
            emb = torch.from_numpy(rng.standard_normal((channels, grid, grid)).astype(np.float16))
            s = Slice(f"{case.image.name}-{k}", torch.from_numpy(np.ascontiguousarray(image[:, :, k].T)),
                      lab, emb)
            flat = lab.flatten()
            for c in range(1, 4):
                idx = torch.nonzero(flat == c).flatten()
                if idx.numel():
                    s.present_classes.append(c)
                    s.class_pixels[c] = idx
            out.append(s)
    return out


def warp_vs_online(plan: dict, manifest: Path, checkpoint: Path, threads: int, runs: int, warmup: int = 1,
                   device: str = "cpu") -> dict:
    import torch
    import torch.nn.functional as F
    from nnsam_trainer.augmentation import Sampler, spatial_params_for, theta_for, warp
    from nnsam_trainer.encoders import FrozenSamEncoder

    torch.set_num_threads(threads)
    dev = torch.device(device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    emb = plan["embedding"]
    patch = tuple(int(v) for v in plan["network"]["patchSize"])
    batch = int(plan["network"]["batchSize"])
    stride = tuple(int(v) for v in emb["stride"])
    grid = (patch[0] // stride[0], patch[1] // stride[1])
    slices = _training_slices(manifest, int(emb["channels"]), int(emb["grid"][0]))
    # the trainer's sampler draws the samples (crop centre, rotation, scaling, mirroring) as in training
    sampler = Sampler(slices, patch, batch, [], stride, 255, np.random.default_rng(0),
                      spatial_params_for(patch, plan.get("training")), intensity=False)
    encoder = FrozenSamEncoder.from_checkpoint(checkpoint, device=dev)
    if dev.type == "cuda":
        for s in slices:
            s.image, s.embedding = s.image.to(dev), s.embedding.to(dev)

    def draw_batch():
        samples = []
        for b in range(batch):
            s = slices[int(sampler.rng.integers(len(slices)))]
            center = sampler._center(s, force_fg=b >= round(batch * (1 - sampler.oversample)))
            samples.append((s, theta_for(center, sampler._matrix(), patch, tuple(s.image.shape))))
        return samples

    warp_s, online_s, patch_s = [], [], []
    for i in range(warmup + runs):
        samples = draw_batch()
        sync()
        t = time.perf_counter()
        images = torch.stack([warp(s.image[None], theta, patch, "bilinear") for s, theta in samples])
        sync()
        t_patch = time.perf_counter() - t
        t = time.perf_counter()
        warped = torch.stack([warp(s.embedding, theta, grid, "bilinear") for s, theta in samples])
        sync()
        t_warp = time.perf_counter() - t
        t = time.perf_counter()
        online = F.interpolate(encoder(images), size=grid, mode="bilinear", align_corners=False)
        sync()
        t_online = time.perf_counter() - t
        assert warped.shape == online.shape, (warped.shape, online.shape)
        if i >= warmup:
            warp_s.append(t_warp)
            online_s.append(t_online)
            patch_s.append(t_patch)
    result = {
        "device": dev.type,
        "batch_size": batch,
        "patch_size": list(patch),
        "embedding_grid": list(grid),
        "embedding_stride": list(stride),
        "warp_seconds_per_batch": stats(warp_s),
        "online_seconds_per_batch": stats(online_s),
        "image_warp_seconds_per_batch": stats(patch_s),
        "online_over_warp": statistics.median(online_s) / statistics.median(warp_s),
    }
    if dev.type == "cuda":
        result["peak_gpu_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return result


def embedding_cache(encoder_onnx: Path, threads: int, slices: int, runs: int) -> dict:
    from .fewshot import acdc_paths, acdc_split

    if not EMBED_CACHE_SCRIPT.is_file():
        raise FileNotFoundError(f"{EMBED_CACHE_SCRIPT} is missing: build it with `npx tsc -p bench`")
    images = [acdc_paths(case, "val")[0] for case in acdc_split("val")[:2]]
    cmd = ["node", str(EMBED_CACHE_SCRIPT), "--encoder", str(encoder_onnx),
           *[a for i in images for a in ("--image", str(i))], "--slices", str(slices), "--runs", str(runs),
           "--threads", str(threads)]
    r = _run_json(cmd, threads)
    r["images"] = [i.name for i in images]
    cold = [sum(run) for run in r["coldSeconds"]]
    warm = [sum(run) for run in r["warmSeconds"]]
    r["cold_seconds_per_slice"] = stats(cold, per=r["slices"])
    r["warm_seconds_per_slice"] = stats(warm, per=r["slices"])
    r["cold_over_warm"] = statistics.median(cold) / statistics.median(warm)
    r["bytes_per_slice"] = r["cacheBytes"] / max(1, r["cacheFiles"])
    return r


def embedding_speed(threads: int, runs: int = 3, device: str = "cpu", encoder_onnx: str | None = None,
                    cache_slices: int = 8) -> dict:
    from .encoders import choose_encoder, random_checkpoint
    from .engine import engine_plan, fewshot_manifest

    enc = choose_encoder(encoder_onnx, threads)
    checkpoint = enc.checkpoint or random_checkpoint(0)
    manifest = fewshot_manifest(4, 0)
    plan = engine_plan(manifest, str(enc.onnx), threads, work_dir("speed", "embedding") / "plan.json")
    result = {
        "kind": "embedding",
        "date": now_iso(),
        "machine": machine_info(),
        "threads": threads,
        "encoder": {"onnx": enc.onnx.name, "random_weights": enc.random_weights, "label": enc.label,
                    "checkpoint": checkpoint.name},
        "plan": f"`nnsam plan` for the ACDC few-shot manifest ({manifest.parent.name}) with this encoder",
        "per_batch": warp_vs_online(plan, manifest, checkpoint, threads, runs, device=device),
    }
    if device == "cpu":
        try:
            result["cache"] = embedding_cache(enc.onnx, threads, cache_slices, runs)
        except (OSError, RuntimeError) as e:
            result["cache"] = {"skipped": str(e)[:300]}
    return result
