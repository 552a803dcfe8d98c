"""The ground truth: the same formulas in mpmath, settled Ziv-style.

The elements the certified fast path could not settle come here.  Each is evaluated at two working precisions
and accepted only when both round to the same number of the output format; otherwise both precisions rise and
the evaluation repeats (Ziv 1991, "Fast evaluation of elementary mathematical functions with correctly rounded
last bit").  Precision is scoped with ``mpmath.workprec`` and never leaks to the caller.

The formulas come from ``_formulas.py``, run on NumPy object arrays of ``mpf``: :class:`MPBackend` is the third
backend beside the ball backends, so the fast path and the truth cannot drift apart in what they compute.
"""

from __future__ import annotations

import mpmath
import numpy as np

from ..formats import FORMATS, Format, round_mpf

_exp = np.frompyfunc(mpmath.exp, 1, 1)
_log1p = np.frompyfunc(mpmath.log1p, 1, 1)
_to_mpf = np.frompyfunc(mpmath.mpf, 1, 1)
_round = np.frompyfunc(round_mpf, 2, 1)

#: working precisions tried, in bits: pairs (p, p + 32) with p doubling from 2*p_out + 16
MAX_PREC = 1 << 16


class MPBackend:
    """Plain mpmath numbers in object arrays: no radius, the precision is the caller's ``workprec``."""

    name = "mpmath"

    def exact(self, x):
        return _to_mpf(np.asarray(x, dtype=np.float64)).astype(object)

    def zero(self, like):
        return np.full(np.shape(like), mpmath.mpf(0), dtype=object)

    def one(self, like):
        return np.full(np.shape(like), mpmath.mpf(1), dtype=object)

    def add(self, a, b):
        return a + b

    def sub(self, a, b):
        return a - b

    def mul(self, a, b):
        return a * b

    def div(self, a, b):
        return a / b

    def exp(self, a):
        return _exp(a)

    def log1p(self, a):
        return _log1p(a)

    def sum(self, a):
        out = np.empty(a.shape[:-1], dtype=object)
        for idx in np.ndindex(out.shape):
            out[idx] = mpmath.fsum(a[idx])
        return out

    def where(self, mask, a, b):
        return np.where(mask, a, b)

    def neg(self, a):
        return -a

    def col(self, a):
        return a[:, None]


MP = MPBackend()


def settle(formula, args, fmt: Format):
    """Evaluate ``formula(MP, *args)`` until two precisions agree on the rounding to ``fmt``.

    Returns ``(rounded, exact_hi, exact_lo)`` float64 arrays: the correctly rounded result, and the exact value
    as the float64 nearest to it plus a float64 remainder (used by the metrics for the error at the exact value).
    """
    p = max(2 * fmt.p + 16, 64)  # >= 53 so that mpf(x) of every input is exact
    while p <= MAX_PREC:
        with mpmath.workprec(p):
            lo_prec = formula(MP, *args)
        with mpmath.workprec(p + 32):
            hi_prec = formula(MP, *args)
        r1 = _round(lo_prec, fmt).astype(np.float64)
        r2 = _round(hi_prec, fmt).astype(np.float64)
        if np.array_equal(r1, r2, equal_nan=True):
            with mpmath.workprec(p + 32):
                hi = _round(hi_prec, FORMATS["float64"]).astype(np.float64)
                lo = np.frompyfunc(lambda v, h: float(v - mpmath.mpf(h)), 2, 1)(hi_prec, hi).astype(np.float64)
            return r1, hi, lo
        p *= 2
    raise ArithmeticError(f"reference did not settle below {MAX_PREC} bits: {formula.__name__}{args!r}")
