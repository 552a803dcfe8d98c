"""max, argmax and the gradient of max: NumPy's reductions, and the two answers at ties (one-hot at the first
maximum, or the cotangent split evenly over the tied maxima, as ``torch.amax`` does)."""

import numpy as np

from stability.registry import register


@register("max", "max.numpy", "numpy.max (NaN propagates; -inf for an empty axis)")
def max_numpy(x, axis=-1):
    return np.max(x, axis=axis, initial=-np.inf) if x.shape[axis] == 0 else np.max(x, axis=axis)


@register("argmax", "argmax.numpy", "numpy.argmax (the first maximum, the first NaN)")
def argmax_numpy(x, axis=-1):
    return np.argmax(x, axis=axis)


@register("max_vjp", "max_vjp.onehot", "g at numpy.argmax, 0 elsewhere")
def max_vjp_onehot(x, g, axis=-1):
    out = np.zeros_like(x)
    if x.shape[axis]:
        k = np.expand_dims(np.argmax(x, axis=axis), axis)
        np.put_along_axis(out, k, np.expand_dims(g, axis), axis=axis)
    return out


@register("max_vjp", "max_vjp.split", "g / c at each of the c entries equal to the max (torch.amax's rule)")
def max_vjp_split(x, g, axis=-1):
    if x.shape[axis] == 0:
        return np.zeros_like(x)
    with np.errstate(invalid="ignore"):
        top = x == np.max(x, axis=axis, keepdims=True)
    c = np.sum(top, axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        # g / c in float64, rounded once: c held in float16 is inf from 65,520 tied entries on
        share = np.expand_dims(g, axis).astype(np.float64) / c
    nan = np.isnan(x).any(axis=axis, keepdims=True)  # no entry equals a NaN max: g at the first NaN instead
    onehot = max_vjp_onehot(x, g, axis=axis)
    return np.where(nan, onehot, np.where(top, share, 0)).astype(x.dtype, copy=False)


@register("max", "max.nanmax", "numpy.nanmax: the NaN in a row is dropped", unstable_on=("nan",))
def max_nanmax(x, axis=-1):
    with np.errstate(invalid="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN row
            return np.nanmax(x, axis=axis) if x.shape[axis] else max_numpy(x, axis=axis)


def _last_argmax(x, axis):
    return x.shape[axis] - 1 - np.argmax(np.flip(x, axis=axis), axis=axis)


@register("argmax", "argmax.last", "the last maximum (and the last NaN)",
          unstable_on=("offset", "standard", "wide", "overflow", "underflow", "ties", "lse_zero", "ascending",
                       "posinf", "nan", "shifted", "accumulation", "masked", "bits",
                       "lengths", "tile_masks@bfloat16", "tiny", "sum_overflow@float16"))
def argmax_last(x, axis=-1):
    return _last_argmax(x, axis)


@register("max_vjp", "max_vjp.last", "g at the last maximum: neither answer the policy accepts at ties",
          unstable_on=("offset", "standard", "wide", "ties", "lse_zero", "ascending", "masked", "posinf", "nan",
                       "tiny", "lengths", "g_ones", "g_onehot", "g_nearly_constant",
                       "g_mixed_sign", "g_huge", "g_tiny", "g_special", "overflow",
                       "shifted", "accumulation", "tile_masks@bfloat16", "underflow", "bits",
                       "sum_overflow@float16"))
def max_vjp_last(x, g, axis=-1):
    out = np.zeros_like(x)
    if x.shape[axis]:
        k = np.expand_dims(_last_argmax(x, axis), axis)
        np.put_along_axis(out, k, np.expand_dims(g, axis), axis=axis)
    return out
