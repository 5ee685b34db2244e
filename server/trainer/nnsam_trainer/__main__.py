"""Entry point: `python -m nnsam_trainer <command> ...` (spawned by the Node server).

    env                     runtime environment (torch version, devices) as JSON
    train --data D --out O  train on the folder Node wrote; progress as JSON lines on stdout

Errors end with one JSON line {"type": "error", "code", "message"} on stdout and a non-zero exit:
2 bad input data or --init weights, 3 cancelled (SIGTERM), 1 anything else. Python warnings go to stderr.
"""

import argparse
import errno
import json
import os
import sys
import traceback
from typing import TYPE_CHECKING

from . import __version__
from .encoders import cli as encoder_cli

if TYPE_CHECKING:
    from .progress import Progress


_SAVED_LIMIT: tuple[int, int] | None = None


def limit_memory(mb: str | None) -> int | None:
    """NNSAM_TRAINER_MEMORY_MB: caps the trainer's address space (RLIMIT_AS) once PyTorch is loaded, so a run
    that needs more memory fails with out_of_memory instead of the kernel's OOM killer picking a process."""
    global _SAVED_LIMIT
    if not mb:
        return None
    import resource

    limit = int(mb)
    _SAVED_LIMIT = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (limit << 20, _SAVED_LIMIT[1]))
    return limit


def restore_memory_limit() -> None:
    if _SAVED_LIMIT is not None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, _SAVED_LIMIT)


def is_out_of_memory(e: BaseException) -> bool:
    """MemoryError, PyTorch's allocator failing, or a lazily loaded library that cannot be mapped (ENOMEM)."""
    text = str(e)
    return (isinstance(e, MemoryError) or (isinstance(e, OSError) and e.errno == errno.ENOMEM)
            or "can't allocate memory" in text or "out of memory" in text.lower()
            or "failed to map segment from shared object" in text)


def is_disk_full(e: BaseException, out: str) -> bool:
    """ENOSPC, or any failure while the output's file system has (almost) no space left: PyTorch's zip writer
    reports a full disk as "unexpected pos", without an errno."""
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    try:
        st = os.statvfs(out)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < (1 << 20)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nnsam_trainer", description="nnSAM trainer")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("env", help="print the runtime environment (torch version, devices) as JSON")
    encoder_cli.add_parser(sub)
    t = sub.add_parser("train", help="train a model from the data folder Node wrote")
    t.add_argument("--data", required=True, help="folder with plan.json, dataset.json and slices/")
    t.add_argument("--out", required=True, help="output folder (network.onnx, metrics.json, training_log.jsonl)")
    t.add_argument("--minutes", type=float, default=None, help="wall-clock budget of the training loop")
    t.add_argument("--max-iterations", type=int, default=None, help="stop after this many iterations")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    t.add_argument("--threads", type=int, default=None, help="CPU threads for PyTorch (default: all cores)")
    t.add_argument("--val-every", type=int, default=50, help="validate every N iterations")
    t.add_argument("--patience", type=float, default=0.25, help="early stop after this budget fraction without"
                   " a better validation Dice")
    t.add_argument("--optimizer", choices=["SGD-nesterov", "AdamW"], default=None, help="override the plan's optimizer")
    t.add_argument("--lr", type=float, default=None, help="override the plan's initial learning rate")
    t.add_argument("--init", default=None, help="start from these weights (an earlier model's weights.pt: warm start)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "env":
        return print_env()
    if args.command == "encoder":
        return encoder_cli.run(args)
    return run_training(args)


def print_env() -> int:
    import torch

    info = {
        "trainer": __version__,
        "torch": torch.__version__,
        "cuda": torch.cuda.is_available(),
        "devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
        "threads": torch.get_num_threads(),
    }
    print(json.dumps(info))
    return 0


def run_training(args: argparse.Namespace) -> int:
    """`train`: the exit code, and on failure the last line says why (module docstring)."""
    from .data import DataError
    from .progress import Progress
    from .artifacts import InitError
    from .training import Cancelled, TrainOptions, train

    os.makedirs(args.out, exist_ok=True)
    progress = Progress(os.path.join(args.out, "training_log.jsonl"))
    limited = limit_memory(os.environ.get("NNSAM_TRAINER_MEMORY_MB"))
    try:
        train(TrainOptions(data=args.data, out=args.out, minutes=args.minutes, max_iterations=args.max_iterations,
                           seed=args.seed, device=args.device, threads=args.threads, val_every=args.val_every,
                           patience=args.patience, optimizer=args.optimizer, lr=args.lr, init=args.init),
              progress)
        return 0
    except Cancelled:
        return 3
    except DataError as e:
        progress.emit("error", code="invalid_training_data", message=str(e))
        return 2
    except InitError as e:
        progress.emit("error", code="invalid_init_weights", message=str(e))
        return 2
    except Exception as e:  # noqa: BLE001 - the last line must say what failed, whatever it is
        return report_failure(e, progress, args.out, limited)
    finally:
        progress.close()


def report_failure(e: Exception, progress: "Progress", out: str, limited: int | None) -> int:
    """The `error` line of an unexpected failure: out of memory, a full disk, or anything else (exit 1)."""
    if is_out_of_memory(e):
        restore_memory_limit()  # room to report it
        traceback.print_exc(file=sys.stderr)
        limit = f" (NNSAM_TRAINER_MEMORY_MB={limited})" if limited else ""
        progress.emit("error", code="out_of_memory", message=f"{type(e).__name__}: {str(e)[:300]}{limit}")
        return 1
    traceback.print_exc(file=sys.stderr)
    if is_disk_full(e, out):
        progress.emit("error", code="disk_full", message=f"no space left on the device ({type(e).__name__}: {e})")
        return 1
    progress.emit("error", code="trainer_failed", message=f"{type(e).__name__}: {e}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
