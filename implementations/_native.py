"""The fast path's compiled kernels (``_fastkernels.c``), loaded with ctypes: :data:`LIB`, or None and the reason
in :data:`WHY`.

The extension is built at install (setup.py) where a C compiler works; ctypes releases the GIL during each call,
so :mod:`implementations.fast_cpu`'s threads share one kernel call (:func:`shared`), the rows handed out in the
compiled code.  ``SOFTMAX_STABILITY_NATIVE=0`` keeps the
fast path on its NumPy version (the tests run both; the bench times the one in use).
"""

from __future__ import annotations

import contextlib
import ctypes
import os

import numpy as np

ENV = "SOFTMAX_STABILITY_NATIVE"
#: the longest row the kernels take; longer ones go to the NumPy version, which splits a row across threads
MAX_ROW = 1 << 16
#: the functions the kernels compute over float32 rows, then their VJPs: in the order of sstab_shared's `which`
FUNCTIONS = ("softmax", "log_softmax", "logsumexp")
VJPS = ("softmax_vjp", "log_softmax_vjp", "logsumexp_vjp")


def _load():
    if os.environ.get(ENV, "1") == "0":
        return None, f"{ENV}=0: the NumPy version runs"
    try:
        from . import _fastkernels
    except ImportError as exc:
        return None, (f"not built ({exc}); the NumPy version runs. Build it with a C compiler (GCC) on the PATH: "
                      "python3 -m pip install -e .")
    lib = ctypes.CDLL(_fastkernels.__file__)
    lib.sstab_level.restype = ctypes.c_int
    level = lib.sstab_level()
    if level == 0:
        return None, ("built, but this CPU has neither AVX-512 nor AVX2 with FMA (or the compiler was not GCC on "
                      "x86-64); the NumPy version runs")
    lib.sstab_force_level.argtypes, lib.sstab_force_level.restype = [ctypes.c_int], ctypes.c_int
    p, n = ctypes.c_void_p, ctypes.c_int64
    lib.sstab_shared.argtypes, lib.sstab_shared.restype = [ctypes.c_int, p, p, p, n, n, p, n, p], ctypes.c_int
    lib.sstab_close.argtypes, lib.sstab_close.restype = [p], ctypes.c_int
    return lib, f"compiled kernels for x86-64-v{level} ({'AVX-512' if level == 4 else 'AVX2 and FMA'})"


LIB, WHY = _load()


def level() -> int:
    """The instruction set the kernels run: 4 (x86-64-v4, AVX-512), 3 (x86-64-v3, AVX2 and FMA), 0 (none)."""
    return LIB.sstab_level() if LIB is not None else 0


@contextlib.contextmanager
def forced_level(want: int):
    """Run the kernels' copy for instruction set ``want`` (3 or 4) inside the block: the tests reach the AVX2 copy
    on an AVX-512 machine this way.  ValueError where this CPU cannot run it."""
    before = LIB.sstab_force_level(want) if LIB is not None else -1
    if before < 0:
        raise ValueError(f"this machine cannot run the x86-64-v{want} kernels ({WHY})")
    try:
        yield
    finally:
        LIB.sstab_force_level(before)


def rows(name: str, x, out, g=None, flags=None) -> None:
    """Kernel ``name`` (arguments as :func:`shared`) over every row of ``x``, on the calling thread alone."""
    call = shared(name, x, out, g, flags)
    call()
    close(call)


def shared(name: str, x, out, g=None, flags=None, chunk: int = 0):
    """A call of kernel ``name`` over the C-contiguous float32 rows ``x`` (2-D) into ``out`` (x's shape, or one
    value per row for logsumexp) that several threads may share: each runs the returned callable, taking ``chunk``
    rows at a time until none is left; a thread that starts after :func:`close` returns at once.  The callable
    holds the arrays, so a late thread never finds them freed.  A VJP takes cotangents ``g`` (x's shape, or one
    per row for logsumexp) and ``flags`` (uint8, one per row), set where a row was left to the caller (a NaN, an
    infinite max or cotangent: the row version gives those the policy's answers)."""
    which = (FUNCTIONS + VJPS).index(name)
    state = np.zeros(4, dtype=np.int64)
    ptr = lambda a: None if a is None else a.ctypes.data  # noqa: E731
    args = (which, x.ctypes.data, ptr(g), out.ctypes.data, x.shape[0], x.shape[1], ptr(flags), chunk or x.shape[0],
            state.ctypes.data)

    def call(keep=(x, out, g, flags, state)):
        LIB.sstab_shared(*args)

    call.state = state
    return call


def close(call) -> None:
    """Close a :func:`shared` call once the caller has run it: wait for the threads inside, and raise if a kernel
    refused its rows."""
    rc = LIB.sstab_close(call.state.ctypes.data)
    if rc:
        raise RuntimeError(f"a compiled kernel refused the call (rc {rc}): {WHY}")
