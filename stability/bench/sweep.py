"""The benchmark sweep: every implementation x shape x dtype, timed interleaved with the roofline cases.

For each (shape, dtype) one input array is made (logits ~ N(0, 3^2); targets for the losses), the copy and exp
roofs are timed in the same interleaved rounds as every implementation, and each result row says how the
implementation compares to both.  Implementations whose function accepts ``out=`` are timed with a
preallocated output and, separately, allocating.  PyTorch and the fast path (``*.fast``, its own thread pool) are
timed at one thread and at all threads; ``table.against`` sets each row beside PyTorch's at the same threads.
"""

from __future__ import annotations

import inspect
import os

import numpy as np

from ..arraylib import precision_scope, to_library
from ..functions import get
from ..verify import dtypes_for
from . import roofline, timing

DEFAULT_SHAPES = [(1, 1 << 24), (4096, 4096), (1 << 16, 128), (1 << 20, 10), (10,), (1000,), (100, 100)]
DEFAULT_FUNCTIONS = ["softmax", "log_softmax", "logsumexp", "sigmoid", "log_sigmoid"]


def parse_shape(text: str) -> tuple:
    from ..errors import UsageError

    try:
        shape = tuple(int(s) for s in text.lower().replace("*", "x").split("x"))
    except ValueError:
        raise UsageError(f"bad shape {text!r}: write it like 4096x4096 or 1000") from None
    if not shape or any(s < 1 for s in shape):
        raise UsageError(f"bad shape {text!r}: every dimension must be >= 1")
    return shape


def arguments(function: str, x: np.ndarray, rng):
    """``(args, kwargs)`` of a benchmark call of ``function`` built around ``x``: targets for the losses, a
    probability for logit, a cotangent ~ N(0, 1) for a gradient, the last axis for the axis functions."""
    fn = get(function)
    if fn.is_vjp:  # the forward's arguments and a cotangent ~ N(0, 1) shaped like the forward's output
        from ..functions import prepare

        args, kwargs = arguments(fn.primal, x, rng)
        shape = prepare(fn.primal, *args, **kwargs).primal_output_shape()
        return args + (rng.normal(0, 1, shape).astype(x.dtype),), kwargs
    if fn.probability_targets:
        return (x, rng.uniform(0, 1, x.shape).astype(x.dtype)), {}
    if fn.class_targets:
        X = x.reshape(-1, x.shape[-1])
        return (X, rng.integers(0, X.shape[1], X.shape[0])), {}
    if fn.has_axis:
        return (x,), {"axis": -1}
    if function == "logit":  # probabilities
        return (rng.uniform(0, 1, x.shape).astype(x.dtype),), {}
    return (x,), {}


def _takes_out(fn) -> bool:
    try:
        return "out" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _cases_for(impl, args, kwargs):
    """(label, threads, alloc, callable) for one implementation."""
    if impl.library == "jax":  # asynchronous: wait for the result; float64 only in its 64-bit mode, scoped
        dtype = args[0].dtype
        with precision_scope("jax", dtype):
            jargs = [to_library(a, "jax") for a in args]

        def call():
            with precision_scope("jax", dtype):
                impl.fn(*jargs, **kwargs).block_until_ready()
        return [(impl.name, os.cpu_count() or 1, "allocating", call)]
    lib_args = [to_library(a, impl.library) for a in args]
    out = []
    if impl.library == "torch":
        import torch

        for k in sorted({1, os.cpu_count() or 1}):
            def call(k=k):
                torch.set_num_threads(k)
                impl.fn(*lib_args, **kwargs)
            out.append((f"{impl.name}[threads={k}]", k, "allocating", call))
        return out
    if impl.name.endswith(".fast"):  # the fast path's own thread pool, at one thread and at all of them
        from implementations import fast_cpu

        for k in sorted({1, fast_cpu.THREADS}):
            def call(k=k, **more):
                with fast_cpu.threads(k):
                    impl.fn(*lib_args, **kwargs, **more)
            if _takes_out(impl.fn):
                res = np.empty_like(impl.fn(*lib_args, **kwargs))
                out.append((f"{impl.name}[threads={k}]", k, "out=", lambda c=call, r=res: c(out=r)))
            out.append((f"{impl.name}[threads={k}]", k, "allocating", call))
        return out
    if _takes_out(impl.fn):
        res = np.empty_like(impl.fn(*lib_args, **kwargs))
        out.append((impl.name, 1, "out=", lambda: impl.fn(*lib_args, out=res, **kwargs)))
    out.append((impl.name, 1, "allocating", lambda: impl.fn(*lib_args, **kwargs)))
    return out


def _settle() -> None:
    """The fast path's workers done with every job (``fast_cpu.settle``), where it is loaded."""
    import sys

    fast = sys.modules.get("implementations.fast_cpu")
    if fast is not None:
        fast.settle()


def run(impls, shapes, dtypes, *, repeats: int = 5, warmup: int = 1, progress=None, seed: int = 0,
        budget: float | None = None):
    """Time ``impls`` at every shape and dtype; returns a pandas DataFrame (``stability.bench.table.COLUMNS``).
    ``budget``: seconds of timed calls per case, fewer repeats (at least 3) for slow ones (``timing.interleaved``).

    PyTorch's thread count, which the timed cases set, is put back afterwards: it is process-wide, and the order
    of PyTorch's reductions (so its rounding) follows it."""
    import sys

    torch = sys.modules.get("torch")
    threads = torch.get_num_threads() if torch is not None else None
    try:
        return _run(impls, shapes, dtypes, repeats=repeats, warmup=warmup, progress=progress, seed=seed,
                    budget=budget)
    finally:
        if threads is not None:
            torch.set_num_threads(threads)


def _run(impls, shapes, dtypes, *, repeats, warmup, progress, seed, budget):
    import pandas as pd

    rows, skipped = [], []
    rng = np.random.default_rng(seed)
    for shape in shapes:
        for dtype in dtypes:
            x = rng.normal(0, 3, shape).astype(dtype)
            meta, timed = {}, {}
            for impl in impls:
                if dtype not in dtypes_for(impl, [dtype]):
                    continue
                args, kwargs = arguments(impl.function, x, rng)
                with np.errstate(all="ignore"):
                    for label, threads, alloc, call in _cases_for(impl, args, kwargs):
                        key = f"{label}|{alloc}"
                        timed[key] = call
                        meta[key] = (impl, label, threads, alloc)
            cases = {**roofline.cases(x, threads={t for _, _, t, _ in meta.values()}), **timed}
            errors: dict = {}  # code under test that raises on this input is not timed; the table says so
            with np.errstate(all="ignore"):
                times = timing.interleaved(cases, repeats=repeats, warmup=warmup, budget=budget, errors=errors,
                                           between=_settle)
            for key, exc in errors.items():
                label = meta.pop(key, (None, key))[1]
                skipped.append(f"{label} {'x'.join(map(str, shape))} {dtype}: raised {type(exc).__name__}: "
                               f"{exc}"[:300])
            copy = timing.summary(times["roof.copy"])["median_s"]
            exp_at = {k: timing.summary(v)["median_s"] for k, v in times.items() if k.startswith("roof.exp")}
            exp = exp_at[roofline.exp_key(1)]
            copy_gbps = 2 * x.nbytes / copy / 1e9
            exp_rate = x.size / exp
            for key, (impl, label, threads, alloc) in meta.items():
                st = timing.summary(times[key])
                moved = roofline.bytes_moved(impl.function, x)
                rows.append({
                    "function": impl.function, "implementation": label, "library": impl.library, "device": "cpu",
                    "shape": "x".join(map(str, shape)), "dtype": dtype, "elements": int(x.size), "alloc": alloc,
                    "threads": threads, **st,
                    "gbps": moved / st["median_s"] / 1e9, "frac_copy": copy / st["median_s"] * moved / (2 * x.nbytes),
                    "elements_per_s": x.size / st["median_s"],
                    "frac_exp": exp_at[roofline.exp_key(threads)] / st["median_s"],
                    "bound": "exp" if exp > copy else "memory", "copy_gbps": copy_gbps,
                    "exp_elements_per_s": exp_rate, "exp_threads_elements_per_s": x.size / exp_at[roofline.exp_key(threads)],
                })
            if progress is not None:
                progress(1)
    from .table import COLUMNS

    df = pd.DataFrame(rows, columns=COLUMNS)
    df.attrs["skipped"] = skipped  # what could not be timed, and why
    return df
