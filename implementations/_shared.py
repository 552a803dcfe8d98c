"""Pieces the axis implementations share: the row max with an identity for empty rows, the row sum with a
float32 accumulator for the 2-byte formats, and the Blanchard-Higham-Higham split of the sum of exponentials
into the max term (exactly 1) and the rest."""

import numpy as np


def row_max(x, axis):
    """max over ``axis`` kept as a dimension; -inf for an empty axis (NumPy's max has no identity)."""
    return np.max(x, axis=axis, keepdims=True, initial=-np.inf)


def row_sum(e, axis, keepdims=True):
    """Sum over ``axis``, accumulated and returned in float32 when ``e`` is a 2-byte float (else in its dtype).

    A running sum held in bfloat16 (8 significant bits; NumPy sums ml_dtypes' bfloat16 one term after another)
    stagnates: once it reaches 2^8 times a term, the term rounds away. 268 entries of N(0, 1) lose 6.5% of
    their sum of exponentials, 15 ULP in every softmax output (the `lengths` input family found it). Every GPU
    library accumulates half formats in float32; so do these implementations.  The sum stays in float32 too:
    stored in float16, 65,520 exponentials near 1 make inf and every softmax output 0 (the `sum_overflow`
    family found it); callers round their results to the data's format once, at the end.
    """
    return np.sum(e, axis=axis, keepdims=keepdims, dtype=accumulator(e.dtype))


def accumulator(dtype):
    """float32 for the 2-byte floats (float16, bfloat16), else the dtype itself."""
    dtype = np.dtype(dtype)
    return np.dtype(np.float32) if dtype.itemsize < 4 else dtype


def shifted_parts(x, axis):
    """``(d, e, k, t)``: ``d = x - max``, ``e = exp(d)``, the (first) argmax ``k`` kept as a dimension (None for an
    empty axis) and ``t = sum_{j != k} e_j``, the sum without the max term.

    With the max term kept out, ``sum exp(d) = 1 + t`` exactly, and ``log1p(t)`` keeps every bit of a tiny t.
    """
    d = x - row_max(x, axis)
    e = np.exp(d)
    k = np.expand_dims(np.argmax(x, axis=axis), axis) if x.shape[axis] else None
    rest = e.copy()
    if k is not None:
        np.put_along_axis(rest, k, 0, axis=axis)
    return d, e, k, row_sum(rest, axis)


def shifted_rest(x, axis):
    """``(d, t)`` of :func:`shifted_parts`."""
    d, _, _, t = shifted_parts(x, axis)
    return d, t


def nan_rows(y, axis=-1):
    """``y`` with every row that holds a NaN made all NaN.  The policy answers a row with a NaN or a +inf in it
    (and an all -inf row) as a whole, NaN by default, never some positions of each (``stability.policy``):
    ``(x - max) - log1p(t)`` of ``[1, inf, 2]`` is ``[-inf, nan, -inf]``, which is neither the NaN row nor the
    limit ``[-inf, 0, -inf]``."""
    with np.errstate(invalid="ignore"):
        return np.where(np.isnan(y).any(axis=axis, keepdims=True), np.nan, y).astype(y.dtype, copy=False)
