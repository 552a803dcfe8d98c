"""The careful gradients in the working format (implementations/fast_grad.py), their NumPy version: their guarded
row versions and their blocked, threaded paths pass verify; the subnormal-weight guard and the overflow guard are
needed (a version without them fails) and sufficient; and no array wider than the working format is ever made.
The compiled kernels that take softmax's, log_softmax's and logsumexp's float32 rows where they are built are
switched off here; tests/test_native.py tests them."""

import numpy as np
import pytest

from implementations import _native, _shared, fast_cpu, fast_grad
from stability import reference, registry, strategies
from stability.metrics import judge
from stability.verify import verify

AXIS = ["softmax_vjp.fast", "log_softmax_vjp.fast", "logsumexp_vjp.fast"]
ROWS = AXIS + ["cross_entropy_vjp.fast"]
ALL = ROWS + ["sigmoid_vjp.fast", "log_sigmoid_vjp.fast"]
FAMILIES = ["standard", "dominant", "masked", "posinf", "nan", "underflow", "ties", "wide", "g_onehot", "g_huge",
            "g_tiny", "g_special", "g_mixed_sign"]


@pytest.fixture(autouse=True)
def numpy_version(monkeypatch):
    monkeypatch.setattr(_native, "LIB", None)


@pytest.fixture()
def tiny_blocks(monkeypatch):
    monkeypatch.setattr(fast_grad, "BLOCK_BYTES", 64)
    monkeypatch.setattr(fast_cpu, "PARALLEL_MIN", 1)
    monkeypatch.setattr(fast_cpu, "THREADS", 2)


def _families(impl):
    return [f for f in FAMILIES if f in strategies.families(impl.function)]


@pytest.mark.parametrize("name", ALL)
def test_blocked_and_threaded_paths_pass_verify(tiny_blocks, name):
    impl = registry.resolve(name)
    for dtype in ("float32", "bfloat16"):
        rec = verify(impl, dtype, examples=12, seed=7, shrink=False, families=_families(impl))
        assert rec.verdict == "pass", (dtype, rec.failed_families, rec.counterexample)


@pytest.mark.parametrize("name", ROWS)
def test_the_guarded_row_version_alone_passes_verify(monkeypatch, name):
    # every row of every block sent to the row version (which otherwise sees only the rows that need a guard)
    monkeypatch.setattr(fast_grad, "_nonfinite_rows", lambda bad, O: np.ones_like(bad))
    impl = registry.resolve(name)
    for dtype in ("float32", "bfloat16"):
        rec = verify(impl, dtype, examples=12, seed=3, shrink=False, families=_families(impl))
        assert rec.verdict == "pass", (dtype, rec.failed_families, rec.counterexample)


def _cases(dtype):
    """(name, args, kwargs) where a weight is subnormal in float32 (d = -100, sigma(-100)) and the cotangent is
    loss-scaled (2^100): the result, about 2^-44, is a normal number."""
    x = np.array([[0.0, -100.0, -3.0, -95.5], [1.0, -99.0, 0.5, -120.0]], dtype=dtype)
    g = np.array([[1.0, 2.0 ** 100, -2.0, 3.0 * 2 ** 99], [0.5, -(2.0 ** 101), 1.0, 2.0 ** 120]], dtype=dtype)
    yield "softmax_vjp.fast", (x, g), {"axis": -1}
    # log_softmax: g_i - s_i sum(g), where g_i is 0 and sum(g) loss-scaled
    yield "log_softmax_vjp.fast", (x, np.array([[2.0 ** 100, 0, -2, 0], [2.0 ** 110, 0, 1, 0]], dtype=dtype)), \
        {"axis": -1}
    yield "logsumexp_vjp.fast", (x, np.array([2.0 ** 100, -(2.0 ** 110)], dtype=dtype)), {"axis": -1}
    yield "cross_entropy_vjp.fast", (x, np.array([1, 0]), np.array([2.0 ** 100, 2.0 ** 90], dtype=dtype)), {}
    xs = np.array([100.0, -100.0, 95.5, -120.0, 3.0], dtype=dtype)
    gs = np.array([2.0 ** 100, -(2.0 ** 110), 2.0 ** 105, 2.0 ** 126, 1.0], dtype=dtype)
    yield "sigmoid_vjp.fast", (xs, gs), {}
    yield "log_sigmoid_vjp.fast", (xs, gs), {}


def _plain_product(d, q, shift=None):
    with np.errstate(all="ignore"):
        y = np.exp(d) * np.asarray(q, dtype=d.dtype)
        return y if shift is None else np.ldexp(y, shift)


@pytest.mark.parametrize("case", range(6))
def test_a_subnormal_weight_times_a_loss_scaled_cotangent_keeps_its_bits(monkeypatch, case):
    name, args, kwargs = list(_cases(np.float32))[case]
    impl = registry.resolve(name)
    ref = reference.evaluate(impl.function, *args, **kwargs)
    assert judge(impl.fn(*args, **kwargs), ref).ok
    # the guard is what passes it: with exp(d) * q formed plainly the same call fails
    monkeypatch.setattr(fast_grad, "exp_times", _plain_product)
    assert not judge(impl.fn(*args, **kwargs), ref).ok


def test_exp_times_rounds_like_a_full_significand_down_to_the_last_subnormal():
    import mpmath

    rng = np.random.default_rng(5)
    for dtype, lo in ((np.float32, -190.0), (np.float64, -1450.0)):
        d = rng.uniform(lo, 0, 4000).astype(dtype)
        q = (rng.uniform(-1, 1, 4000) * 2.0 ** rng.integers(-10, np.finfo(dtype).maxexp - 1, 4000)).astype(dtype)
        got = fast_grad.exp_times(d, q)
        with mpmath.workprec(200):
            exact = [mpmath.exp(mpmath.mpf(float(a))) * mpmath.mpf(float(b)) for a, b in zip(d, q)]
        ulp = np.array([float(abs(mpmath.mpf(float(y)) - e)) for y, e in zip(got, exact)]) / np.spacing(
            np.abs(np.array([float(e) for e in exact], dtype=dtype)))
        assert ulp.max() <= 5, (dtype, ulp.max())  # exp's own error, two products, one scaling
        assert (np.abs(got) > np.finfo(dtype).tiny).any() and (np.exp(d) < np.finfo(dtype).tiny).any()


def test_cotangents_near_the_largest_float_scale_instead_of_overflowing():
    x = np.array([[0.0, 0.0, -1.0, -2.0]], dtype=np.float32)
    big = np.float32(2.0 ** 127)
    g = np.array([[big, -big, big, -big]], dtype=np.float32)  # g - g_k and sum(g) overflow in float32
    for name in ("softmax_vjp.fast", "log_softmax_vjp.fast"):
        impl = registry.resolve(name)
        got = impl.fn(x, g, axis=-1)
        assert np.isfinite(got).all()
        assert judge(got, reference.evaluate(impl.function, x, g, axis=-1)).ok, name


def test_threads_and_blocks_do_not_change_a_bit(monkeypatch):
    rng = np.random.default_rng(1)
    x = rng.normal(0, 4, (300, 257)).astype(np.float32)
    g = rng.normal(0, 1, x.shape).astype(np.float32)
    for name in ("softmax_vjp.fast", "log_softmax_vjp.fast", "sigmoid_vjp.fast"):
        fn = registry.resolve(name).fn
        monkeypatch.setattr(fast_cpu, "THREADS", 1)
        one = fn(x, g)
        monkeypatch.setattr(fast_cpu, "THREADS", 2)
        monkeypatch.setattr(fast_cpu, "PARALLEL_MIN", 1)
        monkeypatch.setattr(fast_grad, "BLOCK_BYTES", 4096)
        assert np.array_equal(fn(x, g), one, equal_nan=True), name


def test_any_axis_and_shape():
    rng = np.random.default_rng(2)
    x = rng.normal(0, 5, (3, 40, 7)).astype(np.float32)
    for name in AXIS:
        impl = registry.resolve(name)
        for axis in (0, 1, 2, -1):
            gshape = np.delete(x.shape, axis) if name.startswith("logsumexp") else x.shape
            g = rng.normal(0, 1, gshape).astype(np.float32)
            got = impl.fn(x, g, axis=axis)
            assert got.shape == x.shape and got.dtype == np.float32
            assert judge(got, reference.evaluate(impl.function, x, g, axis=axis)).ok, (name, axis)


def _check(v, where):
    if isinstance(v, np.ndarray) and v.dtype.kind == "f":
        assert v.dtype == np.float32, f"{where} saw a {v.dtype} array"


class _Spied:
    """A NumPy callable (a ufunc with its ``.reduce``, a function) whose array arguments and results are checked."""

    def __init__(self, fn, where):
        self._fn, self._where = fn, where

    def __call__(self, *args, **kwargs):
        for v in list(args) + list(kwargs.values()):
            _check(v, self._where)
        out = self._fn(*args, **kwargs)
        for v in out if isinstance(out, tuple) else (out,):
            _check(v, self._where)
        return out

    def __getattr__(self, name):
        attr = getattr(self._fn, name)
        return _Spied(attr, f"{self._where}.{name}") if callable(attr) else attr


class _NoWideArrays:
    """Stands for ``numpy`` in the modules under test: every array going into or out of a NumPy function must be
    in the working format (float32 here), or an integer index.  Array methods (``.sum``) are not seen, but what
    they return flows into the functions that are."""

    def __init__(self, np_module):
        self._np = np_module

    def __getattr__(self, name):
        attr = getattr(self._np, name)
        if not callable(attr) or isinstance(attr, type):
            return attr
        return _Spied(attr, name)


@pytest.mark.parametrize("name", ALL)
def test_no_array_wider_than_float32_for_float32_and_bfloat16_data(monkeypatch, name):
    monkeypatch.setattr(fast_grad, "np", _NoWideArrays(np))
    monkeypatch.setattr(_shared, "np", _NoWideArrays(np))
    impl = registry.resolve(name)
    for dtype in ("float32", "bfloat16"):
        # the guarded rows too: the subnormal-weight case sends them there
        for case_name, args, kwargs in _cases(np.float32):
            if case_name == name:
                args = tuple(a.astype(dtype) if a.dtype.kind == "f" else a for a in args)
                assert impl.fn(*args, **kwargs).dtype == np.dtype(dtype)
    # and the check can fail: the wide reference version computes in float64
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(AssertionError, match="float64"):
        registry.resolve("softmax_vjp.centred").fn(x, x)


@pytest.mark.parametrize("name", ["cross_entropy_vjp.complement", "cross_entropy_vjp.fast"])
def test_cross_entropy_vjp_of_a_single_class_row_with_a_nan_logit_is_nan(monkeypatch, name):
    # regression: the sum over the classes other than the target is an empty 0 when the target is the only class,
    # and -g * 0 hid the NaN logit (found by sending every row through the guarded row version)
    impl = registry.resolve(name)
    x = np.array([[np.nan], [1.0]], dtype=np.float32)
    for g in ([0.0, 1.0], [1.0, np.nan]):
        g = np.array(g, dtype=np.float32)
        for rows_only in (False, True):
            if rows_only:
                monkeypatch.setattr(fast_grad, "_nonfinite_rows", lambda bad, O: np.ones_like(bad))
            got = impl.fn(x, np.array([0, 0]), g)
            assert judge(got, reference.evaluate("cross_entropy_vjp", x, np.array([0, 0]), g)).ok, (g, got)


@pytest.mark.parametrize("rows_only", [False, True])
def test_a_constant_cotangent_gives_an_exact_zero_where_exact_arithmetic_does(monkeypatch, rows_only):
    # regression: log_softmax's gradient of a flat row with a constant cotangent (-7e304, float64) came out 1e289
    # (g - sum(g) / n, the sum rounded) where 0 is exact; softmax's of any row with a constant g the same way
    if rows_only:
        monkeypatch.setattr(fast_grad, "_nonfinite_rows", lambda bad, O: np.ones_like(bad))
    for dtype, big in ((np.float64, -7.022238808055921e304), (np.float32, -1.3e36)):
        flat = np.full((2, 20), -100.0, dtype=dtype)
        g = np.full((2, 20), big, dtype=dtype)
        g[1] = 3.0
        assert not np.any(fast_grad.log_softmax_vjp(flat, g)), dtype
        x = np.random.default_rng(0).normal(0, 4, (2, 20)).astype(dtype)
        assert not np.any(fast_grad.softmax_vjp(x, g)), dtype
        for name, xs in (("log_softmax_vjp.fast", flat), ("softmax_vjp.fast", x)):
            impl = registry.resolve(name)
            assert judge(impl.fn(xs, g), reference.evaluate(impl.function, xs, g)).ok, (name, dtype)


@pytest.mark.parametrize("rows_only", [False, True])
def test_cross_entropy_vjp_at_the_target_with_a_cotangent_near_the_smallest_normal(monkeypatch, rows_only):
    # regression: -rest * q with q = g / S subnormal for g = 1.18e-38 carried rest (up to n) times q's rounding to
    # the target: 330 ULP in a flat row of 2,048 logits (`accumulation`, seed 4); -(g rest) / S rounds once
    if rows_only:
        monkeypatch.setattr(fast_grad, "_nonfinite_rows", lambda bad, O: np.ones_like(bad))
    x = np.random.default_rng(3).uniform(0, 0.003, (2, 2048)).astype(np.float32)
    t, g = np.array([1454, 7]), np.array([np.finfo(np.float32).tiny, 3e-39], dtype=np.float32)
    impl = registry.resolve("cross_entropy_vjp.fast")
    assert judge(impl.fn(x, t, g), reference.evaluate("cross_entropy_vjp", x, t, g)).ok
