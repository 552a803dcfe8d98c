"""The facts of the machine and the software a run measured on: CPU model, cores, memory, library versions, the
suite's commit.  Stored with every run (``stability.store``) and shown on the report's last section; two runs
compare their timings only when these say the same machine."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

PACKAGES = ("numpy", "scipy", "mpmath", "hypothesis", "ml_dtypes", "pandas", "matplotlib", "jinja2",
            "pytest-benchmark", "torch", "jax", "jaxlib", "cupy-cuda12x", "array-api-compat", "dask",
            "tensorflow-cpu", "tensorflow", "onnxruntime", "onnx", "mlx", "paddlepaddle", "tinygrad")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _version(pkg: str) -> str:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return "not installed"


def environment() -> dict:
    """Machine and versions, for the page's last section."""
    from stability import __version__

    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "softmax-stability": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cores": str(os.cpu_count()),
        "memory": _memory_gib(),
        "host": platform.node(),
        "commit": _commit(),
        "packages": {p: _version(p) for p in PACKAGES},
    }


def _commit() -> str:
    """The suite's git commit (``-dirty`` with uncommitted changes), or "unknown" outside a checkout."""
    here = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "-C", str(here), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                              text=True, timeout=10)
        if head.returncode != 0:
            return "unknown"
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def same_machine(a: dict, b: dict) -> bool:
    """Whether two environments are the same machine (host, CPU model, cores): timings compare only then."""
    return all(a.get(k) == b.get(k) for k in ("host", "cpu", "cores"))
