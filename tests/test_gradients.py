"""Gradients (VJPs), max and argmax, logit and softplus: the reference, the policy, the verdict, the adapter.

The planted backward defects (``tests/test_detection.py``, ``GRADIENT_MISTAKES``) are each caught by a default
verify in float32 and float64 (3 seeds; 20 of 20 with ``pytest -m slow``); the careful versions pass there too.
"""

import mpmath
import numpy as np
import pytest

import handmade as hm
from stability import cli, policy, reference
from stability.errors import UsageError
from stability.formats import FORMATS, available_dtypes
from stability.registry import resolve
from stability.verify import run_call

from adversarial import rows
from test_detection import _impl

DTYPES = available_dtypes()


# --- the reference: exact values against an independent mpmath derivative --------------------------------

def _mp_softmax(row):
    e = [mpmath.exp(mpmath.mpf(float(v))) for v in row]
    S = mpmath.fsum(e)
    return [v / S for v in e]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_and_log_softmax_vjps_equal_the_chain_rule_in_mpmath(dtype):
    rng = np.random.default_rng(3)
    x = np.r_[0.0, -30.0, rng.normal(0, 3, 4)].astype(dtype)
    g = rng.normal(0, 1, x.size).astype(dtype)
    with mpmath.workprec(300):
        s = _mp_softmax(x)
        gs = mpmath.fsum(mpmath.mpf(float(a)) * b for a, b in zip(g, s))
        gsum = mpmath.fsum(mpmath.mpf(float(a)) for a in g)
        sm = [si * (mpmath.mpf(float(gi)) - gs) for si, gi in zip(s, g)]
        ls = [mpmath.mpf(float(gi)) - si * gsum for si, gi in zip(s, g)]
    fmt = FORMATS[dtype]
    from stability.formats import round_mpf

    assert np.array_equal(reference.evaluate("softmax_vjp", x, g).output(), [round_mpf(v, fmt) for v in sm])
    assert np.array_equal(reference.evaluate("log_softmax_vjp", x, g).output(), [round_mpf(v, fmt) for v in ls])


def test_cross_entropy_vjp_at_a_confident_target_is_minus_the_other_weights():
    x = np.array([[40.0, 0.0, -3.0]], dtype=np.float32)
    r = reference.evaluate("cross_entropy_vjp", x, np.array([0]), np.array([1.0], dtype=np.float32))
    with mpmath.workprec(200):
        s = _mp_softmax(x[0])
        expect = -(s[1] + s[2])  # never s_t - 1, which float32 rounds to 0
    assert r.output()[0, 0] == np.float32(float(expect)) and r.output()[0, 0] < 0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("function", ["softmax_vjp", "log_softmax_vjp", "logsumexp_vjp"])
def test_fast_path_matches_interval_only_evaluation_bit_for_bit(function, dtype):
    dt = FORMATS[dtype].dtype
    rng = np.random.default_rng(11)
    X = rows(dt, rng)
    X = X[np.isfinite(X.astype(np.float64)).all(axis=1)][:24]
    shape = X.shape if function != "logsumexp_vjp" else X.shape[:1]
    for g in (rng.normal(0, 1, shape), np.ones(shape), 1 + rng.integers(-3, 4, shape) * FORMATS[dtype].u):
        g = g.astype(dt)
        fast = reference.evaluate(function, X, g)
        slow = reference.evaluate(function, X, g, method="mpmath")
        a, b = fast.value, slow.value
        assert np.all((a == b) | (np.isnan(a) & np.isnan(b))), np.argwhere(a != b)[:5]


def test_a_subnormal_numerator_does_not_certify_a_wrong_double_double_quotient():
    # Regression: g / (p (1 - p)) with a subnormal g and a normal quotient; the double-double division's remainders
    # underflowed and its ball certified 2.897767802856643e-174 (1,433 ULP off). Found by the full test run.
    p, g = np.array([7.678578857539774e-138]), np.array([2.225073858507e-311])
    assert reference.evaluate("logit_vjp", p, g).value[0, 0] == 2.8977678028559998e-174


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("function", ["sigmoid_vjp", "log_sigmoid_vjp", "softplus_vjp", "logit_vjp",
                                      "binary_cross_entropy_with_logits_vjp"])
def test_elementwise_gradients_fast_path_matches_interval_only_evaluation(function, dtype):
    fmt = FORMATS[dtype]
    rng = np.random.default_rng(5)
    n = 48
    if function == "logit_vjp":
        x = np.r_[10.0 ** -rng.uniform(1, 300, n // 2), rng.uniform(0, 1, n // 2)]  # tiny p meets subnormal g
    else:
        x = rng.choice([-1, 1], n) * 10.0 ** rng.uniform(-3, 3, n)
    g = rng.choice([-1, 1], n) * np.r_[rng.integers(1, 1 << 20, n // 3) * fmt.smallest_subnormal,
                                       10.0 ** rng.uniform(-3, 3, n - 2 * (n // 3)),
                                       rng.uniform(0.5, 1, n // 3) * fmt.max / 64]
    x, g = x.astype(fmt.dtype), g.astype(fmt.dtype)
    args = (x, np.full_like(x, 0.25), g) if function.startswith("binary") else (x, g)
    fast = reference.evaluate(function, *args)
    slow = reference.evaluate(function, *args, method="mpmath")
    a, b = fast.value, slow.value
    assert np.all((a == b) | (np.isnan(a) & np.isnan(b))), (x[~((a == b) | np.isnan(a))[:, 0]][:3])


def test_a_tiny_term_lost_at_both_precisions_is_not_a_proof():
    # Regression: 1 - 1 * (1 + 2.2e-313) cancels to 0 at 64 and at 96 bits; comparing the two "agreed" on 0.
    x, g = np.array([[0.0, -np.inf]]), np.array([[1.0, 2.2250738585e-313]])
    r = reference.evaluate("log_softmax_vjp", x, g)
    assert r.output()[0].tolist() == [-2.2250738585e-313, 2.2250738585e-313]


def test_a_loss_just_above_a_midpoint_rounds_up():
    # 0.75 x + log1p(e^-x) = 57.703125 + 3.6e-34: just above a float16 midpoint (issue #15's example)
    r = reference.binary_cross_entropy_with_logits(np.array([76.9375], np.float16), np.array([0.25], np.float16))
    assert r[0] == np.float16(57.71875)


def test_vjp_kappa_is_finite_at_an_exact_zero():
    r = reference.evaluate("softmax_vjp", np.array([0.0, 1.0, 0.0], np.float32), np.full(3, 2.0, np.float32))
    assert np.all(r.output() == 0) and np.all(np.isfinite(r.kappa))


def test_max_argmax_and_the_max_gradient_are_exact():
    x = np.array([[1.0, 3.0, 3.0], [np.nan, 5.0, np.nan]])
    assert np.array_equal(reference.argmax(x) if hasattr(reference, "argmax") else
                          reference.evaluate("argmax", x).output(), [1, 0])
    r = reference.evaluate("max_vjp", x, np.array([1.0, 2.0]))
    assert np.array_equal(r.output()[0], [0.0, 1.0, 0.0]) and r.alternatives[0][0].tolist() == [0.0, 0.5, 0.5]


# --- the policy, case by case ------------------------------------------------------------------------------

_VJP_ROWS = {
    "nan": ([1.0, np.nan, 2.0], [1.0, 1.0, 1.0]), "posinf": ([1.0, np.inf, 2.0], [1.0, 2.0, 3.0]),
    "all_neginf": ([-np.inf] * 3, [1.0, 1.0, 1.0]), "some_neginf": ([1.0, -np.inf, 2.0], [1.0, 5.0, 3.0]),
    "single": ([1.5], [2.0]), "g_nonfinite": ([1.0, 0.0, 2.0], [1.0, np.inf, 1.0]),
    "target_neginf": ([-np.inf, 1.0, 2.0], [1.0, 1.0, 1.0]), "ties": ([3.0, 1.0, 3.0], [1.0, 1.0, 1.0]),
    "finite": ([3.0, 1.0, 2.0], [1.0, 1.0, 1.0]),
}
_ROW_CASES = [c for c in policy.POLICY if c.function in ("softmax_vjp", "log_softmax_vjp", "logsumexp_vjp",
                                                         "cross_entropy_vjp", "max_vjp", "max", "argmax")
              and c.case != "empty"]


@pytest.mark.parametrize("case", _ROW_CASES, ids=lambda c: f"{c.function}-{c.case}")
def test_gradient_row_policy_case(case):
    x, g = (np.array([v]) for v in _VJP_ROWS[case.case])
    if case.function in ("logsumexp_vjp", "max_vjp", "cross_entropy_vjp"):
        g = g[:, min(1, g.shape[1] - 1)]  # one cotangent per row (the infinite one in g_nonfinite)
    args = {"cross_entropy_vjp": (x, np.array([0]), g), "max": (x,), "argmax": (x,)}.get(case.function, (x, g))
    r = reference.evaluate(case.function, *args)
    assert list(r.case) == [case.case]
    if case.primary == "nan":
        assert np.all(np.isnan(r.value))
    if case.primary == "zeros":
        assert np.all(r.value == 0)
    if case.case == "some_neginf" and case.function == "log_softmax_vjp":
        assert r.value[0, 1] == 5.0  # g_i itself at a masked entry
    if case.case == "some_neginf" and case.function != "log_softmax_vjp":
        assert r.value[0, 1] == 0.0


@pytest.mark.parametrize("function,x,g,expect", [
    ("sigmoid_vjp", np.inf, 1.0, 0.0), ("sigmoid_vjp", 1.0, np.inf, np.inf), ("sigmoid_vjp", np.nan, 1.0, np.nan),
    ("log_sigmoid_vjp", -np.inf, 3.0, 3.0), ("softplus_vjp", np.inf, 3.0, 3.0), ("softplus_vjp", -np.inf, 3.0, 0.0),
    ("logit_vjp", 0.0, 2.0, np.inf), ("logit_vjp", 1.5, 2.0, np.nan), ("logit", 0.0, None, -np.inf),
    ("logit", 1.0, None, np.inf), ("logit", -0.5, None, np.nan), ("softplus", -np.inf, None, 0.0),
])
def test_elementwise_gradient_policy_case(function, x, g, expect):
    args = (np.array([x]),) if g is None else (np.array([x]), np.array([g]))
    v = reference.evaluate(function, *args).value[0, 0]
    assert (np.isnan(v) and np.isnan(expect)) or v == expect


def test_bce_vjp_limits_are_correctly_rounded():
    r = reference.evaluate("binary_cross_entropy_with_logits_vjp", np.array([np.inf, -np.inf], np.float16),
                           np.array([0.3, 0.3], np.float16), np.array([1.0, 1.0], np.float16))
    y = float(np.float16(0.3))
    assert r.value[:, 0].tolist() == [float(np.float16(1 - y)), -y]


def test_logit_is_exactly_zero_at_one_half():
    assert reference.evaluate("logit", np.array([0.5], np.float32)).value[0, 0] == 0.0


# --- the verdict: planted defects are caught, careful versions pass --------------------------------------

def test_max_vjp_mixing_the_two_tie_answers_fails():
    def mixed(x, g, axis=-1):  # g at the first maximum AND g/2 at the second: neither answer
        out = hm.max_vjp_last_max(x, g, axis) / 2
        k = np.argmax(x, axis=axis)
        np.put_along_axis(out, np.expand_dims(k, axis), np.expand_dims(g, axis), axis=axis)
        return out

    x, g = np.array([[2.0, 2.0, 1.0]], np.float32), np.array([1.0], np.float32)
    assert not run_call(_impl("max_vjp", mixed), (x, g), {"axis": 1}).ok
    assert run_call(resolve("max_vjp.split"), (x, g), {"axis": 1}).ok
    assert run_call(resolve("max_vjp.onehot"), (x, g), {"axis": 1}).ok


# --- bad input --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args,match", [
    ((np.zeros((2, 3)), np.zeros((2, 2))), "must have the shape of softmax's output"),
    ((np.zeros((2, 3)), np.zeros((2, 3), dtype=np.int64)), "input's dtype"),
    ((np.zeros((2, 3)),), "takes 2 argument"),
])
def test_bad_cotangent_is_a_clear_error(args, match):
    with pytest.raises(UsageError, match=match):
        reference.evaluate("softmax_vjp", *args)


def test_cli_verifies_a_gradient_and_lists_the_new_functions(capsys):
    assert cli.main(["verify", "--function", "sigmoid_vjp", "--impl", "sigmoid_vjp.stable", "--examples", "3"]) == 0
    assert "sigmoid_vjp.stable" in capsys.readouterr().out
    assert cli.main(["list", "--function", "max_vjp"]) == 0
    assert "max_vjp.split" in capsys.readouterr().out
    assert cli.main(["verify", "--function", "softmax_vjpp"]) == 2


# --- autodiff: a PyTorch forward function judged by its backward ------------------------------------------

def test_torch_forward_is_differentiated_for_a_vjp():
    pytest.importorskip("torch", reason="PyTorch is an optional peer (pip install torch==2.13.0)")
    impl = resolve("torch:softmax", "softmax_vjp")
    assert "torch.autograd.grad" in impl.description
    x, g = np.array([[1.0, 2.0, 30.0]], np.float32), np.array([[1.0, 0.0, 0.5]], np.float32)
    out = run_call(impl, (x, g), {"axis": 1})
    assert out.got is not None and out.got.shape == x.shape
    assert not out.ok  # PyTorch's s * (g - <g, s>) returns 0 at the dominant entry, where 2.2e-13 belongs


def test_the_reproducer_of_a_reduced_cotangent_runs_when_pasted():
    # Regression: a 0-d cotangent (logsumexp_vjp or max_vjp of a vector) was written as ``.reshape()``
    from stability.verify import reproducer

    src = reproducer("max_vjp.last", "max_vjp", (np.array([1.0, 1.0]), np.array(2.0)), {"axis": 0})
    with pytest.raises(AssertionError, match="max_vjp.last"):
        exec(src, {})


def test_bce_gradient_limit_at_an_infinite_cotangent_keeps_the_sign_of_a_tiny_difference():
    # Regression: the reference's limit g * (sigma(x) - y) for g = inf was NaN at x = 709.78, y = 1, since
    # sigma(x) - 1 = -5e-309 vanished at 400 bits; the answer is -inf (found by the full float64 matrix)
    import numpy as np

    from stability import reference

    ref = reference.evaluate("binary_cross_entropy_with_logits_vjp", np.array([709.782712893384, 3.0]),
                             np.array([1.0, 1.0]), np.array([np.inf, np.inf]))
    assert ref.output()[0] == -np.inf and ref.output()[1] == -np.inf


def test_cross_entropy_gradient_of_a_fully_masked_row_is_nan_even_for_a_zero_cotangent():
    # Regression: cross_entropy_vjp.complement returned -0.0 for logits [[-inf]] with g = 0 (0 * a defined
    # gradient), where the row has no distribution and the policy's answer is NaN
    import numpy as np

    from stability import registry
    from stability.verify import run_call

    for dt in (np.float32, np.float64):
        args = (np.array([[-np.inf, -np.inf]], dt), np.array([1]), np.array([0.0], dt))
        out = run_call(registry.resolve("cross_entropy_vjp.complement"), args, {})
        assert out.ok and np.isnan(out.got).all()


def test_cross_entropy_vjp_kappa_survives_weights_below_float64s_range():
    # regression: kappa was formed from the float64 weights s_j, which underflow below x_j - max = -745; at
    # x_j - max = -1023 with a cotangent of 3.5e305 the gradient (1.4e-139) got kappa 1 where about 1024 belongs,
    # and a float64 computation that rounds x_j - max once (189 ULP, owed to that rounding) failed by 15x
    from stability import condition

    x = np.array([[-9241.00224175, -9072.93804761, -1e-05, -1023.27601891], [0.5, 1.0, -0.3, 2.0]])
    t, g = np.array([2, 0]), np.array([-3.5111194e305, 1.5])
    ref = reference.evaluate("cross_entropy_vjp", x, t, g)
    assert ref.kappa[0, 2] == pytest.approx(1 + 1023.27600891, rel=1e-9)  # at the target: 1 + s_t |x_3 - max|
    assert ref.kappa[0, 3] == pytest.approx(1 + 1023.27600891, rel=1e-9)  # off it: 1 + N_3(|x - max|)
    # where nothing underflows, the same numbers as the direct formula
    rng = np.random.default_rng(0)
    x = rng.normal(0, 5, (40, 7))
    t, g = rng.integers(0, 7, 40), rng.normal(0, 1, 40)
    ref = reference.evaluate("cross_entropy_vjp", x, t, g)
    direct = condition.axis_kappa("cross_entropy_vjp", x, np.isneginf(x), ref.exact_hi + ref.exact_lo, None, g)
    np.testing.assert_allclose(ref.kappa, direct, rtol=1e-12)
