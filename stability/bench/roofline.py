"""The machine's own limits, measured on the same array in the same process as the implementations:

* ``copy``: one read and one write of the array (``numpy.copyto`` into a preallocated output): the memory roof;
* ``exp``: NumPy's ``exp`` over the array into a preallocated output: the rate at which this machine's NumPy
  evaluates the one exponential every softmax-family algorithm needs per element;
* ``exp[threads=k]``: the same exp pass cut into k contiguous parts on k threads (NumPy releases the GIL in a
  ufunc): the roof for an implementation timed on k threads, which the sweep sets each such row against.

An implementation is reported as effective GB/s (bytes read + written / time), as a fraction of the copy, and
as elements per second against the exp rate; a shape is *exp-bound* when the exp pass alone takes longer than
the copy, *memory-bound* otherwise.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np


_POOLS: dict = {}  # one pool per thread count, kept for the process


def exp_key(threads: int) -> str:
    """The case name of the exp roof on ``threads`` threads."""
    return "roof.exp" if threads <= 1 else f"roof.exp[threads={threads}]"


def cases(x: np.ndarray, threads=()) -> dict:
    """The roof cases for ``x``: copy, exp, and exp on each thread count in ``threads`` above one."""
    out = np.empty_like(x)
    found = {"roof.copy": lambda: np.copyto(out, x), exp_key(1): lambda: np.exp(x, out=out)}
    flat_x, flat_out = x.reshape(-1), out.reshape(-1)
    for k in sorted({int(t) for t in threads if int(t) > 1}):
        cuts = np.linspace(0, flat_x.size, k + 1).astype(int)
        parts = [(flat_x[a:b], flat_out[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]
        pool = _POOLS.get(k) or _POOLS.setdefault(k, ThreadPoolExecutor(max_workers=k,
                                                                      thread_name_prefix="stability-roof"))
        found[exp_key(k)] = lambda parts=parts, pool=pool: list(pool.map(lambda p: np.exp(p[0], out=p[1]), parts))
    return found


def bytes_moved(function: str, x: np.ndarray) -> int:
    """Bytes an ideal implementation reads and writes: the input once, the output once; a gradient reads x and the
    cotangent and writes the gradient (forward and backward in one pass)."""
    from ..functions import get

    fn = get(function)
    row = x.nbytes // max(x.shape[-1], 1)  # one value per row
    if fn.is_vjp:
        return 2 * x.nbytes + (row if fn.kind in ("reduce", "ce") else x.nbytes)
    if fn.reduces:
        return x.nbytes + (row * 8 // x.itemsize if fn.integer else row)
    return 2 * x.nbytes
