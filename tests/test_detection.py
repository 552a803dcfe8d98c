"""The classic mistakes are caught by a default verify, over seeds (>= 19 of 20 for values, 20 of 20 for the
planted backward defects).

Default run: seeds 0-2.  ``pytest -m slow``: 20 seeds, and the count must reach 19 (values) or 20 (gradients).
"""

import numpy as np
import pytest

import handmade as hm
from stability.registry import Implementation
from stability import strategies
from stability.formats import available_dtypes
from stability.verify import run_call, verify

MISTAKES = [
    ("softmax", hm.softmax_naive),  # naive exp overflow
    ("log_softmax", hm.log_softmax_of_softmax),  # log of a rounded-to-zero softmax
    ("log_sigmoid", hm.log_sigmoid_naive),  # 1 - sigma rounds: log(1) = 0
    ("binary_cross_entropy_with_logits", hm.bce_naive),  # 1 - sigma cancellation
    ("softmax", hm.softmax_half_accumulation),  # accumulation narrower than the data
    ("softmax", hm.softmax_nan_vanishes),  # a NaN that disappears
    ("logsumexp", hm.logsumexp_shifted),  # log(1 + t) loses a tiny t
    ("softmax", hm.softmax_tiles_unscaled),  # a tile merge without its rescale: rows past 64 entries
    ("softmax", hm.softmax_long_rows_half_sum),  # a long-row path summing in float16
    ("softmax", hm.softmax_max_as_complement),  # 1 - (sum of the others): n u on flat rows
    ("softmax", hm.softmax_overwrites_input),  # right values, the caller's array overwritten
    # not shift-invariant: the log-sum-exp rounded at the logits' magnitude (issue 14)
    ("log_softmax", hm.log_softmax_minus_lse), ("softmax", hm.softmax_exp_of_x_minus_lse),
    ("cross_entropy", hm.cross_entropy_lse_minus_logit),
    # a fully masked first tile in an online kernel (issue 14): only long masked rows show it
    ("softmax", hm.softmax_online_masked_first_tile), ("logsumexp", hm.logsumexp_online_masked_first_tile),
]


# backward defects: the textbook gradients, an unshifted softmax, a sign flip, a dropped cotangent, the last
# maximum, a NaN-blind argmax, float16 weights; each must be caught on 20 of 20 seeds
GRADIENT_MISTAKES = [
    ("softmax_vjp", hm.softmax_vjp_textbook), ("softmax_vjp", hm.softmax_vjp_forgets_shift),
    ("softmax_vjp", hm.softmax_vjp_sign_flipped), ("log_softmax_vjp", hm.log_softmax_vjp_textbook),
    ("logsumexp_vjp", hm.logsumexp_vjp_exp_lse), ("sigmoid_vjp", hm.sigmoid_vjp_one_minus),
    ("log_sigmoid_vjp", hm.log_sigmoid_vjp_one_minus), ("cross_entropy_vjp", hm.ce_vjp_textbook),
    ("cross_entropy_vjp", hm.ce_vjp_ignores_g), ("max_vjp", hm.max_vjp_last_max),
    ("argmax", hm.argmax_ignores_nan), ("binary_cross_entropy_with_logits_vjp", hm.bce_vjp_float16_weights),
]

_WIDE_FORMATS = ("float32", "float64")

# 2-byte running sums, judged in the format they break (issue 14): caught in float16, and in bfloat16
LOW_PRECISION_MISTAKES = [("softmax", hm.softmax_running_sum, ("float16", "bfloat16"))]

# mixed precision, judged in the signature they claim: a float32 result computed in the 2-byte input format and
# widened, float32 exponentials summed in the 2-byte format, x - max rounded to the input format, a cross-entropy
# through its rounded float32 probability, FP8 probabilities from exponentials stored before the max shift
# (NaN past 464); each caught on 20 of 20 seeds
_HALF_TO_F32 = ("bfloat16:float32", "float16:float32")
MIXED_MISTAKES = [("softmax", hm.softmax_upcast, _HALF_TO_F32), ("softmax", hm.softmax_half_sum_f32_out, _HALF_TO_F32),
                  ("log_softmax", hm.log_softmax_shift_in_input_format, _HALF_TO_F32),
                  ("cross_entropy", hm.cross_entropy_through_probability, _HALF_TO_F32),
                  ("softmax", hm.softmax_fp8_unshifted, ("float32:float8_e4m3fn", "bfloat16:float8_e4m3fn"))]

# real backward- and forward-pass defects that slipped through before, one per class, each caught on 20 of 20
# seeds: a float16 sum of 65,520 unit terms stored in float16 (inf), a blocked kernel broken only at 2^k + 1
# entries with its first tile masked (tiles 256, 2048, 16384), formula switches at 20, 15 and 30 that are wrong in
# float64, the textbook BCE gradient g (sigma(x) - y) (0 at x = 20, y = 1), and a one-hot answer to rows holding
# two +inf (neither the limit, which does not exist, nor the pointwise NaN at each +inf)
ROUND3_MISTAKES = [("log_softmax_vjp", hm.log_softmax_vjp_half_gsum, ("float16",)),
                   ("softmax", hm.softmax_sum_in_format, ("float16",)),
                   ("softmax", hm.softmax_blocked_256, _WIDE_FORMATS), ("softmax", hm.softmax_blocked_2048, _WIDE_FORMATS),
                   ("softmax", hm.softmax_blocked_16384, _WIDE_FORMATS),
                   ("softplus", hm.softplus_threshold_20, ("float64",)),
                   ("log_sigmoid", hm.log_sigmoid_threshold_15, ("float64",)),
                   ("sigmoid", hm.sigmoid_threshold_30, ("float64",)),
                   ("binary_cross_entropy_with_logits_vjp", hm.bce_vjp_textbook, _WIDE_FORMATS),
                   ("softmax", hm.softmax_inf_onehot, _WIDE_FORMATS)]

# the planted tiled kernels and running sums must be caught on 20 of 20 seeds (issue 14), the other value
# mistakes on 19
_TWENTY = (hm.softmax_online_masked_first_tile, hm.logsumexp_online_masked_first_tile)
_WIDE = ("float32", "float64")
ALL = ([(f, fn, 20 if fn in _TWENTY else 19, _WIDE) for f, fn in MISTAKES]
       + [(f, fn, 20, _WIDE) for f, fn in GRADIENT_MISTAKES]
       + [(f, fn, 20, [d for d in dts if d in available_dtypes()]) for f, fn, dts in LOW_PRECISION_MISTAKES]
       + [(f, fn, 20, sigs) for f, fn, sigs in MIXED_MISTAKES]
       + [(f, fn, 20, [d for d in dts if d in available_dtypes()]) for f, fn, dts in ROUND3_MISTAKES])


def _impl(function, fn):
    return Implementation(fn.__name__, function, fn, origin="user")


def _caught(function, fn, seed, dtypes=_WIDE):
    """Whether a default verify fails ``fn`` in every one of ``dtypes`` (the verdict only: no shrinking)."""
    assert dtypes
    return all(verify(_impl(function, fn), d, seed=seed, stop_on_fail=True, shrink=False).verdict == "fail"
               for d in dtypes)


@pytest.mark.parametrize("function,fn,need,dtypes", ALL, ids=[m[1].__name__ for m in ALL])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mistake_is_caught(function, fn, need, dtypes, seed):
    assert _caught(function, fn, seed, dtypes)


@pytest.mark.slow
@pytest.mark.parametrize("function,fn,need,dtypes", ALL, ids=[m[1].__name__ for m in ALL])
def test_mistake_is_caught_in_enough_of_20_seeds(function, fn, need, dtypes):
    hits = sum(_caught(function, fn, seed, dtypes) for seed in range(100, 120))
    assert hits >= need, hits


@pytest.mark.parametrize("function,fn", [("softmax", hm.softmax_shifted), ("log_softmax", hm.log_softmax_log1p),
                                         ("logsumexp", hm.logsumexp_log1p), ("sigmoid", hm.sigmoid_stable),
                                         ("log_sigmoid", hm.log_sigmoid_stable),
                                         ("binary_cross_entropy_with_logits", hm.bce_stable),
                                         ("softmax_vjp", hm.softmax_vjp_centred),
                                         ("sigmoid_vjp", hm.sigmoid_vjp_stable),
                                         ("cross_entropy_vjp", hm.ce_vjp_complement)],
                         ids=lambda v: getattr(v, "__name__", v))
def test_careful_versions_pass_a_default_verify(function, fn):
    for d in ("float32", "float64"):
        rec = verify(_impl(function, fn), d, seed=3)
        assert rec.verdict == "pass", (d, rec.failed_families, rec.counterexample)


# the careful twins of ROUND3_MISTAKES, in every format they are planted in and float16 (whose long rows and
# sums the first two classes are about)
@pytest.mark.parametrize("function,fn", [("log_softmax_vjp", hm.log_softmax_vjp_wide), ("softplus", hm.softplus_stable),
                                         ("binary_cross_entropy_with_logits_vjp", hm.bce_vjp_careful),
                                         ("logsumexp_vjp", hm.logsumexp_vjp_pointwise),
                                         ("log_sigmoid", hm.log_sigmoid_stable)],
                         ids=lambda v: getattr(v, "__name__", v))
def test_careful_twins_of_the_round_three_defects_pass(function, fn):
    for d in ("float16", "float32", "float64"):
        rec = verify(_impl(function, fn), d, seed=3, shrink=False)
        assert rec.verdict == "pass", (d, rec.failed_families, rec.counterexample)


@pytest.mark.parametrize("x,exact", [(20.0, -2.0611536e-09), (10.0, -4.5397868e-05)])
def test_textbook_bce_gradient_cancels_at_a_label_and_fails(x, exact):
    # Regression (issue 28): kappa carried a |g||y| term, as if the target were perturbed; at y = 1 that judged
    # g (sigma(x) - y) absolutely, and 0 at x = 20 (where -2.06e-9 belongs) and 5,740 ULP at x = 10 passed. A
    # label is exact: kappa is (|g (sigma - y)| + |g||x| sigma') / |g (sigma - y)| ~ 1 + x there.
    args = tuple(np.array([v], np.float32) for v in (x, 1.0, 1.0))
    got = hm.bce_vjp_textbook(*args)
    out = run_call(_impl("binary_cross_entropy_with_logits_vjp", hm.bce_vjp_textbook), args, {})
    assert not out.ok and out.max_ulp > 5000, (got, out.max_ulp)
    assert abs(out.reference.exact_hi.ravel()[0] / exact - 1) < 1e-6
    careful = run_call(_impl("binary_cross_entropy_with_logits_vjp", hm.bce_vjp_careful), args, {})
    assert careful.ok and careful.max_ulp <= 0.5
    # a soft target is a rounded number: its relative perturbation is part of the problem. The same formula at
    # x = 0.01, y = 0.5 is 79 ULP off (sigma(0.01) rounded, then 0.0025 left of it) and passes: kappa ~ |y| /
    # |sigma - y| = 202 there, against 1 + |x| sigma' / |sigma - y| = 2 for the logit alone
    soft = tuple(np.array([v], np.float32) for v in (0.01, 0.5, 1.0))
    out = run_call(_impl("binary_cross_entropy_with_logits_vjp", hm.bce_vjp_textbook), soft, {})
    assert out.ok and out.max_ulp > 50 and out.reference.kappa.ravel()[0] > 200


def test_only_long_rows_show_the_long_row_mistakes():
    # the short-row families cannot see them: the `lengths` family is what catches them
    # (the planted masked-tile kernels: only the long masked rows of `tile_masks`)
    for function, fn, family in (("softmax", hm.softmax_tiles_unscaled, "lengths"),
                                 ("softmax", hm.softmax_long_rows_half_sum, "lengths"),
                                 ("softmax", hm.softmax_online_masked_first_tile, "tile_masks"),
                                 ("logsumexp", hm.logsumexp_online_masked_first_tile, "tile_masks")):
        short = [f for f in strategies.families(function) if f not in strategies.SEEDED_FAMILIES]
        assert verify(_impl(function, fn), "float32", families=short, shrink=False).verdict == "pass", fn
        assert verify(_impl(function, fn), "float32", families=[family], shrink=False).verdict == "fail", fn


@pytest.mark.skipif("bfloat16" not in available_dtypes(), reason="bfloat16 needs ml_dtypes")
def test_a_running_bfloat16_sum_is_caught_on_long_rows():
    fn = hm.softmax_working_precision_sum
    rec = verify(_impl("softmax", fn), "bfloat16", families=["lengths"], seed=0)
    assert rec.verdict == "fail", rec.max_ratio
    assert verify(_impl("softmax", fn), "float32", families=["lengths"], seed=0).verdict == "pass"


def test_an_overwritten_input_is_reported_and_restored():
    rec = verify(_impl("softmax", hm.softmax_overwrites_input), "float32", families=["standard"], seed=0)
    assert rec.verdict == "fail" and rec.counterexample["reason"].startswith("overwrote its input")
    x = np.array([[1.0, 2.0, 3.0], [0.5, -4.0, 7.0]], dtype=np.float32).T  # a non-contiguous view
    before = x.copy()
    out = run_call(_impl("softmax", hm.softmax_overwrites_input), (x,), {"axis": 0})
    assert not out.ok and out.reason.startswith("overwrote its input")
    assert np.array_equal(x, before)  # put back: the counterexample shows what the caller passed
    assert run_call(_impl("softmax", hm.softmax_shifted), (x,), {"axis": 0}).ok


@pytest.mark.parametrize("value,got", [(1e8, 0.0), (1e4, -0.6933594)])
def test_log_softmax_of_two_equal_large_logits_must_be_log_one_half(value, got):
    # Regression (issue 14): x - (m + log(sum)) in float32 returns [0, 0] at [1e8, 1e8] and -0.69336 (3,560
    # ULPs) at [1e4, 1e4]; both passed, since kappa with respect to x is ~1e8 there. The condition number now
    # follows the differences x_j - max(x), which are 0: log(1/2) is owed to within A(n) ULPs.
    x = np.array([value, value], np.float32)
    assert np.all(hm.log_softmax_minus_lse(x, axis=0) == np.float32(got))
    out = run_call(_impl("log_softmax", hm.log_softmax_minus_lse), (x,), {"axis": 0})
    assert not out.ok and out.max_ratio > 10
    careful = run_call(_impl("log_softmax", hm.log_softmax_log1p), (x,), {"axis": 0})
    assert careful.ok and careful.max_ulp <= 0.5


def test_the_shifted_family_draws_equal_logits_at_large_magnitude():
    from hypothesis import given, settings

    seen = []

    @settings(max_examples=60, database=None, derandomize=True)
    @given(strategies.inputs("log_softmax", "float32", family="shifted"))
    def draw(ex):
        x = ex.args[0].astype(np.float64)
        spread_ = np.ptp(x, axis=ex.kwargs["axis"]) if x.size else np.array([0.0])
        seen.append((np.abs(x).max(initial=0), float(np.max(spread_))))

    draw()
    assert any(m >= 1e6 and s == 0 for m, s in seen)  # exact ties far from 0
    assert any(m >= 1e6 and 0 < s <= 1e-6 * m for m, s in seen)  # near-ties: a few ULPs of c apart


def test_distinct_failures_are_shrunk_apart_and_the_worst_is_shown_first():
    # Regression (issue 14): Hypothesis shrank a family's first failure to its simplest input, which could be a
    # milder bug: a softmax that drops NaN was shown in the `nan` family with [0, 1] (no NaN), and a
    # cross-entropy that returns NaN on masked rows with [[0, 4]] (no -inf). Each kind is shrunk on its own.
    from stability.verify import verify_family

    res, ce = verify_family(_impl("softmax", hm.softmax_nan_dropped_and_single), "float64", "nan", seed=0)
    assert res.kinds == ["special", "allowance"] and ce["kind"] == "special"
    assert any(np.isnan(v) for v in np.ravel(ce["input"][0]))  # the NaN is in the input shown
    (other,) = ce["others"]
    assert other["kind"] == "allowance" and not np.isnan(np.ravel(other["input"][0])).any()
    for c in (ce, other):  # each input, run again, fails with its own kind
        x = np.array(c["input"][0], dtype=np.float64).reshape(c["shape"])
        out = run_call(_impl("softmax", hm.softmax_nan_dropped_and_single), (x,), c["kwargs"])
        assert not out.ok and out.kind == c["kind"]

    res, ce = verify_family(_impl("cross_entropy", hm.cross_entropy_nan_on_masked), "float32", "masked", seed=0)
    assert ce["kind"] == "nonfinite" and np.isneginf(np.ravel(ce["input"][0])).any()
    assert all(np.isnan(v) for v in ce["got"])
