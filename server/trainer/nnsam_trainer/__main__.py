"""Entry point: `python -m nnsam_trainer <command> ...` (spawned by the Node server)."""

import argparse
import json
import sys

from . import __version__
from .encoders import cli as encoder_cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nnsam_trainer", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("env", help="print the runtime environment (torch version, devices) as JSON")
    encoder_cli.add_parser(sub)
    args = parser.parse_args(argv)
    if args.command == "env":
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
    if args.command == "encoder":
        return encoder_cli.run(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
