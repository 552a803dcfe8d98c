"""The machine's own limits, measured on the same array in the same process as the implementations:

* ``copy``: one read and one write of the array (``numpy.copyto`` into a preallocated output): the memory roof;
* ``exp``: NumPy's ``exp`` over the array into a preallocated output: the rate at which this machine's NumPy
  evaluates the one exponential every softmax-family algorithm needs per element.

An implementation is reported as effective GB/s (bytes read + written / time), as a fraction of the copy, and
as elements per second against the exp rate; a shape is *exp-bound* when the exp pass alone takes longer than
the copy, *memory-bound* otherwise.
"""

from __future__ import annotations

import numpy as np


def cases(x: np.ndarray) -> dict:
    out = np.empty_like(x)
    return {"roof.copy": lambda: np.copyto(out, x), "roof.exp": lambda: np.exp(x, out=out)}


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
