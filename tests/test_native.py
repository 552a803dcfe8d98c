"""The fast path's compiled kernels (implementations/_fastkernels.c): built and loaded here, accurate to about one
rounding whatever the condition number, the policy's special values, both instruction-set copies, and the NumPy
version they fall back to; and the kernels of the gradients (softmax's, log_softmax's, logsumexp's VJP): every
family, both copies, the cases the NumPy version's guards exist for, the rows they leave to the row version."""

import numpy as np
import pytest

from implementations import _native, fast_cpu, fast_grad
from stability import reference, registry
from stability.metrics import judge, ulp_error
from stability.verify import verify

NAMES = ["softmax.fast", "log_softmax.fast", "logsumexp.fast"]
#: the copies this CPU runs (the AVX-512 machine runs both)
LEVELS = [lv for lv in (3, 4) if lv <= _native.level()]


def test_the_kernels_are_built_and_loaded():
    # the install builds them (setup.py); without a C compiler the NumPy version runs and this says why
    assert _native.LIB is not None, _native.WHY
    assert _native.level() in (3, 4) and LEVELS


@pytest.fixture(params=LEVELS, ids=lambda lv: f"x86-64-v{lv}")
def level(request):
    with _native.forced_level(request.param):
        yield request.param


@pytest.fixture()
def numpy_version(monkeypatch):
    """The fast path with the kernels switched off: its NumPy version."""
    monkeypatch.setattr(_native, "LIB", None)


def _wide_rows(seed):
    """Rows where x - max rounds in float32 (|x| up to 100, unlike max): the NumPy version is 10-70 ULP off there,
    inside the condition number; lengths off the vector width (1, 7, 17, 129, 300) and dominant and tied rows."""
    rng = np.random.default_rng(seed)
    rows = []
    for n in (1, 7, 17, 129, 300):
        for scale in (1, 10, 60):
            x = rng.normal(0, scale, (9, n))
            x[1] += 100.3  # offset: every x - max inexact
            x[2, 0] = x[2].max() + 80  # one dominant entry: the rest near the underflow threshold
            x[3, : n // 2 + 1] = x[3].max()  # ties at the max
            x[4] = np.round(x[4])  # integers: exact differences
            rows.append(x.astype(np.float32))
    return rows


def _errors(name, rows):
    impl = registry.resolve(name)
    worst = 0.0
    for x in rows:
        ref = reference.evaluate(impl.function, x, axis=-1)
        err = ulp_error(ref.rows(impl.fn(x, axis=-1)), ref)
        if impl.function == "logsumexp":
            # m + log1p(t): its error is in units of log1p(t), which can be many of a result that cancels
            out = np.abs(ref.rows(ref.output()).astype(np.float64))
            lp = np.abs(out - x.max(axis=-1, keepdims=True))
            err = err * np.spacing(out.astype(np.float32)) / np.spacing(np.maximum(out, lp).astype(np.float32))
        worst = max(worst, float(np.nanmax(err)))
    return worst


# one rounding of the result plus the float32 exp's error (measured at most 1.0 ULP) and the sum's
BOUND = {"softmax.fast": 2.5, "log_softmax.fast": 2.0, "logsumexp.fast": 1.5}


@pytest.mark.parametrize("name", NAMES)
def test_accurate_to_about_one_rounding_whatever_the_condition(level, name):
    assert _errors(name, _wide_rows(0)) <= BOUND[name]


@pytest.mark.parametrize("name", ["softmax.fast", "log_softmax.fast"])
def test_the_accuracy_bound_fails_the_numpy_version(numpy_version, name):
    # the bound above can fail: the NumPy version rounds x - max in float32 first, and misses it on these rows
    assert _errors(name, _wide_rows(0)) > BOUND[name]


def _specials():
    inf, nan = np.inf, np.nan
    return np.array([[0, 1, -inf, 2, -inf], [nan, 1, 2, 3, 4], [inf, 1, 2, 3, 4], [-inf] * 5, [inf, inf, 1, 2, nan],
                     [3e38, -3e38, 0, 1, 2], [1e-45, 0, -1e-45, 1e-40, 0], [-103.9, 0, -104, -87, -150],
                     [1, 1, 1, 1, 1]], dtype=np.float32)


@pytest.mark.parametrize("name", NAMES)
def test_special_rows_as_the_numpy_version_answers_them(level, name, monkeypatch):
    impl = registry.resolve(name)
    x = _specials()
    got = impl.fn(x)
    ref = reference.evaluate(impl.function, x, axis=-1)
    with monkeypatch.context() as m, np.errstate(all="ignore"):
        m.setattr(_native, "LIB", None)
        fallback = impl.fn(x)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(fallback))
    np.testing.assert_array_equal(np.isinf(got) * np.sign(got), np.isinf(fallback) * np.sign(fallback))
    assert judge(got, ref).ok
    finite = np.isfinite(ref.exact_hi)
    assert np.max(ulp_error(ref.rows(got), ref)[finite]) <= 2.5
    for shape in ((3, 0), (0, 5), (1, 1)):
        z = np.zeros(shape, dtype=np.float32)
        np.testing.assert_array_equal(impl.fn(z), reference.evaluate(impl.function, z, axis=-1).output())


@pytest.mark.parametrize("name", NAMES)
def test_every_family_passes_verify_in_each_copy(level, name):
    rec = verify(registry.resolve(name), "float32", examples=30, seed=level, shrink=False)
    assert rec.verdict == "pass", (rec.failed_families, rec.counterexample)


@pytest.mark.parametrize("name", NAMES)
def test_the_numpy_version_still_passes_verify(numpy_version, name):
    rec = verify(registry.resolve(name), "float32", examples=30, seed=1, shrink=False)
    assert rec.verdict == "pass", (rec.failed_families, rec.counterexample)


def test_blocks_on_threads_match_one_call(monkeypatch):
    monkeypatch.setattr(fast_cpu, "CHUNK_BYTES", 256)  # a row at a time
    monkeypatch.setattr(fast_cpu, "PARALLEL_MIN", 1)
    monkeypatch.setattr(fast_cpu, "THREADS", 3)
    x = np.random.default_rng(2).normal(0, 4, (37, 50)).astype(np.float32)
    for name in ("softmax", "log_softmax", "logsumexp"):
        whole = np.empty((37, 50) if name != "logsumexp" else (37,), dtype=np.float32)
        _native.rows(name, x, whole)
        np.testing.assert_array_equal(getattr(fast_cpu, name)(x), whole)


def test_the_caller_never_waits_for_a_worker_that_has_not_started(monkeypatch, asleep_pool):
    pool = asleep_pool
    # on a VM an idle vCPU takes milliseconds to wake: the caller takes every row itself meanwhile, and the
    # worker that starts after the call ended touches nothing
    monkeypatch.setattr(fast_cpu, "THREADS", 2)
    monkeypatch.setattr(fast_cpu, "PARALLEL_MIN", 1)
    monkeypatch.setattr(fast_cpu, "CHUNK_BYTES", 256)
    x = np.random.default_rng(5).normal(0, 4, (37, 50)).astype(np.float32)
    for name in ("softmax", "log_softmax", "logsumexp"):
        got = getattr(fast_cpu, name)(x)
        kept = got.copy()
        one = np.empty_like(got)
        _native.rows(name, x, one)
        np.testing.assert_array_equal(got, one)
        pool.wake()
        np.testing.assert_array_equal(got, kept)
    assert len(pool.jobs) == 3


def test_a_thread_that_joins_a_closed_call_returns_without_touching_the_rows():
    x = np.ones((4, 8), np.float32)
    out = np.zeros_like(x)
    call = _native.shared("softmax", x, out, chunk=1)
    _native.close(call)
    call()
    assert not out.any()


def test_rows_longer_than_the_kernels_take_go_to_numpy(monkeypatch):
    calls = []
    monkeypatch.setattr(_native, "MAX_ROW", 8)
    monkeypatch.setattr(_native, "shared", lambda *a, **k: calls.append(a))
    x = np.random.default_rng(3).normal(0, 1, (4, 9)).astype(np.float32)
    ref = reference.evaluate("softmax", x, axis=-1)
    assert np.nanmax(ulp_error(fast_cpu.softmax(x), ref)) <= 8 and not calls


# ---- the gradients ---------------------------------------------------------------------------------------------

VJPS = ["softmax_vjp.fast", "log_softmax_vjp.fast", "logsumexp_vjp.fast"]


@pytest.mark.parametrize("name", VJPS)
def test_every_gradient_family_passes_verify_in_each_copy(level, name):
    for dtype in ("float32", "bfloat16"):
        rec = verify(registry.resolve(name), dtype, examples=20, seed=level, shrink=False)
        assert rec.verdict == "pass", (dtype, rec.failed_families, rec.counterexample)


def _vjp_cases():
    """Where the NumPy version needs its guards: a weight below float32's range (e^-100, e^-120) times a
    loss-scaled cotangent (2^100 and more; results near 2^-44, normal numbers), cotangents near the largest float
    (their sums overflow float32), a constant cotangent (exactly 0 in exact arithmetic), ties, masked entries."""
    x = np.array([[0.0, -100.0, -3.0, -95.5], [1.0, -99.0, 0.5, -120.0]], dtype=np.float32)
    g = np.array([[1.0, 2.0 ** 100, -2.0, 3.0 * 2 ** 99], [0.5, -(2.0 ** 101), 1.0, 2.0 ** 120]], dtype=np.float32)
    yield "softmax_vjp.fast", x, g
    yield "log_softmax_vjp.fast", x, np.array([[2.0 ** 100, 0, -2, 0], [2.0 ** 110, 0, 1, 0]], dtype=np.float32)
    yield "logsumexp_vjp.fast", x, np.array([2.0 ** 100, -(2.0 ** 110)], dtype=np.float32)
    big = np.float32(2.0 ** 127)
    xb = np.array([[0.0, 0.0, -1.0, -2.0], [3.0, -np.inf, 3.0, 1.0]], dtype=np.float32)
    gb = np.array([[big, -big, big, -big], [big, big, -big, big]], dtype=np.float32)
    yield "softmax_vjp.fast", xb, gb
    yield "log_softmax_vjp.fast", xb, gb
    flat = np.full((2, 20), -100.0, dtype=np.float32)
    gc = np.full((2, 20), -1.3e36, dtype=np.float32)
    gc[1] = 3.0
    yield "log_softmax_vjp.fast", flat, gc
    yield "softmax_vjp.fast", np.random.default_rng(0).normal(0, 4, (2, 20)).astype(np.float32), gc


@pytest.mark.parametrize("case", range(7))
def test_gradient_cases_the_numpy_version_guards(level, case):
    name, x, g = list(_vjp_cases())[case]
    impl = registry.resolve(name)
    got = impl.fn(x, g, axis=-1)
    assert judge(got, reference.evaluate(impl.function, x, g, axis=-1)).ok, (name, got)
    if case >= 5:  # a constant cotangent: exactly 0, as in exact arithmetic
        assert not np.any(got)


def test_gradient_rows_the_kernels_leave_go_to_the_row_version(level):
    inf, nan = np.inf, np.nan
    x = np.array([[0, 1, 2], [nan, 1, 2], [inf, 1, 2], [-inf] * 3, [0, 1, 2], [0, 1, 2]], dtype=np.float32)
    g = np.array([[1, 2, 3], [1, 2, 3], [1, 2, 3], [1, 2, 3], [nan, 1, 2], [inf, 1, 2]], dtype=np.float32)
    flags = np.zeros(len(x), dtype=np.uint8)
    _native.rows("softmax_vjp", x, np.empty_like(x), g, flags)
    assert flags.tolist() == [0, 1, 1, 1, 1, 1]
    for name, gg in (("softmax_vjp.fast", g), ("log_softmax_vjp.fast", g), ("logsumexp_vjp.fast", g[:, 0].copy())):
        impl = registry.resolve(name)
        got = impl.fn(x, gg, axis=-1)
        assert judge(got, reference.evaluate(impl.function, x, gg, axis=-1)).ok, (name, got)


def test_gradients_match_across_threads(monkeypatch):
    rng = np.random.default_rng(1)
    x = rng.normal(0, 4, (300, 257)).astype(np.float32)
    g = rng.normal(0, 1, x.shape).astype(np.float32)
    for name in ("softmax_vjp", "log_softmax_vjp"):
        fn = getattr(fast_grad, name)
        monkeypatch.setattr(fast_cpu, "THREADS", 1)
        one = fn(x, g)
        monkeypatch.setattr(fast_cpu, "THREADS", 3)
        monkeypatch.setattr(fast_cpu, "PARALLEL_MIN", 1)
        assert np.array_equal(fn(x, g), one), name


def test_gradient_kernels_are_what_runs():
    # the compiled path is taken for float32 rows (not the NumPy blocks): a block function that fails proves it
    x = np.random.default_rng(2).normal(0, 1, (8, 16)).astype(np.float32)
    assert set(fast_grad._COMPILED) == {fast_grad._softmax_vjp_block, fast_grad._log_softmax_vjp_block,
                                        fast_grad._logsumexp_vjp_block}
    calls = []
    real = _native.shared
    _native_shared = lambda *a, **k: (calls.append(a[0]), real(*a, **k))[1]  # noqa: E731
    try:
        _native.shared = _native_shared
        fast_grad.softmax_vjp(x, x)
        fast_grad.logsumexp_vjp(x, x[:, 0].copy())
    finally:
        _native.shared = real
    assert set(calls) == {"softmax_vjp", "logsumexp_vjp"}
