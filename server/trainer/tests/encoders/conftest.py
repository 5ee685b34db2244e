"""Shared fixtures: heavy tests cap PyTorch at 2 threads (the CI machine has 2 cores, shared)."""

import json
import subprocess
import sys

import pytest
import torch

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def random_checkpoint(tmp_path_factory) -> dict:
    """A full-size checkpoint with random weights in mobile_sam.pt's layout, made by the trainer's CLI."""
    out = tmp_path_factory.mktemp("checkpoint") / "mobile_sam_random.pt"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "nnsam_trainer",
            "encoder",
            "make-random-checkpoint",
            "--out",
            str(out),
            "--seed",
            "7",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["event"] == "result"
    return result
