"""Helpers the gradient implementations share: rows moved to the last axis in a working dtype (float32 for the
2-byte formats, as every GPU library computes them; ``wide`` for the careful ones), and back; the sums of a row
without each of its entries.  The max shift itself is ``_shared.shifted_parts``."""

import numpy as np

from ._shared import accumulator


def wide(dtype):
    """A format with a wider exponent range than ``dtype``: float64 for the 2- and 4-byte floats, long double for
    float64.  A careful gradient multiplies a derivative by the cotangent; where the derivative is subnormal in the
    working format (sigma(x) below x = -87 in float32) and |g| > 1 (loss scaling), the product is a normal
    number with a subnormal's few bits.  In the wider format the derivative is normal and the product is rounded
    once."""
    return np.longdouble if np.dtype(dtype).itemsize >= 8 else np.float64


def to_wide(*arrays):
    w = wide(arrays[0].dtype)
    return [np.asarray(a).astype(w) for a in arrays]


def to_rows(x, axis, *more, dtype=None):
    """``x`` (and ``more`` arrays shaped like it) with ``axis`` moved last, in the working dtype."""
    w = accumulator(x.dtype) if dtype is None else dtype
    out = [np.moveaxis(np.asarray(a), axis, -1).astype(w) for a in (x,) + more]
    return out if more else out[0]


def from_rows(y, axis, dtype):
    return np.moveaxis(y, -1, axis).astype(dtype, copy=False)


def exclusive_sums(g):
    """``sum_{j != i} g_j`` for every i, from prefix and suffix sums (no ``total - g_i`` cancellation)."""
    zero = np.zeros_like(g[..., :1])
    left = np.concatenate([zero, np.cumsum(g, axis=-1)[..., :-1]], axis=-1)
    right = np.concatenate([np.cumsum(g[..., ::-1], axis=-1)[..., ::-1][..., 1:], zero], axis=-1)
    return left + right
