"""The metrics on special values and formats, and the verdict on careful and careless implementations."""

import numpy as np
import pytest

import handmade as hm
from stability import reference
from stability.metrics import Tolerance, bits_error, judge, relative_error, ulp_error

from adversarial import bce_targets, elements, rows


def _ref_sigmoid(values, dtype):
    return reference.evaluate("sigmoid", np.array(values, dtype=dtype))


def test_ulp_error_at_zero_and_subnormals():
    # sigmoid(-745) in float64 is below half the smallest subnormal: 0; one subnormal step away is 1 ULP
    r = _ref_sigmoid([-746.0, -740.0], np.float64)
    assert r.value[0, 0] == 0.0
    got = r.value[:, 0].copy()
    got[0] = 5e-324
    err = ulp_error(got[:, None], r)
    assert err[0, 0] == pytest.approx(1.0, abs=0.5)  # spacing near 0 is the subnormal spacing
    assert err[1, 0] <= 0.5


def test_a_declared_flush_is_judged_in_the_format_without_subnormals():
    # sigmoid(-89) in float32 is 2.2e-39, subnormal: 0 is 1.6e6 ULPs off with subnormals, 0.19 of the smallest
    # normal without them; above the normal range the flush changes nothing
    r = _ref_sigmoid([-89.0, -80.0], np.float32)
    got = r.value[:, 0].astype(np.float64).copy()
    got[0] = 0.0
    strict, flushed = ulp_error(got[:, None], r), ulp_error(got[:, None], r, flush=True)
    assert strict[0, 0] > 1e6 and flushed[0, 0] == pytest.approx(2.227364e-39 / 2.0 ** -126, rel=1e-4)
    assert strict[1, 0] == flushed[1, 0] <= 0.5
    assert not judge(got[:, None], r).ok and judge(got[:, None], r, flush=True).ok
    wrong = got.copy()
    wrong[1] = 0.0  # sigmoid(-80) = 1.8e-35 is a normal number: flushing it is an error either way
    assert not judge(wrong[:, None], r, flush=True).ok


def test_ulp_error_is_measured_at_the_exact_value():
    r = reference.evaluate("softmax", np.array([[0.0, 0.0, 0.0]], dtype=np.float32))
    err = ulp_error(r.value, r)
    assert 0 < err.max() <= 0.5  # 1/3 is not representable: the rounded value is 0 < e <= 1/2 ULP away
    above = r.value > r.exact_hi + r.exact_lo
    up = np.nextafter(r.value.astype(np.float32), np.float32(1)).astype(np.float64)
    assert np.all(np.abs(ulp_error(up, r) - np.where(above, 1 + err, 1 - err)) < 1e-6)


def test_special_values_must_match_exactly():
    r = _ref_sigmoid([np.inf, -np.inf, np.nan, 1.0], np.float64)
    same = r.value[:, 0]
    assert np.all(ulp_error(same[:, None], r)[:3] == 0)
    for i, wrong in [(0, np.nan), (0, np.inf), (1, -np.inf), (2, 0.5), (3, np.nan), (3, np.inf)]:
        g = same.copy()
        g[i] = wrong
        assert np.isinf(ulp_error(g[:, None], r)[i, 0])
        assert np.isinf(relative_error(g[:, None], r)[i, 0])
    g = same.copy()
    g[1] = 1e-300  # sigmoid(-inf) = 0 exactly: a tiny number is finite but ~2e23 subnormal spacings away
    assert ulp_error(g[:, None], r)[1, 0] > 1e23


def test_float16_ulps_and_bits():
    r = reference.evaluate("sigmoid", np.array([0.3, 2.0, -9.0], dtype=np.float16))
    v = r.value[:, 0].astype(np.float16)
    bumped = v.copy()
    for _ in range(3):
        bumped = np.nextafter(bumped, np.float16(np.inf))
    err = ulp_error(bumped.astype(np.float64)[:, None], r)
    assert np.all((err > 2.5) & (err <= 3.5))
    bits = bits_error(bumped.astype(np.float64)[:, None], r)
    np.testing.assert_allclose(bits[:, 0], np.log2(4))
    assert np.all(bits_error(r.value, r) == 0)


def test_tolerance_validates_and_grows_with_n_and_kappa():
    with pytest.raises(ValueError, match="a0 must be a finite number"):
        Tolerance(a0=-1)
    t = Tolerance()
    assert t.allowance(1024, 0) == t.a0 + 10 * t.a1
    assert t.allowance(1, 100.0) == t.a0 + 100 * t.b


# --- the verdict: careful implementations pass everywhere, careless ones fail where they should ------------

CAREFUL = [
    ("softmax", hm.softmax_shifted),
    ("log_softmax", hm.log_softmax_log1p),
    ("logsumexp", hm.logsumexp_log1p),
    ("sigmoid", hm.sigmoid_stable),
    ("log_sigmoid", hm.log_sigmoid_stable),
    ("binary_cross_entropy_with_logits", hm.bce_stable),
]


def _run(function, fn, dtype, seed):
    rng = np.random.default_rng(seed)
    if function in ("sigmoid", "log_sigmoid"):
        args = (elements(dtype, rng),)
    elif function.startswith("binary"):
        x = elements(dtype, rng)
        args = (x, bce_targets(x, rng))
    else:
        args = (rows(dtype, rng, n=int(rng.integers(2, 40))),)
    ref = reference.evaluate(function, *args)
    with np.errstate(all="ignore"):
        got = fn(*args)
    return judge(got, ref)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("function,fn", CAREFUL, ids=[c[0] for c in CAREFUL])
def test_careful_implementations_pass(function, fn, dtype):
    for seed in range(3):
        j = _run(function, fn, dtype, seed)
        assert j.ok, (seed, j.max_ulp, j.max_ratio)


CARELESS = [
    ("softmax", hm.softmax_naive, [np.float16, np.float32, np.float64]),
    ("log_softmax", hm.log_softmax_of_softmax, [np.float16, np.float32, np.float64]),
    ("log_sigmoid", hm.log_sigmoid_naive, [np.float16, np.float32, np.float64]),
    ("binary_cross_entropy_with_logits", hm.bce_naive, [np.float16, np.float32, np.float64]),
    ("softmax", hm.softmax_half_accumulation, [np.float32, np.float64]),
    ("logsumexp", hm.logsumexp_shifted, [np.float16, np.float32, np.float64]),
]


@pytest.mark.parametrize("function,fn,dtypes", CARELESS, ids=[c[1].__name__ for c in CARELESS])
def test_classic_mistakes_fail(function, fn, dtypes):
    for dtype in dtypes:
        j = _run(function, fn, dtype, 0)
        assert not j.ok, (fn.__name__, dtype)
        assert j.max_ratio > 10  # not a near miss: far outside the allowance


def test_a_nan_that_disappears_fails():
    x = np.array([[1.0, np.nan, 2.0], [1.0, 2.0, 3.0]], dtype=np.float32)
    ref = reference.evaluate("softmax", x)
    j = judge(hm.softmax_nan_vanishes(x), ref)
    assert not j.passed[0].all() and j.passed[1].all()


def test_ill_conditioning_is_not_blamed_on_the_algorithm():
    """lse of [-ln 2, -ln 2] is ~1e-17: any careful algorithm's absolute error is huge in ULPs there."""
    x = np.array([[-np.log(2), -np.log(2)]])
    ref = reference.evaluate("logsumexp", x)
    j = judge(hm.logsumexp_log1p(x), ref)
    assert j.max_ulp > 1e3 and j.ok


def test_policy_alternatives_are_accepted_row_by_row():
    x = np.array([[-np.inf, -np.inf], [np.inf, 1.0]])
    ref = reference.evaluate("softmax", x)
    assert judge(np.array([[0.0, 0.0], [1.0, 0.0]]), ref).ok  # all zeros; the limit
    assert judge(np.array([[np.nan, np.nan], [np.nan, np.nan]]), ref).ok  # the primary
    assert judge(np.array([[0.0, 0.0], [np.nan, np.nan]]), ref).ok  # one row its alternative, one its primary
    assert judge(np.array([[np.nan, np.nan], [np.nan, 0.0]]), ref).ok  # NaN at +inf, 0 at the finite: pointwise
    assert not judge(np.array([[np.nan, np.nan], [0.0, np.nan]]), ref).ok  # the reverse: no answer
    assert not judge(np.array([[0.5, np.nan], [1.0, 0.0]]), ref).ok  # 0.5 is no accepted answer
    assert not judge(np.array([[0.0, 0.0], [1.0, 1e-30]]), ref).ok


@pytest.mark.parametrize("function,x,g,got,ok", [
    ("softmax", [1.0, np.inf, 2.0], None, [np.nan, np.nan, np.nan], True),  # the policy's NaN row
    ("softmax", [1.0, np.inf, 2.0], None, [0.0, 1.0, 0.0], True),  # its limit
    # pointwise: the value at each finite entry, NaN at each +inf (what exp(x - lse) gives), forward and gradient
    ("softmax", [1.0, np.inf, 2.0], None, [0.0, np.nan, 0.0], True),
    ("softmax", [1.0, np.inf, 2.0], None, [0.0, 1.0, np.nan], False),  # a mix of limit and NaN: neither
    ("softmax", [1.0, np.inf, 2.0], None, [np.nan, np.nan, 0.0], False),  # NaN at a finite entry
    ("softmax", [1.0, np.inf, 2.0], None, [1e-30, np.nan, 0.0], False),  # a wrong number at a finite entry
    ("softmax", [np.inf, 1.0, np.inf], None, [np.nan, 0.0, np.nan], True),  # several +inf: pointwise only
    ("softmax", [np.inf, 1.0, np.inf], None, [1.0, 0.0, 0.0], False),  # no limit with two +inf
    ("softmax", [np.inf, 1.0, np.inf], None, [0.5, 0.0, 0.5], False),
    ("log_softmax", [1.0, np.inf, 2.0], None, [-np.inf, np.nan, -np.inf], True),
    ("log_softmax", [1.0, np.inf, 2.0], None, [-np.inf, 0.0, -np.inf], True),
    ("log_softmax", [1.0, np.inf, 2.0], None, [-np.inf, 0.0, np.nan], False),
    ("logsumexp_vjp", [1.0, np.inf, 2.0], 3.0, [0.0, np.nan, 0.0], True),  # JAX's and PyTorch's answer
    ("logsumexp_vjp", [1.0, np.inf, 2.0], 3.0, [0.0, 3.0, 0.0], True),  # the limit
    ("logsumexp_vjp", [1.0, np.inf, 2.0], 3.0, [np.nan, 3.0, 0.0], False),
    ("softmax_vjp", [1.0, np.inf, 2.0], [1.0, 2.0, 3.0], [0.0, np.nan, 0.0], True),
    ("softmax_vjp", [1.0, np.inf, 2.0], [1.0, 2.0, 3.0], [0.5, np.nan, 0.0], False),
    ("log_softmax_vjp", [1.0, np.inf, 2.0], [1.0, 2.0, 3.0], [1.0, np.nan, 3.0], True),
    ("log_softmax_vjp", [1.0, np.inf, 2.0], [1.0, 2.0, 3.0], [1.0, -4.0, 3.0], True),  # the limit
    ("log_softmax_vjp", [1.0, np.inf, 2.0], [1.0, 2.0, 3.0], [0.0, np.nan, 0.0], False),
    ("softmax_vjp", [1.0, np.inf, 2.0], [1.0, np.inf, 3.0], [0.0, np.nan, 0.0], False),  # infinite g: no pointwise
    ("softmax", [-np.inf, -np.inf], None, [0.0, np.nan], False),  # all -inf: NaN row or zeros, not a mix
    ("softmax_vjp", [0.0, 0.0], [0.0, np.inf], [-np.inf, np.nan], True),  # an infinite g: any non-finite row
    ("softmax_vjp", [0.0, 0.0], [0.0, np.inf], [0.0, np.nan], False),  # but not a finite number beside it
])
def test_rows_with_several_accepted_answers_are_judged_whole(function, x, g, got, ok):
    from stability import reference
    from stability.metrics import judge

    args = (np.array([x]),) if g is None else (np.array([x]), np.array([g]))
    ref = reference.evaluate(function, *args)
    assert bool(judge(np.array([got]), ref).passed.all()) is ok
