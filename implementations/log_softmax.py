"""log_softmax variants: log of softmax, max-shifted, log1p form."""

import numpy as np

from stability.registry import register

from ._shared import nan_rows, row_max, row_sum, shifted_rest
from .softmax import shifted as softmax_shifted


@register("log_softmax", "log_softmax.log_of_softmax", "log(softmax(x)): -inf where the softmax underflows",
          unstable_on=("overflow", "wide", "dominant", "underflow", "bits", "offset", "ascending", "standard",
                       "ties", "masked", "posinf", "nan", "lengths", "tile_masks", "shifted",
                       "accumulation", "block_plus_one@float16", "block_plus_one@float32",
                       "block_plus_one@float64", "sum_overflow@float16"))
def log_of_softmax(x, axis=-1):
    return np.log(softmax_shifted(x, axis))


@register("log_softmax", "log_softmax.shifted", "(x - max) - log(sum exp(x - max))",
          unstable_on=("dominant", "standard", "overflow", "ascending", "masked", "posinf", "nan", "bits", "wide",
                       "underflow", "offset", "ties", "lengths", "tile_masks", "accumulation",
                       "shifted", "block_plus_one@float32", "block_plus_one@float64"))
def shifted(x, axis=-1):
    d = x - row_max(x, axis)
    return (d - np.log(row_sum(np.exp(d), axis))).astype(x.dtype, copy=False)


@register("log_softmax", "log_softmax.log1p", "(x - max) - log1p(rest), the max term kept out of the sum (BHH 2021)")
def log1p_form(x, axis=-1):
    d, t = shifted_rest(x, axis)
    return nan_rows(d - np.log1p(t), axis).astype(x.dtype, copy=False)
