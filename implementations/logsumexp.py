"""logsumexp variants: naive, max-shifted, log1p form (Blanchard, Higham & Higham 2021, Algorithm 3.2)."""

import numpy as np

from stability.registry import register

from ._shared import row_max, row_sum, shifted_rest


@register("logsumexp", "logsumexp.naive", "log(sum exp(x)), no shift",
          unstable_on=("overflow", "wide", "offset", "underflow", "bits", "standard", "ties", "masked",
                       "ascending", "dominant", "lse_zero", "tiny", "posinf", "nan",
                       "lengths", "shifted", "tile_masks@float16", "accumulation",
                       "block_plus_one@float16", "sum_overflow@float16"))
def naive(x, axis=-1):
    return np.log(row_sum(np.exp(x), axis, keepdims=False)).astype(x.dtype, copy=False)


@register("logsumexp", "logsumexp.shifted", "max + log(sum exp(x - max)): log(1 + t) loses a tiny t",
          unstable_on=("dominant", "standard", "overflow", "ascending", "masked", "posinf", "bits", "wide", "tiny",
                       "underflow", "ties", "lse_zero", "accumulation"))  # lse_zero: seen in bfloat16 (seed 1)
def shifted(x, axis=-1):
    m = row_max(x, axis)
    lse = m + np.log(row_sum(np.exp(x - m), axis))
    return np.squeeze(np.where(np.isinf(m), m, lse), axis=axis).astype(x.dtype, copy=False)  # inf - inf: NaN


@register("logsumexp", "logsumexp.log1p", "max + log1p(rest), the max term kept out of the sum (BHH 2021)")
def log1p_form(x, axis=-1):
    d, t = shifted_rest(x, axis)
    m = row_max(x, axis)
    lse = np.where(np.isinf(m), m, m + np.log1p(t))  # inf - inf would make NaN
    return np.squeeze(lse, axis=axis).astype(x.dtype, copy=False)
