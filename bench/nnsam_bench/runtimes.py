"""Time one network in one runtime, in a process of its own (clean peak-memory numbers):

    python -m nnsam_bench.runtimes ort --model F.onnx --input X.f32 --shape 1,3,1024,1024 [...]
    python -m nnsam_bench.runtimes torch-encoder --checkpoint C.pt --input X.f32 --shape ... [...]
    python -m nnsam_bench.runtimes torch-nnsam --plan P.json --weights W.pt --input X.f32 --shape ... \
        [--input E.f32 --shape ...]        (the engine's network: image, and the SAM embedding when planned)

Every command prints one JSON object: seconds of every timed run (after warm-up), peak RSS, and writes
the output to --output (raw float32) so the caller can check that all runtimes computed the same thing.
onnxruntime-node is timed by bench/src/ort-node-speed.ts on the same input files.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np


def read_input(path: Path, shape: list[int]) -> np.ndarray:
    data = np.fromfile(path, dtype="<f4")
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path} holds {data.size} float32 values; shape {shape} needs {int(np.prod(shape))}")
    return data.reshape(shape)


def peak_rss_mib() -> float:
    """Peak resident memory of this process. VmHWM (Linux) is reset by exec; ru_maxrss is not: a child
    started by a large parent would report the parent's size."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed_runs(fn, runs: int, warmup: int, sync=lambda: None) -> tuple[list[float], list[float], object]:
    warm, timed, out = [], [], None
    for i in range(warmup + runs):
        sync()
        started = time.perf_counter()
        out = fn()
        sync()
        (warm if i < warmup else timed).append(time.perf_counter() - started)
    return warm, timed, out


def run_ort(args) -> dict:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if args.device == "cuda" else ["CPUExecutionProvider"]
    providers = [p for p in providers if p in ort.get_available_providers()]
    started = time.perf_counter()
    session = ort.InferenceSession(args.model, options, providers=providers)
    create = time.perf_counter() - started
    feeds = {i.name: read_input(path, shape) for i, path, shape in zip(session.get_inputs(), args.input, args.shape)}
    warm, timed, out = timed_runs(lambda: session.run(None, feeds)[0], args.runs, args.warmup)
    return {"runtime": "onnxruntime-python", "version": ort.__version__, "providers": session.get_providers(),
            "createSeconds": create, "warmupSeconds": warm, "seconds": timed, "output": out}


def _torch_common(args, module) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    module = module.to(device).eval()
    xs = [torch.from_numpy(read_input(path, shape)).to(device) for path, shape in zip(args.input, args.shape)]
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def forward():
        with torch.inference_mode():
            return module(*xs)

    warm, timed, out = timed_runs(forward, args.runs, args.warmup, sync)
    if isinstance(out, (list, tuple)):
        out = out[0]
    result = {"runtime": "pytorch-eager", "version": torch.__version__, "device": str(device),
              "warmupSeconds": warm, "seconds": timed, "output": out.float().cpu().numpy()}
    if device.type == "cuda":
        result["peakGpuMiB"] = torch.cuda.max_memory_allocated() / 2**20
    return result


def run_torch_encoder(args) -> dict:
    from nnsam_trainer.encoders import load_image_encoder

    return _torch_common(args, load_image_encoder(args.checkpoint))


def run_torch_nnsam(args) -> dict:
    import torch
    from nnsam_trainer.network import build_network

    plan = json.loads(Path(args.plan).read_text())
    network = build_network(plan, int(plan["numClasses"]), deep_supervision=False)
    network.load_state_dict(torch.load(args.weights, map_location="cpu"))
    return _torch_common(args, network)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="nnsam_bench.runtimes")
    sub = p.add_subparsers(dest="runtime", required=True)
    for name in ("ort", "torch-encoder", "torch-nnsam"):
        s = sub.add_parser(name)
        # one --input/--shape pair per network input, in the network's input order
        s.add_argument("--input", required=True, type=Path, action="append")
        s.add_argument("--shape", required=True, type=lambda t: [int(v) for v in t.split(",")], action="append")
        s.add_argument("--runs", type=int, default=5)
        s.add_argument("--warmup", type=int, default=1)
        s.add_argument("--threads", type=int, default=1)
        s.add_argument("--device", default="cpu")
        s.add_argument("--output", type=Path)
        if name == "ort":
            s.add_argument("--model", required=True)
        elif name == "torch-encoder":
            s.add_argument("--checkpoint", required=True)
        else:
            s.add_argument("--plan", required=True, help="the engine's plan.json (nnsam plan)")
            s.add_argument("--weights", required=True)
    args = p.parse_args(argv)
    if len(args.input) != len(args.shape):
        p.error(f"{len(args.input)} --input but {len(args.shape)} --shape: give one shape per input")
    result = {"ort": run_ort, "torch-encoder": run_torch_encoder, "torch-nnsam": run_torch_nnsam}[args.runtime](args)
    out = np.ascontiguousarray(result.pop("output"), dtype="<f4")
    if args.output:
        out.tofile(args.output)
    result.update(threads=args.threads, inputShape=args.shape[0], inputShapes=args.shape, outputShape=list(out.shape),
                  peakRssMiB=peak_rss_mib())
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
