"""sigmoid variants: naive, sign-split stable, tanh form."""

import numpy as np

from stability.registry import register


@register("sigmoid", "sigmoid.naive", "1 / (1 + exp(-x)): exp overflows for very negative x",
          unstable_on=("thresholds", "wide", "bits", "standard", "special"))  # special: x = -12 in float16
def naive(x):
    return 1 / (1 + np.exp(-x))


@register("sigmoid", "sigmoid.stable", "sign split: 1/(1+e^-|x|) or e^-|x|/(1+e^-|x|)")
def stable(x):
    z = np.exp(-np.abs(x))
    return (np.where(x >= 0, 1, z) / (1 + z)).astype(x.dtype, copy=False)


@register("sigmoid", "sigmoid.tanh", "0.5 (1 + tanh(x/2)): 1 + tanh cancels for negative x",
          unstable_on=("standard", "thresholds", "wide", "bits", "special"))
def tanh_form(x):
    return (0.5 * (1 + np.tanh(x / 2))).astype(x.dtype, copy=False)
