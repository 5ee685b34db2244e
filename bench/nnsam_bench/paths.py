"""Where the benchmarks read and write: repository, shared data, work folder, results."""

from __future__ import annotations

import os
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = BENCH_DIR.parent
#: Result JSONs that docs/benchmarks.md is generated from (committed, small).
RESULTS_DIR = BENCH_DIR / "results"
DOCS_FILE = REPO_ROOT / "docs" / "benchmarks.md"
IMAGES_DIR = REPO_ROOT / "docs" / "images"
NNSAM_BIN = REPO_ROOT / "server" / "bin" / "nnsam.js"
TRAINER_DIR = REPO_ROOT / "server" / "trainer"


def work_dir(*parts: str) -> Path:
    """Scratch space for datasets, models and predictions (gitignored; override: NNSAM_BENCH_WORK)."""
    base = Path(os.environ.get("NNSAM_BENCH_WORK", REPO_ROOT / ".cache" / "bench"))
    path = base.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def shared_data_dir(*parts: str) -> Path:
    """The read-only shared data (../shared/data or NNSAM_SHARED_DATA); a clear error when it is missing."""
    base = Path(os.environ.get("NNSAM_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
    full = base.joinpath(*parts)
    if not full.exists():
        raise FileNotFoundError(
            f"Shared data not found: {full}. The benchmarks read ACDC from ../shared/data next to the "
            "repository (or NNSAM_SHARED_DATA); see docs/testing.md."
        )
    return full


def python_executable() -> str:
    """The interpreter running the harness (server/.venv when started by scripts/bench.sh)."""
    return sys.executable
