"""The CUDA source compiles with the machine's nvcc for sm_90 (Hopper), and defines every kernel the CuPy
wrapper can launch -- so a broken kernel cannot land unnoticed on a machine without a GPU."""

import os
import re
import shutil
import subprocess

import pytest

from implementations import cupy_kernels

NVCC = shutil.which("nvcc") or next((p for p in ("/usr/local/cuda/bin/nvcc",) if os.path.exists(p)), None)
pytestmark = pytest.mark.skipif(NVCC is None and not os.environ.get("CI"),
                                reason="nvcc not found (CI runs this check; CUDA toolkit: /usr/local/cuda)")


def _require_nvcc():
    assert NVCC is not None, "CI=true but nvcc is missing: the CUDA source cannot be compile-checked"


@pytest.mark.parametrize("extra", [(), cupy_kernels.FAST_MATH], ids=["accurate", "fast_math"])
def test_cuda_source_compiles_for_sm90(tmp_path, extra):
    _require_nvcc()
    r = subprocess.run([NVCC, "-arch=sm_90", "--std=c++17", *extra, "-Werror", "all-warnings", "-c",
                        str(cupy_kernels.SOURCE), "-o", str(tmp_path / "softmax.o")],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-4000:]


def test_every_launched_kernel_is_defined(tmp_path):
    _require_nvcc()
    r = subprocess.run([NVCC, "-E", "--std=c++17", str(cupy_kernels.SOURCE)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-4000:]
    kernel = r'extern\s+"C"\s+(?:__global__|__attribute__\(\(global\)\))\s+void\s+(\w+)\s*\('
    defined = set(re.findall(kernel, r.stdout))
    wanted = {f"{op}_{kind}_{dt}" for op in ("softmax", "log_softmax", "logsumexp")
              for kind in [f"warp{v}" for v in (1, 2, 4, 8, 16, 32)] + ["block"]
              for dt in cupy_kernels._DTYPES.values()}
    assert wanted <= defined, sorted(wanted - defined)
