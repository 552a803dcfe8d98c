"""log_sigmoid variants: log of sigmoid, and the stable -softplus(-x)."""

import numpy as np

from stability.registry import register


@register("log_sigmoid", "log_sigmoid.log_of_sigmoid", "log(1 / (1 + exp(-x))): 0 once sigmoid rounds to 1",
          unstable_on=("standard", "thresholds", "wide", "bits", "special"))
def log_of_sigmoid(x):
    return np.log(1 / (1 + np.exp(-x)))


@register("log_sigmoid", "log_sigmoid.softplus", "-softplus(-x) = min(x, 0) - log1p(exp(-|x|))")
def softplus(x):
    return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))
