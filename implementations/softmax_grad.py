"""Gradients (VJPs) of softmax, log_softmax and logsumexp: the textbook formulas beside careful ones.

``s = softmax(x)``, ``t`` the sum of the exponentials without the max term (Blanchard, Higham & Higham 2021):

* softmax: ``s * (g - <g, s>)`` (what autodiff writes) loses everything at the dominant entry, where
  ``g_k - <g, s>`` cancels; centring on the max's cotangent, ``s_i (h_i - <h, s>)`` with ``h = g - g_k``, does not.
* log_softmax: ``g - exp(log_softmax) * sum(g)`` rounds ``1 - s_k`` to 0; in a wider format too, once t is below
  its unit roundoff.  ``g_i (1 - s_i) - s_i sum_{j != i} g_j`` with ``1 - s_k = t / (1 + t)`` does not.
The careful versions compute in a format with a wider exponent range (``_grad.wide``): a weight that is
subnormal in the working format times a cotangent above 1 would keep only a subnormal's bits.

* logsumexp: ``g * exp(x - lse)`` (PyTorch's formula) is the division-free softmax, which loses accuracy at large
  logits; ``g * softmax(x)`` does not.
"""

import numpy as np

from stability.registry import register

from ._grad import exclusive_sums, from_rows, to_rows, wide
from ._shared import nan_rows, row_max, shifted_parts


def _softmax_rows(x):
    """softmax along the last axis, ``e / (1 + t)``, and the argmax (kept as a dimension)."""
    with np.errstate(invalid="ignore"):
        _, e, k, t = shifted_parts(x, -1)
    return e / (1 + t), k


@register("softmax_vjp", "softmax_vjp.textbook", "s * (g - sum(g * s)): g_k - <g, s> cancels at a dominant entry",
          unstable_on=("standard", "offset", "overflow", "underflow", "dominant", "ascending", "masked", "bits",
                       "lengths", "g_ones", "g_onehot", "g_nearly_constant", "g_mixed_sign",
                       "g_huge", "shifted", "tile_masks", "posinf", "accumulation",
                       "wide@float64", "nan@float64", "block_plus_one@float32"))
def softmax_vjp_textbook(x, g, axis=-1):
    X, G = to_rows(x, axis, g)
    s, _ = _softmax_rows(X)
    return from_rows(s * (G - np.sum(G * s, axis=-1, keepdims=True)), axis, x.dtype)


@register("softmax_vjp", "softmax_vjp.centred", "s * (h - <h, s>), h = g - g[argmax]: no cancellation at the max")
def softmax_vjp_centred(x, g, axis=-1):
    X, G = to_rows(x, axis, g, dtype=wide(x.dtype))
    s, k = _softmax_rows(X)
    h = G - np.take_along_axis(G, k, axis=-1) if k is not None else G
    return from_rows(s * (h - np.sum(h * s, axis=-1, keepdims=True)), axis, x.dtype)


@register("log_softmax_vjp", "log_softmax_vjp.textbook", "g - exp(log_softmax) * sum(g): 1 - s_k rounds to 0",
          unstable_on=("overflow", "standard", "ascending", "masked", "g_onehot", "g_mixed_sign", "accumulation",
                       "shifted", "underflow", "dominant", "lengths"))
def log_softmax_vjp_textbook(x, g, axis=-1):
    X, G = to_rows(x, axis, g)
    with np.errstate(invalid="ignore"):
        d, _, _, t = shifted_parts(X, -1)
        ls = d - np.log1p(t)
    return from_rows(nan_rows(G - np.exp(ls) * np.sum(G, axis=-1, keepdims=True)), axis, x.dtype)


_WIDER = {np.dtype(np.float32): np.float64, np.dtype(np.float64): np.longdouble}


@register("log_softmax_vjp", "log_softmax_vjp.textbook_wide", "the textbook formula in a wider format (float64 for "
          "float32, long double for float64): 1 - s_k still rounds once t is below its roundoff",
          unstable_on=("masked@float64",
                       "dominant@float64", "g_onehot@float64"))
def log_softmax_vjp_textbook_wide(x, g, axis=-1):
    X, G = to_rows(x, axis, g)
    wide = _WIDER.get(X.dtype, np.float64)
    return from_rows(log_softmax_vjp_textbook(X.astype(wide), G.astype(wide), axis=-1), axis, x.dtype)


@register("log_softmax_vjp", "log_softmax_vjp.complement",
          "g_i (1 - s_i) - s_i sum_{j != i} g_j, 1 - s_k = t / (1 + t)")
def log_softmax_vjp_complement(x, g, axis=-1):
    X, G = to_rows(x, axis, g, dtype=wide(x.dtype))
    with np.errstate(invalid="ignore"):
        _, e, k, t = shifted_parts(X, -1)
    S = 1 + t
    s = e / S
    one_minus = 1 - s
    if k is not None:
        np.put_along_axis(one_minus, k, t / S, axis=-1)
    return from_rows(nan_rows(G * one_minus - s * exclusive_sums(G)), axis, x.dtype)


@register("logsumexp_vjp", "logsumexp_vjp.exp_lse", "g * exp(x - lse): the division-free softmax",
          unstable_on=("offset", "overflow", "underflow", "ascending", "g_special", "shifted", "lengths", "g_ones",
                       "g_onehot", "g_nearly_constant", "g_huge",
                       "wide", "bits", "g_mixed_sign"))
def logsumexp_vjp_exp_lse(x, g, axis=-1):
    X = to_rows(x, axis)
    with np.errstate(invalid="ignore"):
        _, _, _, t = shifted_parts(X, -1)
        lse = row_max(X, -1) + np.log1p(t)
        return from_rows(nan_rows(np.asarray(g, X.dtype)[..., None] * np.exp(X - lse)), axis, x.dtype)


@register("logsumexp_vjp", "logsumexp_vjp.softmax", "g * softmax(x), max-shifted")
def logsumexp_vjp_softmax(x, g, axis=-1):
    X = to_rows(x, axis, dtype=wide(x.dtype))
    s, _ = _softmax_rows(X)
    return from_rows(nan_rows(np.asarray(g, X.dtype)[..., None] * s), axis, x.dtype)
