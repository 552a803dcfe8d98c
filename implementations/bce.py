"""Binary cross-entropy with logits: from the sigmoid, and the stable max(x,0) - x*y + log1p(exp(-|x|))."""

import numpy as np

from stability.registry import register

NAME = "binary_cross_entropy_with_logits"


@register(NAME, "bce.naive", "-(y log s + (1-y) log(1-s)), s = sigmoid(x): 1 - s cancels",
          unstable_on=("standard", "thresholds", "wide", "bits", "special"))
def naive(x, y):
    s = 1 / (1 + np.exp(-x))
    return -(y * np.log(s) + (1 - y) * np.log(1 - s))


@register(NAME, "bce.stable", "max(x, 0) - x*y + log1p(exp(-|x|))")
def stable(x, y):
    return np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
