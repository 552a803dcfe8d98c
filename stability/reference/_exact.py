"""The ground truth: the same formulas in mpmath interval arithmetic, settled Ziv-style with a proof.

The elements the certified fast path could not settle come here.  Each is evaluated in ``mpmath.iv`` (outward
rounded interval arithmetic) at a working precision p; a rounding is accepted only when *both ends* of the
interval round to the same number of the output format -- the exact value lies between them and rounding is
monotone, so it rounds there too -- and the interval pins the exact value to :data:`EXACT_ULPS` of an ULP (it
feeds the metrics).  Otherwise p doubles and the evaluation repeats (Ziv 1991, "Fast evaluation of elementary
mathematical functions with correctly rounded last bit").

Comparing two precisions is *not* a proof: when a tiny term is rounded away at both (``1 - 1 * (1 + 2^-1040)``
in a gradient's sum, a loss at a midpoint plus ``3.6e-34``), both agree on a wrong rounding.  The interval keeps
the lost term inside its width, so it cannot be certified until the precision sees it.  An exact zero reached by
cancellation of equal but separately rounded terms certifies once the width is below half the smallest
subnormal.  Precision is scoped: ``iv.prec`` is restored whatever happens.

The formulas come from ``_formulas.py``, run on NumPy object arrays of intervals: :class:`IVBackend` is the third
backend beside the ball backends, so the fast path and the truth cannot drift apart in what they compute.
"""

from __future__ import annotations

from contextlib import contextmanager

import mpmath
import numpy as np
from mpmath import iv

from ..formats import FORMATS, Format, round_mpf

_exp = np.frompyfunc(iv.exp, 1, 1)
_log1p = np.frompyfunc(iv.log1p, 1, 1)
_log = np.frompyfunc(iv.log, 1, 1)
_to_iv = np.frompyfunc(iv.mpf, 1, 1)

#: working precisions tried, in bits: p doubling from 2*p_out + 16 up to this
MAX_PREC = 1 << 16
#: the exact value an accepted interval reports is this close, in ULPs of the output (as for the balls)
EXACT_ULPS = 2.0**-12


@contextmanager
def ivprec(p: int):
    """``mpmath.iv`` at ``p`` bits inside the block, the caller's precision restored after it."""
    old = iv.prec
    iv.prec = p
    try:
        yield
    finally:
        iv.prec = old


class IVBackend:
    """mpmath intervals in object arrays: no separate radius, the precision is the caller's :func:`ivprec`."""

    name = "mpmath"

    def exact(self, x):
        return _to_iv(np.asarray(x, dtype=np.float64)).astype(object)

    def zero(self, like):
        return np.full(np.shape(like), iv.mpf(0), dtype=object)

    def one(self, like):
        return np.full(np.shape(like), iv.mpf(1), dtype=object)

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

    def log(self, a):
        return _log(a)

    def sum(self, a):
        out = np.empty(a.shape[:-1], dtype=object)
        for idx in np.ndindex(out.shape):
            out[idx] = iv.fsum(a[idx]) if a.shape[-1] else iv.mpf(0)
        return out

    ssum = sum

    def where(self, mask, a, b):
        return np.where(mask, a, b)

    def neg(self, a):
        return -a

    def col(self, a):
        return a[:, None]


MP = IVBackend()
MPBackend = IVBackend  # the name the rest of the suite knew


def _ends(v):
    a, b = v._mpi_
    return mpmath.mpf(a), mpmath.mpf(b)


#: past this precision, an interval that touches a rounding midpoint at one end is decided by its interior
KNOWN_SIGN_PREC = 1024


def _settle_one(v, fmt: Format, f64: Format, p: int = 0):
    """(rounded, hi, lo) when the interval ``v`` proves the rounding and pins the value, else None.

    The known-sign rule: ``d - log1p(t)`` with d exactly a midpoint of the format and ``t = e^-(10^32)`` lies
    strictly below the midpoint, but no precision separates them; the interval ``[d - 2^-p d, d]`` touches the
    midpoint at one end only.  Past :data:`KNOWN_SIGN_PREC` bits such an interval (narrower than
    :data:`EXACT_ULPS`) is rounded as its interior is: the exact value equals the midpoint only when no inexact
    operation contributed, and then the interval has no width at all."""
    lo_end, hi_end = _ends(v)
    if not (mpmath.isfinite(lo_end) and mpmath.isfinite(hi_end)):
        return None
    mid = (lo_end + hi_end) / 2
    r = round_mpf(lo_end, fmt)
    r2 = round_mpf(hi_end, fmt)
    if r != r2 and not (r != r and r2 != r2):  # both NaN: an overflow of a format without infinities
        if p < KNOWN_SIGN_PREC or hi_end == lo_end:
            return None
        r = round_mpf(mid, fmt)
    from ..metrics import ulp_at

    hi = round_mpf(mid, f64)
    lo = float(mid - mpmath.mpf(hi))
    ulp = float(ulp_at(np.array([hi]), np.array([lo]), fmt)[0])
    if hi_end - lo_end > mpmath.mpf(ulp) * EXACT_ULPS:  # in mpmath: 2^-12 of a subnormal ULP underflows float64
        return None
    return r, hi, lo


def settle(formula, args, fmt: Format, need=None):
    """Evaluate ``formula(MP, *args)`` in intervals until every output's rounding to ``fmt`` is proved.

    Returns ``(rounded, exact_hi, exact_lo)`` float64 arrays: the correctly rounded result, and the exact value
    as the float64 nearest to it plus a float64 remainder (used by the metrics for the error at the exact value).
    ``need``: a boolean mask of the outputs wanted (any shape of the same size); the others are left NaN.
    """
    f64 = FORMATS["float64"]
    p = max(2 * fmt.p + 16, 64)  # >= 53 so that iv.mpf(x) of every input is exact
    out = None
    while p <= MAX_PREC:
        with ivprec(p):
            res = np.asarray(formula(MP, *args), dtype=object)
        if out is None:
            out = [np.full(res.shape, np.nan) for _ in range(3)]
            done = np.zeros(res.shape, dtype=bool) if need is None else ~np.reshape(need, res.shape)
        with mpmath.workprec(p + 64):
            for idx in zip(*np.nonzero(~done)):
                got = _settle_one(res[idx], fmt, f64, p)
                if got is not None:
                    for arr, val in zip(out, got):
                        arr[idx] = val
                    done[idx] = True
        if done.all():
            return tuple(out)
        p *= 2
    raise ArithmeticError(f"reference did not settle below {MAX_PREC} bits: {formula.__name__}{args!r}")
