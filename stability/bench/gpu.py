"""GPU timing with CUDA events: warm-up, the median of many runs, inputs rotated so the L2 cache does not flatter
small sizes, and a device-to-device copy of the same array timed in the same run as the roofline.

Rows have the columns of :mod:`stability.bench.table` with ``device="cuda"``, so CPU and GPU results share one
table and the report shows them side by side.  ``frac_copy`` counts bytes read + written, as the copy does.
"""

from __future__ import annotations

import math

import numpy as np

L2_FLUSH_BYTES = 256 << 20  # rotate through at least this much input: several times an H100's 50 MB L2


def _time(fn, buffers, repeats: int, warmup: int = 3) -> np.ndarray:
    """Seconds per call, one CUDA-event pair per call, each call on the next buffer in turn."""
    import cupy

    for i in range(warmup):
        fn(buffers[i % len(buffers)])
    start, stop = cupy.cuda.Event(), cupy.cuda.Event()
    out = []
    for i in range(repeats):
        b = buffers[i % len(buffers)]
        start.record()
        fn(b)
        stop.record()
        stop.synchronize()
        out.append(cupy.cuda.get_elapsed_time(start, stop) / 1e3)
    return np.array(out)


def _as_torch(buffer):
    import torch

    return torch.from_dlpack(buffer)


def run(impls, shapes, dtypes, *, repeats: int = 50, seed: int = 0):
    """Time the GPU implementations (CuPy, and PyTorch on CUDA) on the device; a DataFrame of
    :data:`stability.bench.table.COLUMNS`."""
    import cupy
    import pandas as pd

    from ..functions import get
    from ..registry import GPU_LIBRARIES
    from .roofline import bytes_moved
    from .table import COLUMNS

    rows = []
    rng = np.random.default_rng(seed)
    for shape in shapes:
        for dtype in dtypes:
            host = rng.normal(0, 3, shape).astype(dtype)
            copies = max(1, min(16, math.ceil(L2_FLUSH_BYTES / max(host.nbytes, 1))))
            bufs = [cupy.asarray(host) for _ in range(copies)]
            dst = cupy.empty_like(bufs[0])
            copy = float(np.median(_time(lambda b: cupy.copyto(dst, b), bufs, repeats)))
            copy_gbps = 2 * host.nbytes / copy / 1e9
            exp = float(np.median(_time(lambda b: cupy.exp(b, out=dst), bufs, repeats)))
            for impl in impls:
                if impl.library not in GPU_LIBRARIES or (impl.dtypes and dtype not in impl.dtypes):
                    continue
                if get(impl.function).kind not in ("axis", "reduce"):
                    continue
                # torch reads the very same device buffers through DLPack (zero copy); both libraries launch on
                # the legacy default stream, so the CuPy events bracket torch's kernels too
                args = [_as_torch(b) for b in bufs] if impl.library == "torch_cuda" else bufs
                t = _time(lambda b: impl.fn(b, axis=-1), args, repeats)
                med = float(np.median(t))
                moved = bytes_moved(impl.function, host)
                rows.append({
                    "function": impl.function, "implementation": impl.name, "library": impl.library, "device": "cuda",
                    "shape": "x".join(map(str, shape)), "dtype": dtype, "elements": int(host.size),
                    "alloc": "allocating", "threads": 0, "median_s": med, "min_s": float(t.min()),
                    "max_s": float(t.max()), "repeats": repeats, "gbps": moved / med / 1e9,
                    "frac_copy": copy / med * moved / (2 * host.nbytes), "elements_per_s": host.size / med,
                    "frac_exp": exp / med, "bound": "memory" if copy > exp else "exp", "copy_gbps": copy_gbps,
                    "exp_elements_per_s": host.size / exp,
                })
            bufs = dst = None  # the device memory goes back to the pool
            cupy.get_default_memory_pool().free_all_blocks()
    return pd.DataFrame(rows, columns=COLUMNS)
