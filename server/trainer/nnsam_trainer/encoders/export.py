"""Export MobileSAM's image encoder to ONNX and check the file against PyTorch with onnxruntime.

Contract of the file (what the Node engine and `nnsam encoder check` rely on):
  input  `image`      float32 [N, 3, 1024, 1024], SAM-normalized pixels (see preprocess.py), N dynamic
  output `embedding`  float32 [N, 256, 64, 64]
  metadata_props      encoder=mobilesam, source_sha256=<sha256 of the checkpoint>, and the fields below.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch

from .checkpoint import load_image_encoder, sha256_file
from .preprocess import PIXEL_MEAN, PIXEL_STD
from .tiny_vit import MOBILESAM, TinyVitConfig

ENCODER_NAME = "mobilesam"
OPSET = 17
INPUT_NAME = "image"
OUTPUT_NAME = "embedding"
# PyTorch vs onnxruntime on float32: differences of 1e-5..1e-4 are rounding; above this something is wrong
MAX_ABS_DIFF = 1e-3

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def export_encoder_onnx(
    checkpoint: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    config: TinyVitConfig = MOBILESAM,
    verify: bool = True,
    seed: int = 0,
    threads: int | None = None,
    progress: Progress = _quiet,
) -> dict[str, object]:
    """Writes the ONNX encoder to `out` (atomically: a temporary file renamed at the end).

    With `verify`, onnxruntime runs the file on one random input and the result is compared with
    PyTorch; a difference above MAX_ABS_DIFF raises. Returns a summary (sizes, sha256s, max_abs_diff).
    """
    import onnx  # noqa: F401 - missing onnx fails here, before the checkpoint is read and traced

    out = Path(out)
    progress(f"reading checkpoint {checkpoint}")
    model = load_image_encoder(checkpoint, config=config)
    source_sha = sha256_file(checkpoint)
    size = config.img_size
    example = torch.randn(1, config.in_chans, size, size, generator=torch.Generator().manual_seed(seed))

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        progress(f"exporting to ONNX (opset {OPSET})")
        started = time.perf_counter()
        _trace(model, example, tmp)
        export_s = time.perf_counter() - started
        _state_the_contract(tmp, config, checkpoint, source_sha)
        progress(f"ONNX file written and checked ({tmp.stat().st_size / 1e6:.1f} MB, {export_s:.1f} s)")

        result: dict[str, object] = {
            "out": str(out),
            "encoder": ENCODER_NAME,
            "source_sha256": source_sha,
            "opset": OPSET,
            "bytes": tmp.stat().st_size,
            "parameters": model.encoder_parameter_count(),
        }
        if verify:
            result.update(_verify(model, tmp, example, threads, out, progress))
        os.replace(tmp, out)
        result["sha256"] = sha256_file(out)
        return result
    finally:
        tmp.unlink(missing_ok=True)


def _trace(model: torch.nn.Module, example: torch.Tensor, path: Path) -> None:
    """The TorchScript exporter, batch dynamic."""
    with warnings.catch_warnings():
        # the TorchScript-based exporter is deprecated in favour of dynamo, which needs onnxscript
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        warnings.filterwarnings("ignore", message="Constant folding")
        torch.onnx.export(
            model,
            (example,),
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            do_constant_folding=True,
        )


def _state_the_contract(path: Path, config: TinyVitConfig, checkpoint: str | os.PathLike[str],
                        source_sha: str) -> None:
    """Writes the contract (module docstring) into the file: fixed shapes but the batch, metadata_props; then
    checks the model."""
    import onnx

    size, side = config.img_size, config.embedding_size
    proto = onnx.load(str(path))
    metadata = {
        "encoder": ENCODER_NAME,
        "source_sha256": source_sha,
        "source_file": Path(checkpoint).name,
        "input": f"{INPUT_NAME} float32 [N,{config.in_chans},{size},{size}] SAM-normalized",
        "output": f"{OUTPUT_NAME} float32 [N,{config.neck_dim},{side},{side}]",
        "pixel_mean": ",".join(str(v) for v in PIXEL_MEAN),
        "pixel_std": ",".join(str(v) for v in PIXEL_STD),
        "exporter": f"nnsam_trainer torch {torch.__version__}",
    }
    # the tracer leaves the output's spatial sizes symbolic; state the contract in the graph itself
    for value, dims in (
        (proto.graph.input[0], (config.in_chans, size, size)),
        (proto.graph.output[0], (config.neck_dim, side, side)),
    ):
        shape = value.type.tensor_type.shape
        shape.dim[0].dim_param = "batch"
        for dim, n in zip(shape.dim[1:], dims):
            dim.dim_value = n
    del proto.metadata_props[:]
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name = "nnsam_trainer"
    onnx.save(proto, str(path))
    onnx.checker.check_model(str(path))


def _verify(model: torch.nn.Module, path: Path, example: torch.Tensor, threads: int | None, out: Path,
            progress: Progress) -> dict[str, object]:
    """Compares the file with PyTorch on `example`; raises above MAX_ABS_DIFF (so `out` is not written)."""
    progress("comparing PyTorch and onnxruntime on a random input")
    diff, torch_s, ort_s = compare_with_onnxruntime(model, path, example, threads)
    progress(f"max abs difference PyTorch vs onnxruntime: {diff:.3g}")
    if not diff <= MAX_ABS_DIFF:
        raise RuntimeError(
            f"the exported encoder differs from PyTorch by {diff:.3g} (limit {MAX_ABS_DIFF}); "
            f"not writing {out}"
        )
    return {"max_abs_diff": diff, "torch_seconds": torch_s, "onnxruntime_seconds": ort_s}


def compare_with_onnxruntime(
    model: torch.nn.Module,
    onnx_path: str | os.PathLike[str],
    example: torch.Tensor,
    threads: int | None = None,
) -> tuple[float, float, float]:
    """(max |PyTorch - onnxruntime|, PyTorch seconds, onnxruntime seconds) for one input."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    started = time.perf_counter()
    with torch.no_grad():
        expected = model(example).numpy()
    torch_s = time.perf_counter() - started
    started = time.perf_counter()
    (got,) = session.run([OUTPUT_NAME], {INPUT_NAME: example.numpy()})
    ort_s = time.perf_counter() - started
    if got.shape != expected.shape:
        raise RuntimeError(f"onnxruntime returned {list(got.shape)}, PyTorch {list(expected.shape)}")
    return float(abs(got - expected).max()), torch_s, ort_s
