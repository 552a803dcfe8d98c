"""Double-double arithmetic against mpmath: the declared error bounds hold."""

import mpmath
import numpy as np
import pytest

from stability import dd


def _dd_args(xs, rng):
    lo = xs * 2.0**-54 * rng.uniform(-1, 1, xs.shape)
    return dd.two_sum(xs, lo)


def _worst(f, mpf, a, bound_rel):
    h, l = f(a)
    with mpmath.workprec(400):
        for i in range(a[0].size):
            x = mpmath.mpf(a[0][i]) + mpmath.mpf(a[1][i])
            t = mpf(x)
            got = mpmath.mpf(h[i]) + mpmath.mpf(l[i])
            assert abs(got - t) <= bound_rel * abs(t) + dd.ABS_ERR, (f.__name__, a[0][i], a[1][i])


def test_exp_within_bound():
    rng = np.random.default_rng(0)
    xs = np.concatenate([rng.uniform(-740, 0, 400), rng.uniform(-1, 1, 300) * 10.0 ** rng.uniform(-30, 0, 300),
                         rng.uniform(0, 700, 200), np.array([0.0, -1e-300, np.log(2), -np.log(2) * 512])])
    _worst(dd.exp, mpmath.exp, _dd_args(xs, rng), dd.EXP_REL_ERR)


def test_exp_far_below_underflow_is_zero():
    h, l = dd.exp((np.array([-1100.5, -1e308]), np.zeros(2)))
    assert (h == 0).all() and (l == 0).all()


def test_expm1_within_bound():
    rng = np.random.default_rng(1)
    xs = np.concatenate([rng.uniform(-30, 30, 300), rng.uniform(-1, 1, 300) * 10.0 ** rng.uniform(-300, 0, 300)])
    _worst(dd.expm1, mpmath.expm1, _dd_args(xs, rng), dd.EXP_REL_ERR)


def test_log1p_within_bound():
    rng = np.random.default_rng(2)
    xs = np.concatenate([rng.uniform(0, 1e6, 200), 10.0 ** rng.uniform(-300, 1, 400), np.array([0.0, 1.0])])
    _worst(dd.log1p, mpmath.log1p, _dd_args(xs, rng), dd.LOG1P_REL_ERR)


@pytest.mark.parametrize("scaled", [False, True])
def test_two_prod_is_exact(scaled):
    rng = np.random.default_rng(3)
    a = rng.normal(size=500) * 10.0 ** rng.integers(-100, 100, 500)
    b = rng.normal(size=500) * 10.0 ** rng.integers(-100, 100, 500)
    if scaled:
        a[:10], b[:10] = 1e300, rng.normal(size=10)
    p, e = (dd.two_prod_scaled if scaled else dd.two_prod)(a, b)
    for i in range(a.size):
        assert mpmath.mpf(p[i]) + mpmath.mpf(e[i]) == mpmath.mpf(a[i]) * mpmath.mpf(b[i])


def test_div_and_pairwise_sum():
    rng = np.random.default_rng(4)
    a = _dd_args(rng.uniform(0.1, 10, (7, 37)), rng)
    s = dd.sum_last(a)
    q = dd.div(a, (np.full((7, 37), 3.0), np.zeros((7, 37))))
    with mpmath.workprec(300):
        for r in range(7):
            exact = mpmath.fsum(mpmath.mpf(a[0][r, j]) + mpmath.mpf(a[1][r, j]) for j in range(37))
            assert abs(mpmath.mpf(s[0][r]) + mpmath.mpf(s[1][r]) - exact) <= (dd.levels(37) + 1) * dd.OP_REL_ERR * exact
            x = mpmath.mpf(a[0][r, 0]) + mpmath.mpf(a[1][r, 0])
            assert abs(mpmath.mpf(q[0][r, 0]) + mpmath.mpf(q[1][r, 0]) - x / 3) <= dd.OP_REL_ERR * x / 3
