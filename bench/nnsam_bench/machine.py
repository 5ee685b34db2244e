"""What machine a result was measured on (stored in every result file and printed in the report)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import datetime, timezone
from functools import lru_cache

from .paths import REPO_ROOT


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _package_version(name: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:
        return None


@lru_cache(maxsize=1)
def machine_info() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    mem_kb = next((int(line.split()[1]) for line in _read("/proc/meminfo").splitlines()
                   if line.startswith("MemTotal:")), 0)
    os_name = next((line.split("=", 1)[1].strip('"') for line in _read("/etc/os-release").splitlines()
                    if line.startswith("PRETTY_NAME=")), platform.system())
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    gpu = None
    try:
        import torch

        torch_version = torch.__version__
        if torch.cuda.is_available():
            props = torch.cuda.get_device_properties(0)
            gpu = {"name": props.name, "memory_gib": round(props.total_memory / 2**30, 1),
                   "cuda": torch.version.cuda}
    except ImportError:
        torch_version = None
    ort_node = None
    pkg = REPO_ROOT / "node_modules" / "onnxruntime-node" / "package.json"
    if pkg.is_file():
        ort_node = json.loads(pkg.read_text()).get("version")
    try:
        node = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        node = None
    return {
        "cpu": cpu,
        "cores": affinity,
        "ram_gib": round(mem_kb / 2**20, 1),
        "os": f"{os_name}, kernel {platform.release()}",
        "python": platform.python_version(),
        "torch": torch_version,
        "onnxruntime_python": _package_version("onnxruntime"),
        "onnxruntime_node": ort_node,
        "nnunetv2": _package_version("nnunetv2"),
        "node": node,
        "gpu": gpu,
    }


def load_average() -> float | None:
    """1-minute load average: the development machine is shared, so results record how busy it was."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def machine_label(info: dict | None = None) -> str:
    """Short folder name for results of this kind of machine, e.g. "cpu-2c" or "cuda-h100"."""
    info = info or machine_info()
    if info.get("gpu"):
        name = info["gpu"]["name"].lower().replace("nvidia", "").strip().split()
        return "cuda-" + (name[0] if name else "gpu")
    return f"cpu-{info['cores']}c"


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()
