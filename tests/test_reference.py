"""The reference: closed forms, published values, the policy, and the fast path against mpmath bit for bit."""

import zlib

import mpmath
import numpy as np
import pytest

from stability import policy, reference
from stability.metrics import ulp_at
from stability.formats import FORMATS, available_dtypes, round_mpf
from stability.formats import round_float64 as round_float64_f

from adversarial import bce_targets, elements, rows

DTYPES = available_dtypes()
AXIS = ["softmax", "log_softmax", "logsumexp"]


def _dt(name):
    return FORMATS[name].dtype


def _same(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


# --- the certified fast path agrees with mpmath's Ziv loop, bit for bit ----------------------------------


def _fast_matches_mpmath(function, dtype, seed):
    X = rows(_dt(dtype), np.random.default_rng(seed))
    fast = reference.evaluate(function, X)
    slow = reference.evaluate(function, X, method="mpmath")
    assert _same(fast.value, slow.value), np.argwhere(fast.value != slow.value)[:5]
    assert "mpmath" not in slow.settled_by or slow.settled_by["mpmath"] > 0
    # the exact values agree far below one ULP of the output, so the metrics' errors agree too
    exact_fast, exact_slow = fast.exact_hi + fast.exact_lo, slow.exact_hi + slow.exact_lo
    fin = np.isfinite(exact_slow)
    ulp = ulp_at(slow.exact_hi, slow.exact_lo, slow.fmt)
    assert np.all(np.abs(exact_fast[fin] - exact_slow[fin]) <= 2.0**-12 * ulp[fin])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("function", AXIS)
def test_fast_path_matches_mpmath_on_adversarial_rows(function, dtype):
    _fast_matches_mpmath(function, dtype, zlib.crc32(f"{function}/{dtype}".encode()))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("function", AXIS)
def test_fast_path_matches_mpmath_on_adversarial_rows_many_seeds(function, dtype):
    for seed in range(40):
        _fast_matches_mpmath(function, dtype, seed)


def test_a_cancelling_logsumexp_ball_is_not_taken_as_exact():
    # Regression: lse of this float32 row is -9.36e-7 = -1.79 + log1p(...); the float64 ball certified the
    # rounding but its midpoint was 1.2e-10 off relative (0.002 ULP in the metrics). The test above, seeded by
    # Python's per-process hash, found it once in CI.
    x = np.array([[-1.7925270795822144, -1.7903366088867188, -1.792253017425537, -1.7933807373046875,
                   -1.790781021118164, -1.7912873029708862]], dtype=np.float32)
    fast = reference.evaluate("logsumexp", x)
    assert fast.settled_by.get("float64-balls", 0) == 0, fast.settled_by
    with mpmath.workprec(200):
        exact = mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(float(v))) for v in x[0]))
        got = mpmath.mpf(float(fast.exact_hi.ravel()[0])) + mpmath.mpf(float(fast.exact_lo.ravel()[0]))
        assert abs(got - exact) <= 2.0**-12 * 2.0**-44  # 2^-44: float32's ULP at 9.4e-7


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("function", ["sigmoid", "log_sigmoid", "binary_cross_entropy_with_logits"])
def test_fast_path_matches_mpmath_on_adversarial_elements(function, dtype):
    rng = np.random.default_rng(7)
    x = elements(_dt(dtype), rng)
    args = (x, bce_targets(x, rng)) if function.startswith("binary") else (x,)
    fast = reference.evaluate(function, *args)
    slow = reference.evaluate(function, *args, method="mpmath")
    assert _same(fast.value, slow.value), x[np.flatnonzero(fast.value != slow.value)][:5]


@pytest.mark.parametrize("dtype", DTYPES)
def test_fast_path_matches_mpmath_cross_entropy(dtype):
    rng = np.random.default_rng(11)
    X = rows(_dt(dtype), rng)
    targets = np.where(rng.uniform(size=len(X)) < 0.5, np.argmin(X, axis=1), np.argmax(X, axis=1))
    fast = reference.evaluate("cross_entropy", X, targets)
    slow = reference.evaluate("cross_entropy", X, targets, method="mpmath")
    assert _same(fast.value, slow.value)


def test_fast_path_hands_hard_cases_to_mpmath():
    """lse ~ 0 in float64 cannot be certified in double-double: the Ziv loop must take it."""
    r = reference.evaluate("logsumexp", np.array([[-np.log(2), -np.log(2)]]))
    assert r.settled_by.get("mpmath") == 1 and not r.settled_by.get("double-double-balls")
    with mpmath.workprec(400):
        exact = mpmath.mpf(-np.log(2)) + mpmath.log(2)
    assert r.value[0, 0] == round_mpf(exact, FORMATS["float64"])


# --- closed forms and published values ------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 2, 3, 7, 10, 1000])
def test_uniform_rows_give_one_over_n_correctly_rounded(n, dtype):
    x = np.full((2, n), 0.75, dtype=_dt(dtype))
    fmt = FORMATS[dtype]
    s = reference.softmax(x)
    with mpmath.workprec(200):
        expect = round_mpf(mpmath.mpf(1) / n, fmt)
        lse = round_mpf(mpmath.mpf(0.75) + mpmath.log(n), fmt)
        ls = round_mpf(-mpmath.log(n), fmt)
    assert np.all(s.astype(np.float64) == expect) and s.dtype == x.dtype
    assert np.all(reference.logsumexp(x).astype(np.float64) == lse)
    assert np.all(reference.log_softmax(x).astype(np.float64) == ls)


@pytest.mark.parametrize("dtype", DTYPES)
def test_single_element_rows_are_exact(dtype):
    x = np.array([[3.5], [-1e-3], [0.0]], dtype=_dt(dtype))
    assert np.all(reference.softmax(x) == 1)
    assert np.all(reference.log_softmax(x) == 0)
    assert np.all(reference.logsumexp(x) == x[:, 0])
    assert np.all(reference.cross_entropy(x, np.zeros(3, dtype=int)) == 0)


def test_published_logsumexp_value():
    """SciPy's documentation: logsumexp(np.arange(10)) = 9.4586297444267107."""
    got = reference.logsumexp(np.arange(10, dtype=np.float64))
    with mpmath.workprec(200):
        exact = mpmath.log(mpmath.fsum(mpmath.exp(k) for k in range(10)))
    assert got == round_mpf(exact, FORMATS["float64"])
    assert abs(got - 9.4586297444267107) <= np.spacing(9.4586297444267107)


def test_log_softmax_dominant_entry_needs_no_cancellation():
    """At the dominant entry log_softmax = -log1p(sum others): tiny but exact, not x_k - lse = 0."""
    x = np.array([0.0, -800.0, -700.0])
    got = reference.log_softmax(x)
    with mpmath.workprec(100):
        expect = -mpmath.log1p(mpmath.exp(-800) + mpmath.exp(-700))
    assert got[0] == round_mpf(expect, FORMATS["float64"]) and got[0] < 0


def test_log1p_regimes_of_logsumexp():
    for gap in (1e-10, 1.0, 30.0, 60.0, 745.0):
        got = reference.logsumexp(np.array([1.0, 1.0 - gap]))
        with mpmath.workprec(200):
            expect = 1 + mpmath.log1p(mpmath.exp(-mpmath.mpf(gap)))
        assert got == round_mpf(expect, FORMATS["float64"])


def test_sigmoid_closed_forms():
    assert reference.sigmoid(np.array([0.0]))[0] == 0.5
    x = np.array([-745.0, -740.0, 40.0], dtype=np.float64)
    got = reference.sigmoid(x)
    with mpmath.workprec(200):
        expect = [round_mpf(1 / (1 + mpmath.exp(-mpmath.mpf(v))), FORMATS["float64"]) for v in x]
    assert list(got) == expect and 0 < got[1] < 2.3e-308  # a subnormal, correctly rounded


# --- condition numbers --------------------------------------------------------------------------------


def _mp_kappa_softmax(x, i):
    with mpmath.workprec(300):
        xs = [mpmath.mpf(v) for v in x]
        m = max(xs)
        e = [mpmath.exp(v - m) for v in xs]
        s = [v / mpmath.fsum(e) for v in e]
        return mpmath.fsum(abs((1 if j == i else 0) - s[j]) * abs(xs[j]) for j in range(len(xs)))


def test_softmax_kappa_at_a_dominant_entry_is_not_lost_to_rounding():
    x = np.array([[50.0, 0.0, -3.0]])
    r = reference.evaluate("softmax", x)
    for i in range(3):
        exact = float(_mp_kappa_softmax(x[0], i))
        assert r.kappa[0, i] == pytest.approx(exact, rel=1e-10)
    assert r.kappa[0, 0] > 50 * 1e-22  # 1 - s_0 ~ 2e-22, not 0


def test_logsumexp_kappa_is_huge_near_zero():
    r = reference.evaluate("logsumexp", np.array([[-np.log(2), -np.log(2)]]))
    assert r.kappa[0, 0] > 1e15


def test_elementwise_kappas():
    x = np.array([-30.0, -1.0, 0.5, 30.0])
    r = reference.evaluate("log_sigmoid", x)
    with mpmath.workprec(200):
        for i, v in enumerate(x):
            v = mpmath.mpf(v)
            f = lambda t: mpmath.log(1 / (1 + mpmath.exp(-t)))  # noqa: E731
            expect = abs(v * mpmath.diff(f, v) / f(v))
            assert r.kappa[i, 0] == pytest.approx(float(expect), rel=1e-8)


# --- the special-value policy, case by case -----------------------------------------------------------

_CASE_ROWS = {
    "nan": [1.0, np.nan, 2.0],
    "posinf": [1.0, np.inf, 2.0],
    "all_neginf": [-np.inf, -np.inf, -np.inf],
    "some_neginf": [1.0, -np.inf, 2.0],
    "single": [1.5],
    "target_neginf": [-np.inf, 1.0, 2.0],
}


@pytest.mark.parametrize("case", [c for c in policy.POLICY if c.function in ("softmax", "log_softmax", "logsumexp", "cross_entropy")], ids=lambda c: f"{c.function}-{c.case}")  # noqa: E501
def test_axis_policy_case(case):
    if case.case == "empty":
        x = np.zeros((2, 0))
        r = reference.evaluate(case.function, x)
        assert r.output().shape == ((2,) if case.function == "logsumexp" else (2, 0))
        if case.function == "logsumexp":
            assert np.all(r.output() == -np.inf)
        return
    row = np.array([_CASE_ROWS[case.case]])
    tgt = np.array([0])
    args = (row, tgt) if case.function == "cross_entropy" else (row,)
    r = reference.evaluate(case.function, *args)
    assert list(r.case) == [case.case]
    if case.primary == "computed":
        finite = np.isfinite(row[0])
        clean = row[:, finite]
        if case.function == "cross_entropy":
            assert r.value[0, 0] == reference.cross_entropy(clean, np.array([0]))[0]
        elif case.function == "logsumexp":
            assert r.value[0, 0] == reference.logsumexp(clean)[0]
        else:
            assert _same(r.value[0, finite], reference.evaluate(case.function, clean).value[0])
            assert np.all(r.value[0, ~finite] == (0.0 if case.function == "softmax" else -np.inf))
        return
    expect = policy.rule_values(case.primary, case.function, row[0], 0, out_len=r.value.shape[1])
    assert _same(r.value[0], expect)
    for alt in case.also:
        alt_values = policy.rule_values(alt, case.function, row[0], 0, out_len=r.value.shape[1])
        assert any(_same(a, alt_values) for a in r.alternatives[0])


@pytest.mark.parametrize("function,x,y,expect", [
    ("sigmoid", np.inf, None, 1.0), ("sigmoid", -np.inf, None, 0.0), ("sigmoid", np.nan, None, np.nan),
    ("log_sigmoid", np.inf, None, 0.0), ("log_sigmoid", -np.inf, None, -np.inf), ("log_sigmoid", np.nan, None, np.nan),
    ("binary_cross_entropy_with_logits", np.inf, 1.0, 0.0), ("binary_cross_entropy_with_logits", np.inf, 0.5, np.inf),
    ("binary_cross_entropy_with_logits", -np.inf, 0.0, 0.0), ("binary_cross_entropy_with_logits", -np.inf, 1.0, np.inf),
    ("binary_cross_entropy_with_logits", 1.0, np.nan, np.nan), ("binary_cross_entropy_with_logits", np.nan, 1.0, np.nan),
])
def test_elementwise_policy_case(function, x, y, expect):
    args = (np.array([x]),) if y is None else (np.array([x]), np.array([y]))
    assert _same(reference.evaluate(function, *args).value[:, 0], [expect])


def test_every_policy_case_has_a_test():
    tested = set(_CASE_ROWS) | {"empty"}
    for c in policy.POLICY:
        assert c.case in tested | {"neginf", "posinf", "nan", "g_nonfinite", "ties", "finite", "domain",
                                   "boundary"}, c  # the gradient cases: tests/test_gradients.py
        assert c.primary in policy.RULES and all(a in policy.RULES for a in c.also)


# --- bad input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("call,match", [
    (lambda: reference.softmax(np.zeros(3, dtype=np.int64)), "unsupported dtype"),
    (lambda: reference.softmax(np.zeros(3), axis=2), "axis 2 is out of range"),
    (lambda: reference.binary_cross_entropy_with_logits(np.zeros(3), np.array([0.0, 2.0, 1.0])), r"lie in \[0, 1\]"),
    (lambda: reference.binary_cross_entropy_with_logits(np.zeros(3), np.zeros(2)), "logits' shape"),
    (lambda: reference.cross_entropy(np.zeros((2, 3)), np.array([0, 3])), r"lie in \[0, 3\)"),
    (lambda: reference.cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0])), "integer class indices"),
    (lambda: reference.evaluate("softmaks", np.zeros(3)), "unknown function"),
])
def test_bad_input_is_a_clear_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_axes_and_shapes_round_trip():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 4, 5)).astype(np.float32)
    for ax in range(3):
        s = reference.softmax(x, axis=ax)
        assert s.shape == x.shape and s.dtype == np.float32
        np.testing.assert_allclose(s.sum(axis=ax), 1, rtol=1e-6)
        assert reference.logsumexp(x, axis=ax).shape == tuple(d for i, d in enumerate(x.shape) if i != ax)


@pytest.mark.parametrize("function", ["sigmoid", "logit", "binary_cross_entropy_with_logits", "softplus_vjp"])
def test_special_inputs_answered_by_group_are_answered_as_one_by_one(function):
    """The policy's rules run once per distinct special input (every NaN payload alike, -0.0 and 0.0 apart): the
    answers, exact values and alternatives are those of each element evaluated alone."""
    nan_payloads = np.array([0x7FC00000, 0x7FC00001, 0xFFC12345, 0x7F800001], dtype=np.uint32).view(np.float32)
    x = np.concatenate([nan_payloads, np.float32([np.inf, -np.inf, 0.0, -0.0, 1.0, 2.0, -3.5, np.inf])])
    if function == "logit":
        x = np.concatenate([x, np.float32([0.25, 1.5, -0.0, 0.0])])
    rest = []
    if function.startswith("binary"):
        rest.append(np.resize(np.float32([0.0, 1.0, np.nan, 0.5]), x.shape))
    if function.endswith("_vjp"):
        rest.append(np.resize(np.float32([1.0, np.inf, -np.inf, np.nan, -0.3]), x.shape))
    whole = reference.evaluate(function, x, *rest)
    for i in range(x.size):
        alone = reference.evaluate(function, x[i:i + 1], *(r[i:i + 1] for r in rest))
        for name in ("value", "exact_hi", "exact_lo"):
            np.testing.assert_array_equal(getattr(whole, name)[i], getattr(alone, name)[0], err_msg=f"{name} at {i}")
        assert whole.case[i] == alone.case[0]
        got, want = whole.alternatives.get(i, []), alone.alternatives.get(0, [])
        assert len(got) == len(want) and all(np.array_equal(a, b, equal_nan=True) for a, b in zip(got, want)), i


@pytest.mark.parametrize("fmt_name", ["float64", "float32", "float16", "bfloat16"])
def test_a_certified_rounding_holds_at_both_ends_of_the_ball(fmt_name):
    """The cheap test (``_certify._near``) and the outward bounds behind it: wherever a ball is
    certified, both of its ends, summed exactly in mpmath, round to the answer given.  The balls sit on and
    around the format's rounding boundaries (midpoints, powers of two, the subnormals, the largest finite),
    where a wrong gap or a lost bit would show."""
    from stability.reference._certify import certify

    fmt = FORMATS[fmt_name]
    rng = np.random.default_rng(zlib.crc32(fmt_name.encode()))
    n = 4000
    grid = np.concatenate([np.ldexp(1.0, rng.integers(fmt.emin - fmt.p, fmt.emax + 1, n)),  # powers of two
                           round_float64_f(rng.standard_normal(n) * 10.0 ** rng.integers(-5, 5, n), fmt),
                           [fmt.max, fmt.tiny, fmt.smallest_subnormal, 0.0]])
    grid = grid * rng.choice([-1.0, 1.0], grid.size)
    spacing = ulp_at(grid, 0.0, fmt)
    step = rng.choice([-0.5, 0.5, -0.25, 0.25, 0.0], grid.size)  # a midpoint below or above, or inside
    nudge = rng.integers(-3, 4, grid.size)
    with np.errstate(over="ignore"):
        if fmt_name == "float64":  # a float64 midpoint is not a float64: it lies in lo, nudged in lo's bits
            hi = grid
            lo = step * spacing + nudge * np.spacing(0.5 * spacing)
        else:
            hi = grid + step * spacing + nudge * np.spacing(np.abs(grid) + spacing)
            lo = rng.choice([0.0, 1.0], grid.size) * np.spacing(hi) * rng.uniform(-0.5, 0.5, grid.size)
    # radii from nothing to past what certifies (2^-12 of the format's spacing), relative to its precision
    rad = np.abs(hi) * rng.choice([0.0, 2.0**-30, 2.0**-22, 2.0**-6], grid.size) * 2.0 ** -fmt.p
    rounded, ok = certify(hi, lo, rad, fmt)
    assert grid.size // 3 < ok.sum() < grid.size  # many balls are certified, not all: the test tests something
    with mpmath.workprec(2400):  # sums of three float64: exact at this precision
        for i in np.flatnonzero(ok):
            for end in (mpmath.mpf(hi[i]) + mpmath.mpf(lo[i]) - mpmath.mpf(rad[i]),
                        mpmath.mpf(hi[i]) + mpmath.mpf(lo[i]) + mpmath.mpf(rad[i])):
                assert round_mpf(end, fmt) == rounded[i], (hi[i], lo[i], rad[i], rounded[i])


def test_an_exact_float64_zero_is_certified_by_the_balls_not_sent_to_mpmath():
    # regression: the cheap test compared with half and 2^-12 of float64's smallest subnormal, both 0 in float64,
    # so no exact zero of a float64 output could pass: every softmax gradient with a constant cotangent (its exact
    # answer 0) went row by row to mpmath, a third of the reference's time in the gradients' tests
    from stability.reference._certify import certify

    rounded, ok = certify(np.zeros(3), np.zeros(3), np.array([0.0, 2.0**-1074, 1e-300]), FORMATS["float64"])
    assert ok.tolist() == [True, False, False] and rounded[0] == 0
    x = np.array([0.3, -1.2, 2.5, 0.7])
    r = reference.evaluate("softmax_vjp", x, np.ones(4), axis=0)
    assert r.value.tolist() == [[0.0] * 4] and "mpmath" not in r.settled_by, r.settled_by
    # a midpoint of a narrower format is no exact answer of the balls: still the next tier's
    half = float(FORMATS["float32"].smallest_subnormal) / 2
    assert not certify(np.array([half]), np.zeros(1), np.zeros(1), FORMATS["float32"])[1][0]


def test_a_neglected_exp_scaled_by_a_huge_cotangent_is_not_an_exact_zero():
    # regression: double-double's exp returns 0 below -1100 (e^x < 2^-1586) with radius 0, which read as an exact
    # zero once the cheap test could accept one: logsumexp's gradient at [0, 1101] with g = -1.4e306 came out 0
    # where g e^-1101 = -9.76e-173 belongs (found by the default report, logsumexp_vjp.softmax in float64)
    x, g = np.array([0.0, 1101.0]), np.array(-1.4044477616111841e306)
    fast = reference.evaluate("logsumexp_vjp", x, g, axis=0)
    slow = reference.evaluate("logsumexp_vjp", x, g, axis=0, method="mpmath")
    assert _same(fast.value, slow.value) and fast.value[0, 0] == pytest.approx(-9.75620719e-173, rel=1e-8)


def test_the_exact_tier_claims_exactness_only_where_the_rational_result_is_its_value():
    """``ExactF64Backend``: a zero radius means the float64 value is the exact result (checked in rationals) for
    sums, differences, products and quotients of operands with short significands (often exact), full ones (rarely),
    subnormals and huge numbers; and it does claim the exact ones (the test tests something)."""
    from fractions import Fraction

    from stability.reference._balls import ExactF64Backend

    B = ExactF64Backend()
    rng = np.random.default_rng(5)
    n = 3000
    ea = rng.integers(-1080, 1000, n)  # b's exponent near a's, or anywhere
    eb = np.where(rng.uniform(size=n) < 0.7, ea + rng.integers(-4, 5, n), rng.integers(-1080, 1000, n))
    a, b = (np.where(rng.uniform(size=n) < 0.7, rng.integers(-64, 65, n) * np.ldexp(1.0, e),  # 7-bit significands
                     rng.standard_normal(n) * np.ldexp(1.0, e)) for e in (ea, eb))
    exact = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
             "div": lambda x, y: x / y}
    for op, f in exact.items():
        with np.errstate(all="ignore"):
            m, rad = getattr(B, op)(B.exact(a), B.exact(b))
        claimed = np.flatnonzero(rad == 0)
        assert claimed.size > n // 10, op
        for i in claimed:
            assert Fraction(float(m[i])) == f(Fraction(float(a[i])), Fraction(float(b[i]))), (op, a[i], b[i], m[i])
    # inexact operands stay inexact whatever the operation
    with np.errstate(all="ignore"):
        assert np.isinf(B.mul(B.exact(a), (b, np.full(n, np.inf)))[1]).all()
    rows = np.where(rng.uniform(size=(40, 33)) < 0.5, rng.integers(-9, 10, (40, 33)) * 2.0**-3,
                    rng.standard_normal((40, 33)))
    rows[:20] = np.round(rows[:20] * 8) / 8  # exact sums
    m, rad = B.ssum(B.exact(rows))
    assert (rad[:20] == 0).all()
    for r in np.flatnonzero(rad == 0):
        assert Fraction(float(m[r])) == sum(map(Fraction, rows[r].tolist()), Fraction(0))


def test_an_exact_answer_on_a_midpoint_is_settled_without_mpmath_and_as_mpmath_settles_it():
    # a flat row of 2^k entries: softmax 2^-k exactly; k = 10 is the midpoint between 0 and float8_e4m3fn's
    # smallest subnormal 2^-9 (ties to even: 0), k = 17 float8_e5m2's; no ball of positive radius settles them
    for fmt, k in (("float8_e4m3fn", 10), ("float8_e5m2", 17)):
        if fmt not in FORMATS:
            continue
        x = np.zeros(2**k, dtype=np.float32)
        fast = reference.evaluate("softmax", x, axis=0, out=FORMATS[fmt], with_kappa=False)
        assert fast.settled_by.get("float64-exact") == 2**k and "mpmath" not in fast.settled_by, fast.settled_by
        assert (fast.value == 0).all()
        if k == 10:
            slow = reference.evaluate("softmax", x, axis=0, out=FORMATS[fmt], with_kappa=False, method="mpmath")
            assert _same(fast.value, slow.value)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 128, 1000, 4097])
def test_the_float64_balls_pairwise_sums_hold_the_exact_sum(n):
    """The float64 balls sum rows pairwise in a fixed order and claim levels(n) roundings, not n: every ball holds
    the exact sum (in rational arithmetic), on rows of mixed signs, of non-negative terms, of terms spread over
    600 binades, and of terms that cancel to 1e-12."""
    from fractions import Fraction

    from stability.reference._balls import F64Backend

    B = F64Backend()
    rng = np.random.default_rng(n)
    rows = [rng.standard_normal((20, n)), np.abs(rng.standard_normal((20, n))),
            rng.standard_normal((20, n)) * 10.0 ** rng.integers(-300, 300, (20, n))]
    cancel = rng.standard_normal((20, n))
    cancel[:, -1] = -(cancel[:, :-1].sum(axis=1)) + rng.standard_normal(20) * 1e-12  # sums of about 1e-12
    rows.append(cancel)
    for k, X in enumerate(rows):
        mid, rad = (B.sum if k == 1 else B.ssum)(B.exact(X))
        for r in range(X.shape[0]):
            exact = sum(map(Fraction, X[r].tolist()), Fraction(0))
            err = abs(Fraction(float(mid[r])) - exact)
            assert err <= Fraction(float(rad[r])), (n, k, r, float(mid[r]), float(exact), float(rad[r]))


def test_a_check_of_a_second_implementation_recalls_the_references_of_the_first(monkeypatch):
    """Every implementation checked on one seed meets the same drawn inputs: their references are settled once
    (``reference._memo``), and a recalled reference is the one its call would give -- an argument buffer changed
    in place after a call is a new call, not a hit."""
    from stability import registry
    from stability.call import run_call
    from stability.reference import _memo
    from stability.verify import verify

    _memo.forget()
    settled = []
    real = reference.evaluate
    monkeypatch.setattr(reference, "evaluate", lambda *a, **k: settled.append(1) or real(*a, **k))
    first = verify(registry.resolve("softmax.shifted"), "float32", examples=5, seed=3, families=["standard", "ties"])
    n = len(settled)
    assert n >= 5  # (Hypothesis may draw an input twice: recalled too)
    second = verify(registry.resolve("softmax.log1p"), "float32", examples=5, seed=3, families=["standard", "ties"])
    assert len(settled) == n and first.examples == second.examples  # every reference recalled
    x = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    impl = registry.resolve("softmax.shifted")
    a = run_call(impl, (x,), {"axis": 0})
    x[0] = -50.0  # the same buffer, other values
    b = run_call(impl, (x,), {"axis": 0})
    assert a.ok and b.ok and not np.array_equal(a.reference.value, b.reference.value)
    np.testing.assert_array_equal(b.reference.value[0], reference.softmax(x.copy(), axis=0).astype(np.float64))
