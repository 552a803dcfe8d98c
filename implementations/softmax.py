"""softmax variants: naive, max-shifted, division-free, log1p (Blanchard, Higham & Higham), online (one-pass)."""

import numpy as np

from stability.registry import register

from ._shared import accumulator, nan_rows, row_max, row_sum, shifted_rest


@register("softmax", "softmax.naive", "exp(x) / sum exp(x), no shift",
          unstable_on=("overflow", "wide", "offset", "underflow", "bits", "ascending", "ties", "standard",
                       "masked", "lengths", "shifted", "tile_masks@float16",
                       "accumulation@float16", "block_plus_one@float16",
                       "sum_overflow@float16"))
def naive(x, axis=-1):
    e = np.exp(x)
    return (e / row_sum(e, axis)).astype(x.dtype, copy=False)


@register("softmax", "softmax.shifted", "exp(x - max) / sum exp(x - max)")
def shifted(x, axis=-1):
    e = np.exp(x - row_max(x, axis))
    return (e / row_sum(e, axis)).astype(x.dtype, copy=False)


@register("softmax", "softmax.exp_lse", "division-free exp(x - lse), lse = max + log(sum)",
          unstable_on=("offset", "underflow", "overflow", "ascending", "wide", "bits", "dominant", "standard",
                       "lengths", "shifted", "tile_masks@float16", "tile_masks@float64",
                       "block_plus_one@float16", "block_plus_one@float32",
                       "block_plus_one@float64"))
def exp_lse(x, axis=-1):
    m = row_max(x, axis)
    lse = (m + np.log(row_sum(np.exp(x - m), axis))).astype(x.dtype, copy=False)
    return np.exp(x - lse)


@register("softmax", "softmax.log1p", "exp(x - max) / (1 + rest), the max term kept out of the sum (BHH 2021)")
def log1p_form(x, axis=-1):
    d, t = shifted_rest(x, axis)
    return nan_rows(np.exp(d) / (1 + t), axis).astype(x.dtype, copy=False)


CHUNK = 32


@register("softmax", "softmax.online", "one pass over chunks, running max and rescaled sum (Milakov & Gimelshein 2018)")
def online(x, axis=-1):
    """Online softmax: one pass keeps (m, d); when a chunk raises the max, d is rescaled by exp(m_old - m_new)."""
    xm = np.moveaxis(x, axis, -1)
    shape = xm.shape[:-1]
    m = np.full(shape, -np.inf, dtype=x.dtype)
    d = np.zeros(shape, dtype=accumulator(x.dtype))  # the running sum: float32 for 2-byte inputs
    chunk = max(CHUNK, xm.shape[-1] // 64)  # long rows: at most 64 steps of the Python loop
    for start in range(0, xm.shape[-1], chunk):
        c = xm[..., start : start + chunk]
        m_new = np.maximum(m, np.max(c, axis=-1))
        masked = np.isneginf(m_new)  # every entry so far is -inf: nothing to add, and -inf - -inf is NaN
        with np.errstate(invalid="ignore"):
            scale = np.where(m == m_new, 1, np.exp(m - m_new))  # also 1 while both are -inf
            part = np.sum(np.exp(c - np.where(masked, 0, m_new)[..., None]), axis=-1, dtype=d.dtype)
        d = d * scale + np.where(masked, 0, part)
        m = m_new
    out = np.exp(xm - m[..., None]) / d[..., None]
    return np.moveaxis(out.astype(x.dtype, copy=False), -1, axis)
