"""Fused CUDA kernels for softmax, log_softmax and logsumexp (``implementations/cuda/softmax.cu``) through CuPy,
and CuPy's own composition as the peer.  Registered only when CuPy imports and sees a CUDA device.

Launch: rows of up to 1,024 entries go to the warp kernel (one warp a row, the row in registers: 32 x VPT
values, VPT the smallest of 1, 2, 4, 8, 16, 32 that holds it; 4 warps a block); longer rows to the block kernel
(one 512-thread block a row, online (max, sum) merge, 16-byte loads when the row length is a multiple of 16
bytes).  The axis is moved last (a copy only when it is not already last and contiguous).  float16 inputs are
computed in float32; bfloat16 kernels are compiled too, but CuPy has no bfloat16 dtype, so the suite cannot
hand them arrays: they are not registered.  ``cupy.*_fused_fastmath`` is the same source built with
``--use_fast_math``: it flushes subnormals, declares so, and is judged without them (float32).
"""

from __future__ import annotations

import math
from pathlib import Path

from stability.registry import register

SOURCE = Path(__file__).with_name("cuda") / "softmax.cu"
WARP_MAX = 1024
WARPS_PER_BLOCK = 4
BLOCK_THREADS = 512
_DTYPES = {"float16": "float16", "float32": "float32", "float64": "float64"}
_modules: dict = {}
FAST_MATH = ("--use_fast_math",)  # implies -ftz=true and the approximate __expf/__logf: declared as a flush


def _device_present() -> bool:
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # no CuPy, no driver, no device: nothing to register
        return False


def _kernel(name: str, fast_math: bool = False):
    import cupy

    if fast_math not in _modules:  # default: accurate expf/log1pf, no --use_fast_math, no -ftz
        options = ("--std=c++17",) + (FAST_MATH if fast_math else ())
        _modules[fast_math] = cupy.RawModule(code=SOURCE.read_text(encoding="utf-8"), options=options)
    return _modules[fast_math].get_function(name)


def launch(op: str, x, axis: int = -1, fast_math: bool = False):
    """Run kernel family ``op`` (softmax, log_softmax, logsumexp) on CuPy array ``x`` along ``axis``
    (``fast_math``: the same source compiled with ``--use_fast_math``, which flushes subnormals)."""
    import cupy
    import numpy as np

    if x.dtype.name not in _DTYPES:
        raise TypeError(f"{op}: no kernel for {x.dtype} (float16, float32, float64)")
    xm = cupy.ascontiguousarray(cupy.moveaxis(x, axis, -1))
    n = xm.shape[-1]
    rows = math.prod(xm.shape[:-1])
    out_shape = xm.shape[:-1] if op == "logsumexp" else xm.shape
    y = cupy.empty(out_shape, dtype=x.dtype)
    if rows and (n or op == "logsumexp"):
        suffix = _DTYPES[x.dtype.name]
        if n <= WARP_MAX:
            vpt = next(v for v in (1, 2, 4, 8, 16, 32) if 32 * v >= n)
            grid = (rows + WARPS_PER_BLOCK - 1) // WARPS_PER_BLOCK
            _kernel(f"{op}_warp{vpt}_{suffix}", fast_math)((grid,), (32 * WARPS_PER_BLOCK,),
                                                (xm, y, np.int64(rows), np.int32(n)))
        else:
            vec = int(n * x.dtype.itemsize % 16 == 0)
            _kernel(f"{op}_block_{suffix}", fast_math)((rows,), (BLOCK_THREADS,), (xm, y, np.int64(rows), np.int32(n),
                                                                       np.int32(vec)))
    return y if op == "logsumexp" else cupy.moveaxis(y, -1, axis)


if _device_present():
    for _op in ("softmax", "log_softmax", "logsumexp"):
        register(_op, f"cupy.{_op}_fused", f"fused CUDA kernel (warp or block per row, log1p form), {SOURCE.name}",
                 library="cupy", dtypes=tuple(_DTYPES))(lambda x, axis=-1, _op=_op: launch(_op, x, axis))
        # the fast-math build: subnormals flushed (declared, so judged without them) and approximate exp/log
        register(_op, f"cupy.{_op}_fused_fastmath", f"the fused kernel built with {' '.join(FAST_MATH)}",
                 library="cupy", dtypes=("float32",), flushes_subnormals=True)(
            lambda x, axis=-1, _op=_op: launch(_op, x, axis, fast_math=True))
    try:
        import cupyx.scipy.special as _cs

        for _op in ("softmax", "log_softmax", "logsumexp"):
            if hasattr(_cs, _op):
                register(_op, f"cupyx.{_op}", f"cupyx.scipy.special.{_op} (several kernels and temporaries)",
                         library="cupy", origin="peer", dtypes=("float32", "float64"))(
                    lambda x, axis=-1, _f=getattr(_cs, _op): _f(x, axis=axis))
    except ImportError:  # pragma: no cover - CuPy without cupyx.scipy
        pass
