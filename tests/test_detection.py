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

ALL = [(f, fn, 19) for f, fn in MISTAKES] + [(f, fn, 20) for f, fn in GRADIENT_MISTAKES]


def _impl(function, fn):
    return Implementation(fn.__name__, function, fn, origin="user")


def _caught(function, fn, seed):
    """Whether a default verify fails ``fn`` in float32 and in float64 (the verdict only: no shrinking)."""
    return all(verify(_impl(function, fn), d, seed=seed, stop_on_fail=True, shrink=False).verdict == "fail"
               for d in ("float32", "float64"))


@pytest.mark.parametrize("function,fn,need", ALL, ids=[m[1].__name__ for m in ALL])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mistake_is_caught(function, fn, need, seed):
    assert _caught(function, fn, seed)


@pytest.mark.slow
@pytest.mark.parametrize("function,fn,need", ALL, ids=[m[1].__name__ for m in ALL])
def test_mistake_is_caught_in_enough_of_20_seeds(function, fn, need):
    hits = sum(_caught(function, fn, seed) for seed in range(100, 120))
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


def test_only_long_rows_show_the_long_row_mistakes():
    # the short-row families cannot see them: the `lengths` family is what catches them
    short = [f for f in strategies.families("softmax") if f != "lengths"]
    for fn in (hm.softmax_tiles_unscaled, hm.softmax_long_rows_half_sum):
        assert verify(_impl("softmax", fn), "float32", families=short, shrink=False).verdict == "pass"
        assert verify(_impl("softmax", fn), "float32", families=["lengths"], shrink=False).verdict == "fail"


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
