"""Vectorized double-double arithmetic on NumPy float64 arrays.

A double-double (dd) number is an unevaluated sum ``hi + lo`` of two float64 arrays with ``|lo| <= ulp(hi)/2``,
about 106 significant bits.  The error-free transformations are Knuth's TwoSum and Dekker's TwoProduct (with
Veltkamp splitting, since NumPy has no fused multiply-add); addition is the accurate variant of Li et al. (relative
error <= 2*2**-106 even under cancellation) and multiplication / division follow the QD library (Hida, Li &
Bailey 2001).  :func:`exp` and :func:`log1p` are built here on those primitives; their relative error is below
:data:`EXP_REL_ERR` / :data:`LOG1P_REL_ERR`, bounds that ``tests/test_dd.py`` checks against mpmath.

These routines serve the reference's certified fast path (``stability.reference``), which turns every dd result
into a ball ``(hi + lo) +- rad`` and only accepts a rounding the ball proves.
"""

from __future__ import annotations

import numpy as np

#: relative error bound of one accurate dd add / mul / div (a few units of 2**-106, rounded up generously)
OP_REL_ERR = 2.0**-101
#: relative error bound of :func:`exp` and :func:`expm1` (measured: 2**-105.6 and 2**-103.5 at worst over 26,000 arguments
#: against mpmath; the bound keeps a wide margin)
EXP_REL_ERR = 2.0**-94
#: relative error bound of :func:`log1p` (one Newton step from a float64 start, with :func:`expm1` inside)
LOG1P_REL_ERR = 2.0**-93
#: absolute error floor: results that fall in float64's subnormal range lose bits there
ABS_ERR = 2.0**-1070

_SPLITTER = 134217729.0  # 2**27 + 1


def _constants():
    """ln 2 as a 3-term expansion whose first term has 42 bits (so k * term is exact for |k| < 2**11), and the
    dd Taylor coefficients 1/6 and 1/24, all from mpmath at 300 bits."""
    import mpmath

    with mpmath.workprec(300):
        ln2 = mpmath.log(2)
        c1 = float(mpmath.nint(ln2 * 2**42) / 2**42)
        rest = ln2 - c1
        c2 = float(rest)
        c3 = float(rest - c2)
        inv = []
        for n in (24, 6):
            h = float(mpmath.mpf(1) / n)
            inv.append((h, float(mpmath.mpf(1) / n - h)))
    return (c1, c2, c3), tuple(inv)


_LN2, _INV_FACT = _constants()
NEGLIGIBLE = -1100.0  # exp(x) < 2**-1586 for x below this: treated as exactly 0 (see exp)


def two_sum(a, b):
    """``s + e == a + b`` exactly, ``s = fl(a + b)``."""
    s = a + b
    bb = s - a
    e = (a - (s - bb)) + (b - bb)
    return s, e


def fast_two_sum(a, b):
    """TwoSum for ``|a| >= |b|`` (or a == 0)."""
    s = a + b
    e = b - (s - a)
    return s, e


def _split(a):
    c = _SPLITTER * a
    hi = c - (c - a)
    return hi, a - hi


def two_prod(a, b):
    """``p + e == a * b`` exactly (operands below 2**995 in magnitude, products not underflowing)."""
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, e


def two_prod_scaled(a, b):
    """:func:`two_prod` for operands of any finite magnitude: scales both into [0.5, 1) first."""
    ma, ea = np.frexp(a)
    mb, eb = np.frexp(b)
    p, e = two_prod(ma, mb)
    return np.ldexp(p, ea + eb), np.ldexp(e, ea + eb)


def add(a, b):
    """Accurate dd + dd."""
    s, e = two_sum(a[0], b[0])
    t, f = two_sum(a[1], b[1])
    e = e + t
    s, e = fast_two_sum(s, e)
    e = e + f
    return fast_two_sum(s, e)


def neg(a):
    return -a[0], -a[1]


def sub(a, b):
    return add(a, neg(b))


def mul(a, b, prod=two_prod):
    """dd * dd."""
    p, e = prod(a[0], b[0])
    e = e + (a[0] * b[1] + a[1] * b[0])
    return fast_two_sum(p, e)


def mul_f(a, f):
    """dd * float64 array."""
    p, e = two_prod(a[0], f)
    e = e + a[1] * f
    return fast_two_sum(p, e)


def div(a, b):
    """dd / dd (long division in three quotient digits)."""
    q1 = a[0] / b[0]
    r = sub(a, mul_f(b, q1))
    q2 = r[0] / b[0]
    r = sub(r, mul_f(b, q2))
    q3 = r[0] / b[0]
    q1, q2 = fast_two_sum(q1, q2)
    return add((q1, q2), (q3, np.zeros_like(q3)))


def ldexp(a, k):
    return np.ldexp(a[0], k), np.ldexp(a[1], k)


_TABLE_BITS = 10  # expm1(j / 1024) tabulated for |j| <= 356 (every |r| <= ln(2)/2 plus a margin)
_TABLE_HALF = 356


def _table():
    """``expm1(j / 2**_TABLE_BITS)`` for ``j = -_TABLE_HALF .. _TABLE_HALF`` as dd (hi, lo) arrays, from mpmath at
    300 bits: each entry within 2**-106 of its value, relatively."""
    import mpmath

    hi, lo = [], []
    with mpmath.workprec(300):
        for j in range(-_TABLE_HALF, _TABLE_HALF + 1):
            v = mpmath.expm1(mpmath.mpf(j) / 2**_TABLE_BITS)
            h = float(v)
            hi.append(h)
            lo.append(float(v - h))
    return np.array(hi), np.array(lo)


_EXPM1_TABLE = _table()


def _expm1_reduced(r):
    """expm1 of a dd ``r`` with ``|r| <= ln(2)/2``: ``r = j/1024 + s`` with ``|s| <= 2**-11``, the table's
    ``E = expm1(j/1024)`` and a Taylor series ``p = expm1(s)``, combined as ``E + p + E p`` (the terms have the
    same sign or ``|E| >= 2**-11 >= |p|``: no cancellation to speak of).  The series: degrees 1 to 4 in dd by
    Horner, 5 to 9 in float64 (below 2**-50 of ``s``, so their rounding is below 2**-103 of it); the first term
    left out, ``s^10 / 10!``, is below 2**-121 of ``s``.  Eleven dd operations in all."""
    j = np.rint(r[0] * 2**_TABLE_BITS)
    s = add(r, (-j / 2**_TABLE_BITS, np.zeros_like(j)))  # j / 1024 exact: an accurate add, no rounding of r
    sh = s[0]
    tail = sh * (1 / 120 + sh * (1 / 720 + sh * (1 / 5040 + sh * (1 / 40320 + sh * (1 / 362880)))))
    (i24, i24_lo), (i6, i6_lo) = _INV_FACT
    c = add((np.full_like(sh, i24), np.full_like(sh, i24_lo)), (tail, np.zeros_like(tail)))  # 1/24 + s/120 + ...
    c = add((np.full_like(sh, i6), np.full_like(sh, i6_lo)), mul(s, c))  # 1/6 + s c
    c = add((np.full_like(sh, 0.5), np.zeros_like(sh)), mul(s, c))  # 1/2 + s c
    p = add(s, mul(mul(s, s), c))
    k = (j + _TABLE_HALF).astype(np.intp)
    E = (_EXPM1_TABLE[0][k], _EXPM1_TABLE[1][k])
    return add(add(E, p), mul(E, p))


def _reduce(a):
    """Split ``a = k*ln2 + r`` with integer k and ``|r| <= ln(2)/2`` (r as dd, computed nearly exactly)."""
    k = np.rint(a[0] / _LN2[0])
    k = np.where(np.isfinite(k), k, 0.0)
    r = sub(a, (k * _LN2[0], np.zeros_like(k)))  # exact product: _LN2[0] has 42 bits, |k| < 2**11
    r = sub(r, two_prod(k, np.full_like(k, _LN2[1])))
    r = sub(r, (k * _LN2[2], np.zeros_like(k)))
    return k, r


def exp(a):
    """exp of a dd array (relative error < :data:`EXP_REL_ERR`, plus :data:`ABS_ERR` in the subnormal range).

    Arguments below -1100 give exactly 0: the true value is below 2**-1586, so n such terms added to anything
    never change a rounding to float64 or a narrower format (whose smallest half-ulp is 2**-1075).
    """
    hi = a[0]
    small = hi < NEGLIGIBLE
    safe = (np.where(small, 0.0, hi), np.where(small, 0.0, a[1]))
    k, r = _reduce(safe)
    e = _expm1_reduced(r)
    one_plus = add((np.ones_like(k), np.zeros_like(k)), e)
    # scale by 2**k in two steps so that neither over- nor underflows before the end
    k1 = np.floor(k / 2)
    res = ldexp(ldexp(one_plus, k1.astype(np.int64)), (k - k1).astype(np.int64))
    return np.where(small, 0.0, res[0]), np.where(small, 0.0, res[1])


def expm1(a):
    """expm1 of a dd array with ``|a| < 700`` (relative error < :data:`EXP_REL_ERR`)."""
    k, r = _reduce(a)
    e = _expm1_reduced(r)
    # 2**k * (1 + e) - 1 = (2**k - 1) + 2**k * e; the first pair is exact as a dd, and |result| >= 0.29 when k != 0
    p2 = np.ldexp(np.ones_like(k), k.astype(np.int64))
    return add(two_sum(p2, -np.ones_like(k)), ldexp(e, k.astype(np.int64)))


def log1p(a):
    """log1p of a dd array ``a >= 0`` (relative error < :data:`LOG1P_REL_ERR`).

    One Newton step on ``f(y) = expm1(y) - a`` from ``y0 = log1p(hi)`` (float64, a few ulps): the step
    ``y1 = y0 - (expm1(y0) - a) / (1 + expm1(y0))`` squares the start's relative error, leaving the error of
    :func:`expm1`.
    """
    y0 = np.log1p(a[0])
    y = (y0, np.zeros_like(y0))
    em = expm1(y)
    num = sub(em, a)
    den = add((np.ones_like(y0), np.zeros_like(y0)), em)
    return sub(y, div(num, den))


def pairwise_last(parts: tuple, plus) -> tuple:
    """Pairwise reduction over the last axis of the arrays ``parts`` (a number's parts: ``(hi, lo)`` of a dd, or a
    float64 array alone), halves combined by ``plus(left, right)``: every term passes through :func:`levels`
    (n) of them.  An odd level gets a zero, whose addition is exact."""
    n = parts[0].shape[-1]
    if n == 0:
        return tuple(np.zeros(p.shape[:-1]) for p in parts)
    while n > 1:
        if n % 2:
            parts = tuple(np.pad(p, [(0, 0)] * (p.ndim - 1) + [(0, 1)]) for p in parts)
            n += 1
        n //= 2
        parts = plus(tuple(p[..., :n] for p in parts), tuple(p[..., n:] for p in parts))
    return tuple(p[..., 0] for p in parts)


def sum_last(a):
    """Pairwise sum of a dd array over its last axis: ceil(log2 n) levels of :func:`add`."""
    return pairwise_last(a, add)


def levels(n: int) -> int:
    """Number of rounding levels of :func:`sum_last` over n terms."""
    return max(int(np.ceil(np.log2(max(n, 1)))), 0)
