"""Ball arithmetic on NumPy arrays: every value is a midpoint with a radius that bounds its error.

The reference's formulas (``_formulas.py``) are written once against a small *backend* interface (``exact``,
``add``, ``sub``, ``mul``, ``div``, ``exp``, ``log1p``, ``sum`` (non-negative terms), ``ssum`` (terms of any sign),
``where``, ``zero``, ``one``; :class:`F64Backend` also ``log``).  Two backends here run
them fast on whole arrays, carrying rigorous error radii the way Arb does, so that a rounding is accepted only
when the ball proves it (``_certify.py``); a third, in ``_exact.py``, runs the same formulas in mpmath.

* :class:`F64Backend`: midpoints in float64.  Enough for outputs of 24 bits or fewer (float32, float16,
  bfloat16): the radius is ~2**-50 relative, so only inputs within that of a rounding boundary fall through.
* :class:`DDBackend`: midpoints in double-double (``stability.dd``), radius ~2**-90 relative, for float64 outputs.

Radii are propagated with the first-order rules of ball arithmetic plus the rounding error of the midpoint
operation.  The libm functions used by :class:`F64Backend` (``numpy.exp``, ``numpy.log1p``) are assumed accurate
to :data:`LIBM_ULPS` units in the last place, 4x what glibc and NumPy's SIMD loops document; the tests check
this against mpmath.  Radius arithmetic itself is rounded to nearest; the final radius is inflated by
:data:`RADIUS_SLACK` to cover that (a few hundred roundings of relative size 2**-53 each).
"""

from __future__ import annotations

import numpy as np

from .. import dd
from ._certify import certify, certify_exact

U64 = 2.0**-53
LIBM_ULPS = 4.0
RADIUS_SLACK = 1.0 + 2.0**-30
TINY = 2.0**-1074


def _pairwise(t):
    """Sum of float64 ``t`` over its last axis in a fixed pairwise order (:func:`stability.dd.pairwise_last`),
    ``levels(n)`` additions deep for every term, so its error is at most ``gamma_levels(n) sum |t|`` (Higham,
    *Accuracy and Stability of Numerical Algorithms*, 2002, sec. 4.2): for rows of a thousand, 10 roundings where
    a bound good for any order NumPy might pick must count 999.  With that bound the float64 balls settle the
    cancelling outputs of a softmax gradient, which otherwise send their whole row to double-double."""
    return dd.pairwise_last((t,), lambda a, b: (a[0] + b[0],))[0]


class F64Backend:
    """Balls ``(mid, rad)`` with float64 midpoints."""

    name = "float64-balls"

    def exact(self, x):
        x = np.asarray(x, dtype=np.float64)
        return x, np.zeros_like(x)

    def zero(self, like):
        return np.zeros_like(like[0]), np.zeros_like(like[0])

    def one(self, like):
        return np.ones_like(like[0]), np.zeros_like(like[0])

    def add(self, a, b):
        m = a[0] + b[0]
        return m, a[1] + b[1] + U64 * np.abs(m)

    def sub(self, a, b):
        m = a[0] - b[0]
        return m, a[1] + b[1] + U64 * np.abs(m)

    def mul(self, a, b):
        m = a[0] * b[0]
        return m, np.abs(a[0]) * b[1] + np.abs(b[0]) * a[1] + a[1] * b[1] + U64 * np.abs(m) + TINY

    def div(self, a, b):
        """Needs ``|b.mid| > b.rad``; otherwise the radius comes out infinite or NaN (never certified)."""
        m = a[0] / b[0]
        with np.errstate(divide="ignore", invalid="ignore"):
            r = (a[1] + np.abs(m) * b[1]) / (np.abs(b[0]) - b[1])
        r = np.where(np.abs(b[0]) > b[1], r, np.inf)
        return m, r + U64 * np.abs(m) + TINY

    def exp(self, a):
        m = np.exp(a[0])
        # the libm's error, LIBM_ULPS spacings of m >= 0, bounded by m 2^-52 + TINY (a spacing is at most 2^-52 of
        # a normal number, and TINY at a subnormal one): a product where numpy.spacing costs five
        r = m * np.expm1(a[1]) * (1 + 4 * U64) + (LIBM_ULPS * 2.0**-52) * m + (LIBM_ULPS + 1) * TINY
        exact = (a[0] == 0) & (a[1] == 0)  # exp(0) = 1 exactly: the max term of a row
        if np.ndim(r):
            r[exact] = 0.0
        else:
            r = np.where(exact, 0.0, r)
        return m, r

    def log1p(self, a):
        """For ``a > -1``: the derivative is at most ``1 / (1 + a - rad)`` over the ball."""
        m = np.log1p(a[0])
        low = 1 + a[0] - a[1]
        with np.errstate(divide="ignore", invalid="ignore"):
            prop = np.where(low > 0, a[1] / low, np.inf)
        return m, prop + LIBM_ULPS * np.spacing(np.abs(m))

    def log(self, a):
        """For ``a > 0``: the derivative is at most ``1 / (a - rad)`` over the ball."""
        m = np.log(a[0])
        low = a[0] - a[1]
        with np.errstate(divide="ignore", invalid="ignore"):
            prop = np.where(low > 0, a[1] / low, np.inf)
        return m, prop + LIBM_ULPS * np.spacing(np.abs(m))

    def sum(self, a):
        """Sum over the last axis of non-negative terms, pairwise (:func:`_pairwise`): error at most
        ``gamma_d`` of the sum, ``d = levels(n)``, which the computed sum bounds to ``(1 + gamma_d)``."""
        n = a[0].shape[-1]
        d = dd.levels(n)
        m = _pairwise(a[0])
        return m, np.sum(a[1], axis=-1) + (d * U64) * m * (1 + 4 * (d + 1) * U64) + n * TINY

    def ssum(self, a):
        """Sum over the last axis of terms of any sign, pairwise: error at most ``gamma_d sum |terms|``, the
        magnitudes summed in any order (to ``1 + gamma_n``)."""
        n = a[0].shape[-1]
        d = dd.levels(n)
        m = _pairwise(a[0])
        mag = np.sum(np.abs(a[0]), axis=-1)
        return m, np.sum(a[1], axis=-1) + (d * U64) * mag * (1 + (n + 4 * (d + 1)) * U64) + n * TINY

    def where(self, mask, a, b):
        return np.where(mask, a[0], b[0]), np.where(mask, a[1], b[1])

    def neg(self, a):
        return -a[0], a[1]

    def col(self, a):
        """Per-row values as a column, to broadcast against (rows, n) balls."""
        return a[0][:, None], a[1][:, None]

    def parts(self, a):
        """(hi, lo, rad) float64 arrays for certification."""
        return a[0], np.zeros_like(a[0]), a[1] * RADIUS_SLACK

    def certify(self, hi, lo, rad, fmt):
        """``(rounded, ok)``: where the ball proves the rounding (``_certify.certify``)."""
        return certify(hi, lo, rad, fmt)


class DDBackend:
    """Balls ``((hi, lo), rad)`` with double-double midpoints."""

    name = "double-double-balls"

    def exact(self, x):
        x = np.asarray(x, dtype=np.float64)
        z = np.zeros_like(x)
        return (x, z), z

    def zero(self, like):
        z = np.zeros_like(like[0][0])
        return (z, z), z

    def one(self, like):
        z = np.zeros_like(like[0][0])
        return (np.ones_like(z), z), z

    @staticmethod
    def _mag(m):
        return np.abs(m[0])

    @staticmethod
    def _floor(mag, *operands):
        """Absolute error from float64's subnormal range: only for tiny non-zero results (an exact 0 that comes
        from exact operands stays exact, so that results like log_softmax of a single element certify)."""
        risky = mag < 2.0**-960
        for op in operands:
            risky = risky & (op != 0)
        if not operands:
            risky = risky & (mag > 0)
        return np.where(risky, dd.ABS_ERR, 0.0)

    def add(self, a, b):
        m = dd.add(a[0], b[0])
        mag = self._mag(m)
        return m, a[1] + b[1] + dd.OP_REL_ERR * mag + self._floor(mag)

    def sub(self, a, b):
        m = dd.sub(a[0], b[0])
        mag = self._mag(m)
        return m, a[1] + b[1] + dd.OP_REL_ERR * mag + self._floor(mag)

    def mul(self, a, b):
        m = dd.mul(a[0], b[0], prod=dd.two_prod_scaled)
        ra, rb = a[1], b[1]
        r = self._mag(a[0]) * rb + self._mag(b[0]) * ra + ra * rb
        mag = self._mag(m)
        return m, r * (1 + 4 * U64) + dd.OP_REL_ERR * mag + self._floor(mag, a[0][0], b[0][0])

    def div(self, a, b):
        """The long division forms remainders ``a - b q`` at the numerator's scale: when the numerator is near
        float64's subnormal range they lose bits absolutely (``dd.ABS_ERR``), which is a relative error of the
        quotient of ``ABS_ERR / |a|`` -- large for a subnormal numerator even when the quotient is a normal
        number (a subnormal cotangent over ``p (1 - p)`` in logit's gradient: 1,433 ULP, certified)."""
        m = dd.div(a[0], b[0])
        bm = self._mag(b[0])
        with np.errstate(divide="ignore", invalid="ignore"):
            r = (a[1] + self._mag(m) * b[1]) / (bm * (1 - 4 * U64) - b[1])
            am = self._mag(a[0])
            remainder = np.where(am > 0, self._mag(m) * (4 * dd.ABS_ERR / am), 0.0)
        r = np.where(bm * (1 - 4 * U64) > b[1], r, np.inf)
        mag = self._mag(m)
        return m, r * (1 + 4 * U64) + dd.OP_REL_ERR * mag + remainder + self._floor(mag, a[0][0])

    def exp(self, a):
        m = dd.exp(a[0])
        mag = self._mag(m)
        floor = np.where((mag < 2.0**-960) & (a[0][0] >= dd.NEGLIGIBLE), dd.ABS_ERR, 0.0)
        r = mag * np.expm1(a[1]) * (1 + 8 * U64) + dd.EXP_REL_ERR * mag + floor
        # dd.exp returns 0 below NEGLIGIBLE (e^x < 2^-1586): not exactly 0, so the radius is float64's smallest
        # subnormal (a bound while the ball's upper end stays below -746). A radius of 0 there claimed an exact
        # zero that a huge cotangent scales back into range: e^-1101 * 1.4e306 = 2.7e-172, not 0
        neglected = a[0][0] < dd.NEGLIGIBLE
        r = np.where(neglected, np.where(a[0][0] + a[1] < -746.0, TINY, np.inf), r)
        exact = (a[0][0] == 0) & (a[0][1] == 0) & (a[1] == 0)  # exp(0) = 1 exactly: the max term of a row
        return ((np.where(exact, 1.0, m[0]), np.where(exact, 0.0, m[1])), np.where(exact, 0.0, r))

    def log1p(self, a):
        """For ``a >= 0`` (:func:`stability.dd.log1p` is validated there)."""
        m = dd.log1p(a[0])
        low = 1 + a[0][0] - a[1]
        with np.errstate(divide="ignore", invalid="ignore"):
            prop = np.where(low > 0, a[1] / low, np.inf) * (1 + 8 * U64)
        mag = self._mag(m)
        return m, prop + dd.LOG1P_REL_ERR * mag + self._floor(mag)

    def sum(self, a):
        n = a[0][0].shape[-1]
        m = dd.sum_last(a[0])
        mag = self._mag(m)
        lev = dd.levels(n)
        r = np.sum(a[1], axis=-1) * (1 + n * U64) + (lev + 1) * (dd.OP_REL_ERR * mag * 1.01 + self._floor(mag))
        return m, r

    def ssum(self, a):
        """Signed pairwise sum: each of the ``levels(n)`` rounds errs by at most ``OP_REL_ERR`` of a partial sum,
        which is at most the sum of the magnitudes below it."""
        n = a[0][0].shape[-1]
        m = dd.sum_last(a[0])
        mag = np.sum(np.abs(a[0][0]), axis=-1) * (1 + n * U64) + np.sum(np.abs(a[0][1]), axis=-1)
        lev = dd.levels(n)
        floor = np.where((mag > 0) & (mag < 2.0**-900), n * dd.ABS_ERR, 0.0)
        r = np.sum(a[1], axis=-1) * (1 + n * U64) + (lev + 1) * dd.OP_REL_ERR * mag * 1.01 + floor
        return m, r

    def where(self, mask, a, b):
        return (np.where(mask, a[0][0], b[0][0]), np.where(mask, a[0][1], b[0][1])), np.where(mask, a[1], b[1])

    def neg(self, a):
        return dd.neg(a[0]), a[1]

    def col(self, a):
        return (a[0][0][:, None], a[0][1][:, None]), a[1][:, None]

    def parts(self, a):
        return a[0][0], a[0][1], a[1] * RADIUS_SLACK

    certify = F64Backend.certify


class ExactF64Backend(F64Backend):
    """Float64 values that are exact, or not claimed at all: the radius is 0 where every operation so far was
    exact (checked with error-free transformations: TwoSum, a scaled TwoProduct, the division's remainder) and
    infinite elsewhere.

    The tier before mpmath: an exact answer that sits on a rounding boundary of the output format -- the softmax
    of a flat row of 2^17 entries is 2^-17, the midpoint between 0 and float8_e5m2's smallest subnormal -- can be
    settled by no ball of positive radius, and mpmath, which settles it with an interval of no width, took 70 us
    an entry on rows of 131,072.  Here it costs one float64 pass; what is inexact passes on unchanged."""

    name = "float64-exact"

    @staticmethod
    def _ball(m, exact):
        return m, np.where(exact & np.isfinite(m), 0.0, np.inf)

    def add(self, a, b):
        s, e = dd.two_sum(a[0], b[0])
        return self._ball(s, (a[1] == 0) & (b[1] == 0) & (e == 0))

    def sub(self, a, b):
        return self.add(a, (-b[0], b[1]))

    @staticmethod
    def _times_is(x, y, target):
        """Where the real product ``x y`` equals the float64 ``target`` (both factors finite): TwoProduct of the
        factors scaled into [0.5, 1), so that no split overflows and no part underflows."""
        mx, ex = np.frexp(x)
        my, ey = np.frexp(y)
        p, e = dd.two_prod(mx, my)
        with np.errstate(over="ignore", under="ignore"):
            return (e == 0) & (np.ldexp(p, ex + ey) == target) & (np.abs(target) >= 2.0**-1022) | (target == 0) & (
                (x == 0) | (y == 0))

    def mul(self, a, b):
        m = a[0] * b[0]
        return self._ball(m, (a[1] == 0) & (b[1] == 0) & self._times_is(a[0], b[0], m))

    def div(self, a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            m = a[0] / b[0]
        ok = (a[1] == 0) & (b[1] == 0) & (b[0] != 0) & np.isfinite(b[0])
        with np.errstate(invalid="ignore"):
            return self._ball(m, ok & self._times_is(np.where(np.isfinite(m), m, 0.0), b[0], a[0]))

    def exp(self, a):
        zero = (a[0] == 0) & (a[1] == 0)
        return np.where(zero, 1.0, np.exp(a[0])), np.where(zero, 0.0, np.inf)

    def log1p(self, a):
        zero = (a[0] == 0) & (a[1] == 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(zero, 0.0, np.log1p(a[0])), np.where(zero, 0.0, np.inf)

    def log(self, a):
        one = (a[0] == 1) & (a[1] == 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(one, 0.0, np.log(a[0])), np.where(one, 0.0, np.inf)

    def sum(self, a):
        """Pairwise, as the float64 balls sum: exact where every term is and every partial sum was."""
        def plus(x, y):  # (value, radius): a level's padding is (0, 0), exact
            s, e = dd.two_sum(x[0], y[0])
            return s, np.where((x[1] == 0) & (y[1] == 0) & (e == 0), 0.0, np.inf)

        m, rad = dd.pairwise_last((a[0], a[1]), plus)
        return self._ball(m, rad == 0)

    ssum = sum

    def parts(self, a):
        return a[0], np.zeros_like(a[0]), a[1]

    def certify(self, hi, lo, rad, fmt):
        """The certificate is the zero radius itself (``_certify.certify_exact``)."""
        return certify_exact(hi, rad, fmt)
