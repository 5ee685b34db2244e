"""`python -m nnsam_trainer encoder ...`: the encoder commands the Node side spawns.

Every line on stdout is one JSON object: {"event": "progress", "message": ...} while working, then
either {"event": "result", ...} (exit 0) or {"event": "error", "code": ..., "message": ...} (exit 1).
"""

from __future__ import annotations

import argparse
import json
import sys

from .checkpoint import EncoderCheckpointError


def emit(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def add_parser(sub: argparse._SubParsersAction) -> None:
    encoder = sub.add_parser("encoder", help="SAM image encoder: export to ONNX, random test checkpoints")
    commands = encoder.add_subparsers(dest="encoder_command", required=True)

    export = commands.add_parser("export", help="export MobileSAM's image encoder from mobile_sam.pt to ONNX")
    export.add_argument("--checkpoint", required=True, help="mobile_sam.pt, or an encoder-only state dict")
    export.add_argument("--out", required=True, help="ONNX file to write")
    export.add_argument("--no-verify", action="store_true", help="skip the PyTorch vs onnxruntime comparison")
    export.add_argument("--threads", type=int, default=None, help="CPU threads for PyTorch and onnxruntime")

    random = commands.add_parser(
        "make-random-checkpoint",
        help="FOR TESTS: a checkpoint in mobile_sam.pt's key layout with random (useless) weights",
    )
    random.add_argument("--out", required=True)
    random.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    import torch

    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)
    try:
        if args.encoder_command == "export":
            from .export import export_encoder_onnx

            result = export_encoder_onnx(
                args.checkpoint,
                args.out,
                verify=not args.no_verify,
                threads=args.threads,
                progress=lambda message: emit("progress", message=message),
            )
        else:
            from .checkpoint import make_random_checkpoint

            result = make_random_checkpoint(args.out, seed=args.seed)
        emit("result", **result)
        return 0
    except EncoderCheckpointError as e:
        emit("error", code="encoder_checkpoint_invalid", message=str(e))
    except OSError as e:
        emit("error", code="encoder_io_error", message=f"{e.strerror or e}: {e.filename or ''}".strip())
    except RuntimeError as e:
        emit("error", code="encoder_export_failed", message=str(e).strip().splitlines()[0][:500])
    print(f"nnsam_trainer encoder {args.encoder_command} failed", file=sys.stderr)
    return 1
