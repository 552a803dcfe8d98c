"""Gradients (VJPs) of the two losses with respect to the logits.

* cross-entropy: ``g * (softmax - onehot)`` (what autodiff writes) cancels at the target of a confident
  prediction, where ``s_t - 1`` rounds to 0 (or to -u); ``-g * sum_{j != t} s_j`` there does not.
* BCE with logits: ``g * (sigmoid(x) - y)`` with a stable sigmoid loses ``sigma(x) - 1`` for large x and y = 1;
  ``g ((1 - y) - y z) / (1 + z)`` (x >= 0) and ``g (z (1 - y) - y) / (1 + z)`` (x < 0), ``z = exp(-|x|)``, do
  not.

The careful versions compute in a wider format (``_grad.wide``), so that a subnormal weight times a large
cotangent keeps its bits.
"""

import numpy as np

from stability.registry import register

from ._grad import to_wide, wide
from ._shared import accumulator, nan_rows, shifted_parts

CE, BCE = "cross_entropy_vjp", "binary_cross_entropy_with_logits_vjp"


def _ce_parts(logits, targets, dtype=None):
    X = logits.astype(accumulator(logits.dtype) if dtype is None else dtype)
    with np.errstate(invalid="ignore"):
        _, e, _, t = shifted_parts(X, 1)
    return X, e, 1 + t, targets[:, None]


@register(CE, "cross_entropy_vjp.textbook", "g * (softmax(x) - onehot(target)): s_t - 1 cancels when confident",
          unstable_on=("overflow", "underflow", "dominant", "ascending", "masked", "bits", "g_nearly_constant",
                       "g_mixed_sign", "g_huge", "standard", "wide", "g_ones", "tile_masks",
                       "offset", "posinf", "lengths", "g_onehot", "block_plus_one@float32",
                       "block_plus_one@float64"))
def ce_vjp_textbook(logits, targets, g):
    X, e, S, t = _ce_parts(logits, targets)
    grad = e / S
    np.put_along_axis(grad, t, np.take_along_axis(grad, t, axis=1) - 1, axis=1)
    return nan_rows(g.astype(X.dtype)[:, None] * grad).astype(logits.dtype, copy=False)


@register(CE, "cross_entropy_vjp.complement", "g * s_j off the target, -g * sum_{j != t} s_j at it")
def ce_vjp_complement(logits, targets, g):
    X, e, S, t = _ce_parts(logits, targets, wide(logits.dtype))
    others = e.copy()
    np.put_along_axis(others, t, 0, axis=1)
    grad = e / S
    np.put_along_axis(grad, t, -np.sum(others, axis=1, keepdims=True) / S, axis=1)
    # every logit masked: no distribution, whatever g is (0 included); a NaN logit: NaN, even in a row whose only
    # class is the target (its sum over the other classes is an empty 0)
    grad[np.isneginf(X).all(axis=1) | np.isnan(X).any(axis=1)] = np.nan
    return nan_rows(g.astype(X.dtype)[:, None] * grad).astype(logits.dtype, copy=False)


def _sigmoid(x):
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1, z) / (1 + z)


@register(BCE, "bce_vjp.textbook", "g * (sigmoid(x) - y), sigmoid sign-split, in the working format: a subnormal "
          "sigma(x) times |g| > 1; and sigma(x) - 1 cancels at a label y = 1 (0 at x = 20 where -2.06e-9 g belongs)",
          unstable_on=("standard", "thresholds", "special", "g_huge", "g_mixed_sign", "g_nearly_constant", "g_onehot",
                       "g_ones", "g_special"))
def bce_vjp_textbook(x, y, g):
    return (g * (_sigmoid(x) - y)).astype(x.dtype, copy=False)


@register(BCE, "bce_vjp.split", "g ((1 - y) - y z) / (1 + z) for x >= 0, g (z (1 - y) - y) / (1 + z) below")
def bce_vjp_split(x, y, g):
    x_, y, g = to_wide(x, y, g)
    z = np.exp(-np.abs(x_))
    num = np.where(x_ >= 0, (1 - y) - y * z, z * (1 - y) - y)
    return (g * num / (1 + z)).astype(x.dtype, copy=False)

