"""Correct rounding into every format: the fast casts, the generic rounding and the mpmath rounding agree."""

import mpmath
import numpy as np
import pytest

from stability.formats import FORMATS, _round_generic, available_dtypes, format_of, round_float64, round_mpf


def _tricky(fmt, rng, n=20000):
    """Random values over the format's whole range, their midpoints, and the neighbours of those midpoints."""
    e = rng.integers(fmt.emin - fmt.p - 2, fmt.emax + 2, n)
    x = rng.choice([-1.0, 1.0], n) * np.ldexp(rng.uniform(1, 2, n), e)
    _, ex = np.frexp(x)
    q = np.maximum(ex - 1, fmt.emin) - fmt.p  # half the quantum: exact midpoints
    mid = np.ldexp(np.rint(np.ldexp(x, -q)), q)
    return np.concatenate([x, mid, np.nextafter(mid, np.inf), np.nextafter(mid, -np.inf), [0.0, -0.0, np.inf]])


@pytest.mark.parametrize("name", ["float32", "float16"])
def test_numpy_casts_round_like_the_generic_rounding(name):
    fmt = FORMATS[name]
    x = _tricky(fmt, np.random.default_rng(0))
    np.testing.assert_array_equal(round_float64(x, fmt), _round_generic(x, fmt))


@pytest.mark.parametrize("name", ["float32", "float16", "bfloat16"])
def test_round_mpf_agrees_with_float64_rounding(name):
    fmt = FORMATS[name]
    x = _tricky(fmt, np.random.default_rng(1), n=1500)
    expect = round_float64(x, fmt)
    got = np.array([round_mpf(mpmath.mpf(v), fmt) for v in x])
    np.testing.assert_array_equal(got, expect)


def test_bfloat16_is_rounded_once_not_through_float32():
    """ml_dtypes casts float64 -> float32 -> bfloat16; 1 + 2**-8 + 2**-30 must round up, not tie to 1."""
    x = 1 + 2.0**-8 + 2.0**-30
    assert round_float64(np.array([x]), FORMATS["bfloat16"])[0] == 1 + 2.0**-7


def test_round_mpf_below_float64_precision():
    f64 = FORMATS["float64"]
    with mpmath.workprec(300):
        assert round_mpf(mpmath.mpf(1) + mpmath.mpf(2) ** -53, f64) == 1.0  # tie to even
        assert round_mpf(mpmath.mpf(1) + mpmath.mpf(2) ** -53 + mpmath.mpf(2) ** -200, f64) == 1 + 2.0**-52
        assert round_mpf(mpmath.mpf(2) ** -1075, f64) == 0.0  # half the smallest subnormal: ties to 0
        assert round_mpf(mpmath.mpf(2) ** -1075 * 1.5, f64) == 2.0**-1074
        assert round_mpf(mpmath.mpf(2) ** 1024, f64) == np.inf
        assert round_mpf(-(mpmath.mpf(2) ** 1024), f64) == -np.inf
        assert round_mpf(mpmath.mpf(65520), FORMATS["float16"]) == np.inf  # max 65504 + half ulp, to even: inf
        assert round_mpf(mpmath.mpf(65519), FORMATS["float16"]) == 65504.0


def test_format_parameters_match_numpy():
    for name in ("float16", "float32", "float64"):
        fmt, info = FORMATS[name], np.finfo(name)
        assert fmt.max == float(info.max)
        assert fmt.tiny == float(info.tiny)
        assert fmt.smallest_subnormal == float(info.smallest_subnormal)
        assert fmt.u == float(info.eps) / 2


def test_unsupported_dtype_names_the_choices():
    with pytest.raises(ValueError, match="use one of float16"):
        format_of(np.int32)
    assert "bfloat16" in available_dtypes()
