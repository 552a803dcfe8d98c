"""logsumexp variants: naive, max-shifted, log1p form (Blanchard, Higham & Higham 2021, Algorithm 3.2)."""

import numpy as np

from stability.registry import register

from ._shared import row_max, shifted_rest


@register("logsumexp", "logsumexp.naive", "log(sum exp(x)), no shift",
          unstable_on=("overflow", "wide", "offset", "underflow", "bits", "standard", "ties", "masked", "ascending",
                       "dominant", "lse_zero", "tiny"))
def naive(x, axis=-1):
    return np.log(np.sum(np.exp(x), axis=axis))


@register("logsumexp", "logsumexp.shifted", "max + log(sum exp(x - max)): log(1 + t) loses a tiny t",
          unstable_on=("dominant", "bits", "wide", "tiny", "underflow", "overflow", "ascending", "standard"))
def shifted(x, axis=-1):
    m = row_max(x, axis)
    return np.squeeze(m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)), axis=axis)


@register("logsumexp", "logsumexp.log1p", "max + log1p(rest), the max term kept out of the sum (BHH 2021)")
def log1p_form(x, axis=-1):
    d, t = shifted_rest(x, axis)
    return np.squeeze(row_max(x, axis) + np.log1p(t), axis=axis)
