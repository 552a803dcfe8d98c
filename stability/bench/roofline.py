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
    """Bytes an ideal implementation reads and writes: the input once, the output once."""
    if function == "logsumexp":
        return x.nbytes + x.nbytes // max(x.shape[-1], 1)
    return 2 * x.nbytes
