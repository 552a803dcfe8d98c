"""The reference at ties: inputs built so that the exact value lies a hair from a rounding midpoint of the output
format (or exactly on one), in every dtype, for every function where such inputs can be built.

Two working precisions that both round the neglected term away land on the midpoint together and "agree" on
the tie-to-even neighbour, which is wrong.  Each case here says where its midpoint is and which way the
neglected term points; mpmath, at a precision chosen to see that term, confirms the side, and the reference must
return the neighbour on that side.  Most cases are built so that round-to-even picks the *other* neighbour, so a
reference that settles a tie by agreement fails them.

Functions left out have no such inputs by construction: sigmoid, log_sigmoid, softplus, logsumexp, logit and
the remaining gradients at finite arguments are transcendental values (e^a for algebraic a != 0, log b for
algebraic b != 1; Lindemann-Weierstrass) that equal a representable number plus an irrational part, never a
midpoint plus a term of known sign.  The exhaustive float16 sweeps (``test_sweep.py``) check their roundings.
"""

from dataclasses import dataclass
from fractions import Fraction

import mpmath
import numpy as np
import pytest

from stability import reference
from stability.formats import FORMATS, available_dtypes

DTYPES = available_dtypes()


@dataclass
class Case:
    function: str
    args: tuple  # float64 values, representable in the format; cast at test time
    index: tuple  # which output sits next to the midpoint
    exact: callable  # () -> mpf, the exact value (evaluated at the precision ``prec``)
    midpoint: Fraction
    spacing: Fraction  # the format's spacing at the midpoint: neighbours are midpoint -/+ spacing / 2
    prec: int  # bits mpmath needs to see the neglected term
    even_is_wrong: bool  # round-half-even picks the other neighbour
    label: str = ""


def _odd_multiplier(p, residue):
    """Odd M with 2**p <= 3M < 2**(p+1) and M = residue (mod 4): 3M * 2**k is a midpoint of a p-bit format,
    and its upper neighbour (3M + 1) / 2 is odd (residue 3) or even (residue 1)."""
    m = -(-(1 << p) // 3)
    while m % 4 != residue:
        m += 1
    assert (1 << p) <= 3 * m < (1 << (p + 1))
    return m


def _frac_mp(v: Fraction):
    return mpmath.mpf(v.numerator) / v.denominator


def _cases(dtype):
    fmt = FORMATS[dtype]
    p = fmt.p
    out = []
    # log_softmax and cross-entropy: an entry whose offset from the row maximum is a midpoint, d = -(2^e + 2^(e-p));
    # every other term is e^d, so log_softmax = d - log1p(e^d) lies just beyond it, the loss -d + log1p(e^d) too
    for e in (6, 9) + ((5, 10) if fmt.p < 24 else ()):
        m, xk = Fraction(2) ** (e - p), -Fraction(2) ** e
        d = xk - m
        spacing = Fraction(2) ** (e - p + 1)
        prec = int(2**e / 0.69) + 200

        def lsm(m=m, xk=xk):
            return _frac_mp(xk) - _frac_mp(m) - mpmath.log1p(mpmath.exp(_frac_mp(xk) - _frac_mp(m)))

        def ce(m=m, xk=xk):
            return -lsm(m, xk)

        row = (float(m), float(xk))
        out.append(Case("log_softmax", (np.array([row]),), (0, 1), lsm, d, spacing, prec, True, f"e={e}"))
        out.append(Case("cross_entropy", (np.array([row]), np.array([1])), (0,), ce, -d, spacing, prec, True,
                        f"e={e}"))
    # BCE with logits: (1 - y) x + log1p(e^-x) with (1 - y) x = 0.75 x a midpoint; x < 0 mirrors it with y = 0.75
    M = _odd_multiplier(p, 3)
    for t in (7, 9):
        E = t - p + 1
        for sign, y in ((1, Fraction(1, 4)), (-1, Fraction(3, 4))):
            x = sign * M * Fraction(2) ** E
            mid = 3 * M * Fraction(2) ** (E - 2)
            spacing = Fraction(2) ** (E - 1)

            def bce(x=x, y=y):
                X, Y = _frac_mp(x), _frac_mp(y)
                return (1 - Y) * X + mpmath.log1p(mpmath.exp(-X)) if X > 0 else -Y * X + mpmath.log1p(mpmath.exp(X))

            out.append(Case("binary_cross_entropy_with_logits", (np.array([float(x)]), np.array([float(y)])), (0,),
                            bce, mid, spacing, int(2**t * 1.5 / 0.69) + 200, True, f"x={float(x)}"))
    # its gradient: g (sigmoid(x) - y) = g (1 - y) - g sigmoid(-x) for x >> 0, with g (1 - y) a midpoint
    M1 = _odd_multiplier(p, 1)
    g = M1 * Fraction(2) ** (1 - p)
    for L in (70, 300):
        for sign, y in ((1, Fraction(1, 4)), (-1, Fraction(3, 4))):
            x = sign * L
            mid = sign * 3 * M1 * Fraction(2) ** (-1 - p)
            spacing = Fraction(2) ** (-p)

            def bce_vjp(x=x, y=y):
                X, Y = mpmath.mpf(x), _frac_mp(y)
                return _frac_mp(g) * (1 / (1 + mpmath.exp(-X)) - Y)

            out.append(Case("binary_cross_entropy_with_logits_vjp",
                            (np.array([float(x)]), np.array([float(y)]), np.array([float(g)])), (0,), bce_vjp,
                            mid, spacing, int(L / 0.69) + 200, True, f"x={x}"))
    # log_softmax's gradient at a dominant entry: g_0 - y_0 sum(g) = -y_0 (a + b), a + b a midpoint, y_0 < 1
    a, b = 1 + Fraction(2) ** (1 - p), Fraction(2) ** -p
    for L in (70, 300, 800):
        def lsm_vjp(L=L):
            y0 = 1 / (1 + 2 * mpmath.exp(-mpmath.mpf(L)))
            return -y0 * (_frac_mp(a) + _frac_mp(b))

        out.append(Case("log_softmax_vjp", (np.array([[0.0, -L, -L]]), np.array([[0.0, float(a), float(b)]])),
                        (0, 0), lsm_vjp, -(a + b), Fraction(2) ** (1 - p), int(L / 0.69) + 200, True, f"L={L}"))
    return out


def _params():
    for dtype in DTYPES:
        for case in _cases(dtype):
            yield pytest.param(dtype, case, id=f"{dtype}-{case.function}-{case.label}")


@pytest.mark.parametrize("dtype,case", list(_params()))
def test_a_value_next_to_a_midpoint_rounds_to_the_side_it_lies_on(dtype, case):
    fmt = FORMATS[dtype]
    args = tuple(a.astype(fmt.dtype) if a.dtype.kind == "f" else a for a in case.args)
    for a, a64 in zip(args, case.args):  # the inputs are exactly what the case says
        assert np.array_equal(a.astype(np.float64), a64)
    with mpmath.workprec(case.prec):
        offset = case.exact() - _frac_mp(case.midpoint)
        assert offset != 0 and abs(offset) < _frac_mp(case.spacing) * mpmath.mpf(2) ** -30, "not next to a midpoint"
        side = 1 if offset > 0 else -1
    expect = case.midpoint + side * case.spacing / 2
    other = case.midpoint - side * case.spacing / 2
    for v in (expect, other):  # both neighbours representable, and the midpoint between them
        assert float(np.float64(float(v)).astype(fmt.dtype)) == float(v)
    if case.even_is_wrong:  # round-half-even would pick the other one: the case discriminates
        assert (other / case.spacing) % 2 == 0
    got = reference.evaluate(case.function, *args).output()[case.index]
    assert float(got) == float(expect), f"reference {float(got)!r}, exact {case.midpoint} {'+-'[side < 0]} tiny"


@pytest.mark.parametrize("dtype", DTYPES)
def test_an_exact_tie_rounds_to_even(dtype):
    # softmax's gradient on a uniform pair is (g0 - g1) / 4 exactly: with g0 - g1 = 1 + 3 * 2^-p a tie, proved exact
    fmt = FORMATS[dtype]
    p = fmt.p
    g = np.array([[1 + 2.0 ** (1 - p), -(2.0**-p)]]).astype(fmt.dtype)
    out = reference.evaluate("softmax_vjp", np.zeros((1, 2), fmt.dtype), g).output()[0]
    even = (1 + 2.0 ** (2 - p)) / 4
    assert out.astype(np.float64).tolist() == [even, -even]


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_cotangent_split_between_tied_maxima_rounds_to_even(dtype):
    fmt = FORMATS[dtype]
    s = fmt.smallest_subnormal
    for g, half in ((s, 0.0), (3 * s, 2 * s)):  # s / 2 is a tie between 0 and s; 3s / 2 between s and 2s
        r = reference.evaluate("max_vjp", np.array([[1.0, 1.0]]).astype(fmt.dtype), np.array([g]).astype(fmt.dtype))
        assert r.alternatives[0][0].tolist() == [half, half]
