"""Accept a rounding only when an error ball proves it.

A fast-path result is a ball: the exact value lies in ``[hi + lo - rad, hi + lo + rad]``.  The bounds are formed
as ``hi + l`` with ``l`` rounded outwards (``nextafter``), so that each float64 sum ``fl(hi + l)`` is the correctly
rounded float64 of an exact bound.  Round-to-nearest is monotone, so if both bounds round to the same number of
the output format, every point between them, the exact value included, rounds to it.

For float64 outputs ``fl(hi + l)`` is that rounding.  For narrower formats the float64 bound is first moved one
float64 step outwards (it might sit exactly on a midpoint of the narrow format after its own rounding) and then
rounded with :func:`stability.formats.round_float64`.

A cheaper sufficient test runs first (:func:`_near`): with ``r`` the rounding of ``hi`` (``hi`` itself for float64),
``hi - r`` is exact in float64 (Sterbenz: ``hi`` is within half a spacing of ``r``), and the exact value rounds
to ``r`` when ``|hi - r| + |lo| + rad``, computed with a relative slack of 2^-50, is below half the gap between
``r`` and its neighbours: half the spacing of ``r``'s binade, a quarter at a power of two, whose lower gap is
the binade's below.  Only where it fails (a ball across a rounding boundary, an overflow, a NaN) do the two
outward-rounded bounds decide.

A certified rounding is not enough: the exact value ``hi + lo`` also feeds the ULP errors and stability ratios,
so a ball is accepted only when its radius is at most :data:`EXACT_ULPS` of the output's ULP as well. Without
that, a float64 ball around a cancelling result (a log-sum-exp near 0: ``-1.79 + log1p(...)``, relative
radius 1e-10) certified the float32 rounding yet carried 0.002 ULP of error into the metrics; the test that the
fast path agrees with mpmath to 2^-12 ULP found it. Such a ball now falls through to the next tier.
"""

import numpy as np

from ..formats import Format, round_float64
from ..metrics import ulp_at

EXACT_ULPS = 2.0**-12  # the exact value a certified ball reports is this close, in ULPs of the output


def certify(hi, lo, rad, fmt: Format):
    """Return ``(rounded, ok)``: the output-format rounding (as float64) and where the ball certifies it (and
    pins the exact value to :data:`EXACT_ULPS`)."""
    hi, lo, rad = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (hi, lo, rad)))
    rounded, ok = _near(hi, lo, rad, fmt)
    rest = ~ok
    if rest.any():
        rounded[rest], ok[rest] = _bounds(hi[rest], lo[rest], rad[rest], fmt)
    return rounded, ok


def _near(hi, lo, rad, fmt: Format):
    """The sufficient test of the module's docstring: ``(r, ok)``; where ``ok`` the exact value rounds to ``r``
    and the radius is at most :data:`EXACT_ULPS` of the spacing there."""
    with np.errstate(invalid="ignore", over="ignore"):
        r = round_float64(hi, fmt)
        mant, e = np.frexp(r)
        # the gap on each side of r: the binade's spacing, its half below a power of two; 0 has the subnormals'
        gap = np.ldexp(1.0, np.maximum(e - 1, fmt.emin) - (fmt.p - 1))
        gap = np.where(r == 0, fmt.smallest_subnormal, np.where(np.abs(mant) == 0.5, 0.5 * gap, gap))
        reach = (np.abs(hi - r) + np.abs(lo) + rad) * (1 + 2.0**-50)
        # scaled up, not the gap down: half and 2^-12 of float64's smallest subnormal underflow to 0, which failed
        # every exact float64 zero (a softmax gradient with a constant cotangent) over to mpmath
        ok = (2 * reach < gap) & (rad * (1 / EXACT_ULPS) <= gap)
    return r, ok


def _bounds(hi, lo, rad, fmt: Format):
    """The two outward-rounded ends of the ball, rounded to ``fmt``: ``(a, ok)``, ``ok`` where they agree."""
    with np.errstate(invalid="ignore", over="ignore"):
        l_lo = np.nextafter(lo - rad, -np.inf)
        l_hi = np.nextafter(lo + rad, np.inf)
        a = hi + l_lo
        b = hi + l_hi
        if fmt.name != "float64":
            a = round_float64(np.nextafter(a, -np.inf), fmt)
            b = round_float64(np.nextafter(b, np.inf), fmt)
        same = a == b
        if not fmt.infinite:  # NaN: both ends overflow a format without infinities
            same |= np.isnan(a) & np.isnan(b)
        # an infinite or NaN radius fails the last test (the spacing is finite): no test of its own
        ok = same & np.isfinite(hi) & (rad * (1 / EXACT_ULPS) <= ulp_at(hi, lo, fmt))
    return a, ok


def certify_exact(hi, rad, fmt: Format):
    """``(rounded, ok)`` for a tier whose values are exact where their radius is 0 (``_balls.ExactF64Backend``):
    an exact float64 rounds to the format once, ties to even, wherever it lies -- on a midpoint too."""
    hi, rad = (np.asarray(a, dtype=np.float64) for a in (hi, rad))
    with np.errstate(invalid="ignore", over="ignore"):
        return round_float64(hi, fmt), (rad == 0) & np.isfinite(hi)
