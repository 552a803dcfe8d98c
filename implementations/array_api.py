"""The stable algorithms written once against the Python Array API standard, so the same code runs on NumPy,
CuPy, PyTorch, JAX and array-api-strict arrays (``array_api_compat.array_namespace`` picks the namespace).

softmax: max-shifted, one exp per element, divided by the sum.  log_softmax and logsumexp: the log1p form of
Blanchard, Higham & Higham (2021, Alg. 4.1/eq. 4.4): with ``m`` the row maximum at index ``k``,
``lse = m + log1p(sum_{i != k} exp(x_i - m))``, which keeps a tiny sum that ``log(1 + t)`` would round away.
Special values follow ``stability.policy``: an all -inf row is not shifted by -inf (no ``-inf - -inf``), +inf
and NaN propagate.

Registered with ``library="array_api"``: the suite hands them array-api-strict arrays (float32 and float64, the
dtypes that library has), so nothing NumPy-specific can slip in; ``tests/test_array_api.py`` also runs them on
NumPy arrays, and on CuPy when a GPU is present.
"""

from __future__ import annotations

from stability.registry import register


def _namespace(x):
    from array_api_compat import array_namespace

    return array_namespace(x)


def _shifted(xp, x, axis):
    """``x`` moved so ``axis`` is last, the row max ``m`` (keepdims) and the shift: ``m``, or 0 for an all -inf
    row (+inf and NaN rows keep theirs: NaN is the policy's answer there)."""
    x = xp.moveaxis(x, axis, -1)
    m = xp.max(x, axis=-1, keepdims=True)
    shift = xp.where(m == -xp.inf, xp.zeros_like(m), m)
    return x, m, shift


def _row_sum(xp, e):
    """Row sums (keepdims); a 2-byte format is accumulated in float32 (a float16 or bfloat16 running sum stops
    growing at 2^11 or 2^8 times a term), as GPU libraries do."""
    if xp.finfo(e.dtype).bits <= 16:
        return xp.sum(e, axis=-1, keepdims=True, dtype=xp.float32)
    return xp.sum(e, axis=-1, keepdims=True)


def _tail_sum(xp, x, m, shift):
    """``t = sum_{i != k} exp(x_i - m)``: the sum without the (first) maximal entry, whose term is exactly 1."""
    e = xp.exp(x - shift)
    k = xp.argmax(x, axis=-1, keepdims=True)
    idx = xp.reshape(xp.arange(x.shape[-1]), (1,) * (x.ndim - 1) + (x.shape[-1],))
    return _row_sum(xp, xp.where(idx == k, xp.zeros_like(e), e))


def _log1p_parts(x, axis):
    """The namespace, ``x`` with ``axis`` last, its row max ``m`` and the tail sum ``t`` of the log1p form."""
    xp = _namespace(x)
    x, m, shift = _shifted(xp, x, axis)
    return xp, x, m, _tail_sum(xp, x, m, shift)


@register("softmax", "array_api.softmax", "Array API: max-shifted softmax (any array library)",
          library="array_api", dtypes=("float32", "float64"))
def softmax(x, axis=-1):
    xp = _namespace(x)
    x, _, shift = _shifted(xp, x, axis)
    e = xp.exp(x - shift)
    return xp.moveaxis(xp.astype(e / _row_sum(xp, e), x.dtype), -1, axis)


@register("logsumexp", "array_api.logsumexp", "Array API: log1p-form logsumexp (any array library)",
          library="array_api", dtypes=("float32", "float64"))
def logsumexp(x, axis=-1):
    xp, x, m, t = _log1p_parts(x, axis)
    lse = m + xp.log1p(t)
    lse = xp.where(m == xp.inf, m, xp.astype(lse, m.dtype))  # two +inf entries: inf, not inf - inf
    return xp.squeeze(lse, axis=-1)


@register("log_softmax", "array_api.log_softmax", "Array API: log1p-form log_softmax (any array library)",
          library="array_api", dtypes=("float32", "float64"))
def log_softmax(x, axis=-1):
    xp, x, m, t = _log1p_parts(x, axis)
    y = xp.astype((x - m) - xp.log1p(t), x.dtype)
    y = xp.where(xp.any(xp.isnan(y), axis=-1, keepdims=True), xp.asarray(xp.nan, dtype=y.dtype), y)  # a whole row
    return xp.moveaxis(y, -1, axis)
