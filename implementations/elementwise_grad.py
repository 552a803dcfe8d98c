"""Gradients (VJPs) of the elementwise functions, and softplus, logit and logit(sigmoid(x)) themselves.

``z = exp(-|x|)``.  The textbook forms go through ``1 - sigma``, which rounds to 0 once sigma(x) rounds to 1
(x above ~17 in float32, ~37 in float64), or through ``exp(x)``, which overflows:

* sigmoid': ``sigma (1 - sigma)`` against ``sigma(x) sigma(-x) = z / (1 + z)^2``;
* log_sigmoid': ``1 - sigma(x)`` against ``sigma(-x)``; softplus': ``exp(x) / (1 + exp(x))`` against sigma(x);
* logit: ``log(p / (1 - p))``, ``log(p) - log1p(-p)`` and ``-log(1/p - 1)`` (cancels as p nears 1); logit':
  ``1 / (p - p^2)`` (benign, but no domain check) against ``1 / (p (1 - p))`` (NaN outside [0, 1]);
* the careful gradients compute in a wider format (``_grad.wide``): a subnormal derivative times |g| > 1
  (loss scaling) would keep only a subnormal's bits;
* ``logit(sigmoid(x))`` is x, but composed in floating point it is not: sigmoid rounds to 1 above ~17 (float32)
  and ``sigma - 1/2`` keeps no bits of a small x.
"""

import numpy as np

from stability.registry import register

from ._grad import to_wide


def _sig(x, sign=1):
    """sigma(sign * x), sign-split: no overflow, no cancellation."""
    z = np.exp(-np.abs(x))
    return np.where(sign * x >= 0, 1, z) / (1 + z)


# measured (tests/test_implementations.py's call, four dtypes): where 1 - sigma rounds to 0
_ONE_MINUS = ("standard", "thresholds", "wide", "special", "g_ones", "g_onehot", "g_nearly_constant",
              "g_mixed_sign", "g_huge", "g_special", "bits@bfloat16")


def _cast(v, x):
    return np.asarray(v).astype(x.dtype, copy=False)


@register("sigmoid_vjp", "sigmoid_vjp.one_minus", "g * s * (1 - s): 1 - s rounds to 0 for large x",
          unstable_on=_ONE_MINUS)
def sigmoid_vjp_one_minus(x, g):
    s = _sig(x)
    return _cast(g * s * (1 - s), x)


@register("sigmoid_vjp", "sigmoid_vjp.stable", "g * z / (1 + z)^2 = g sigma(x) sigma(-x)")
def sigmoid_vjp_stable(x, g):
    x_, g = to_wide(x, g)
    z = np.exp(-np.abs(x_))
    return _cast(g * (z / ((1 + z) * (1 + z))), x)


@register("log_sigmoid_vjp", "log_sigmoid_vjp.one_minus", "g * (1 - sigma(x)): 0 once sigma rounds to 1",
          unstable_on=_ONE_MINUS)
def log_sigmoid_vjp_one_minus(x, g):
    return _cast(g * (1 - _sig(x)), x)


@register("log_sigmoid_vjp", "log_sigmoid_vjp.stable", "g * sigma(-x)")
def log_sigmoid_vjp_stable(x, g):
    x_, g_ = to_wide(x, g)
    return _cast(g_ * _sig(x_, -1), x)


@register("softplus", "softplus.naive", "log(1 + exp(x)): overflows, and log(1 + tiny) is 0",
          unstable_on=("standard", "wide", "thresholds", "special", "bits"))
def softplus_naive(x):
    return _cast(np.log(1 + np.exp(x)), x)


@register("softplus", "softplus.stable", "max(x, 0) + log1p(exp(-|x|))")
def softplus_stable(x):
    return _cast(np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x))), x)


@register("softplus_vjp", "softplus_vjp.exp_ratio", "g * exp(x) / (1 + exp(x)): inf / inf above log(max)",
          unstable_on=("wide", "standard", "thresholds", "special", "bits", "g_ones", "g_onehot", "g_nearly_constant",
                       "g_mixed_sign", "g_huge", "g_tiny", "g_special"))
def softplus_vjp_exp_ratio(x, g):
    e = np.exp(x)
    return _cast(g * (e / (1 + e)), x)


@register("softplus_vjp", "softplus_vjp.stable", "g * sigma(x), sign-split")
def softplus_vjp_stable(x, g):
    x_, g_ = to_wide(x, g)
    return _cast(g_ * _sig(x_), x)


@register("logit", "logit.ratio", "log(p / (1 - p))")
def logit_ratio(p):
    with np.errstate(divide="ignore", invalid="ignore"):
        return _cast(np.log(p / (1 - p)), p)


@register("logit", "logit.log1p", "log(p) - log1p(-p)")
def logit_log1p(p):
    with np.errstate(divide="ignore", invalid="ignore"):
        return _cast(np.log(p) - np.log1p(-p), p)


@register("logit", "logit.reciprocal", "-log(1/p - 1): 1/p - 1 cancels as p nears 1",
          unstable_on=("standard", "centre", "tails", "tiny", "bits", "special"))
def logit_reciprocal(p):
    with np.errstate(divide="ignore", invalid="ignore"):
        return _cast(-np.log(1 / p - 1), p)


@register("logit_vjp", "logit_vjp.product", "g / (|p| (1 - p)), NaN outside [0, 1] (|p|: at p = -0 the slope is "
          "+inf, not -inf)")
def logit_vjp_product(p, g):
    with np.errstate(divide="ignore", invalid="ignore"):
        return _cast(np.where((p >= 0) & (p <= 1), g / (np.abs(p) * (1 - p)), np.nan), p)


@register("logit_vjp", "logit_vjp.difference", "g / (p - p^2), no domain check: finite where p is outside [0, 1] "
          "(p - p^2 itself is benign: p^2 rounds relative to p^2, and the difference is exact near p = 1)",
          unstable_on=("special",))
def logit_vjp_difference(p, g):
    with np.errstate(divide="ignore", invalid="ignore"):
        return _cast(g / (p - p * p), p)


@register("logit_of_sigmoid", "logit_of_sigmoid.simplified", "x: the composition simplified by hand")
def logit_of_sigmoid_simplified(x):
    return x.copy()


@register("logit_of_sigmoid", "logit_of_sigmoid.composed", "logit(sigmoid(x)) composed in the working precision",
          unstable_on=("standard", "wide", "thresholds", "tiny", "special", "bits"))
def logit_of_sigmoid_composed(x):
    s = _sig(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _cast(np.log(s / (1 - s)), x)
