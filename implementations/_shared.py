"""Pieces the axis implementations share: the row max with an identity for empty rows, and the
Blanchard-Higham-Higham split of the sum of exponentials into the max term (exactly 1) and the rest."""

import numpy as np


def row_max(x, axis):
    """max over ``axis`` kept as a dimension; -inf for an empty axis (NumPy's max has no identity)."""
    return np.max(x, axis=axis, keepdims=True, initial=-np.inf)


def shifted_rest(x, axis):
    """``(d, t)``: ``d = x - max`` and ``t = sum_{j != k} exp(d_j)``, the sum without the (first) max term.

    With the max term kept out, ``sum exp(d) = 1 + t`` exactly, and ``log1p(t)`` keeps every bit of a tiny t.
    """
    d = x - row_max(x, axis)
    e = np.exp(d)
    if x.shape[axis]:
        k = np.expand_dims(np.argmax(x, axis=axis), axis)
        np.put_along_axis(e, k, 0, axis=axis)
    return d, np.sum(e, axis=axis, keepdims=True)
