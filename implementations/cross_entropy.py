"""Cross-entropy from logits, per sample: -log softmax[target], lse - x[target], and the log1p form."""

import numpy as np

from stability.registry import register

from ._shared import row_max, shifted_rest
from .softmax import shifted as softmax_shifted


def _at(a, targets):
    return np.take_along_axis(a, targets[:, None], axis=1)[:, 0]


@register("cross_entropy", "cross_entropy.log_softmax", "-log(softmax(x)[target]): +inf where it underflows",
          unstable_on=("overflow", "wide", "dominant", "underflow", "bits", "offset", "ascending", "standard",
                       "ties", "masked", "lengths", "tile_masks", "shifted", "accumulation",
                       "block_plus_one@float16", "sum_overflow@float16"))
def neg_log_softmax(logits, targets):
    return -np.log(_at(softmax_shifted(logits, 1), targets))


@register("cross_entropy", "cross_entropy.lse_minus_target", "lse(x) - x[target], lse in the log1p form: "
          "cancels when the target dominates",
          unstable_on=("dominant", "overflow", "ascending", "masked", "offset", "standard", "underflow", "wide",
                       "ties", "bits", "lengths", "shifted", "tile_masks",
                       "block_plus_one@float32", "block_plus_one@float64"))
def lse_minus_target(logits, targets):
    d, t = shifted_rest(logits, 1)
    lse = row_max(logits, 1) + np.log1p(t)
    return (lse[:, 0] - _at(logits, targets)).astype(logits.dtype, copy=False)


@register("cross_entropy", "cross_entropy.log1p", "log1p(rest) - (x[target] - max): no cancellation")
def log1p_form(logits, targets):
    d, t = shifted_rest(logits, 1)
    return (np.log1p(t[:, 0]) - _at(d, targets)).astype(logits.dtype, copy=False)
