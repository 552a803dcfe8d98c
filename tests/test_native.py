"""The fast path's compiled kernels (implementations/_fastkernels.c): built and loaded here, accurate to about one
rounding whatever the condition number, the policy's special values, both instruction-set copies, and the NumPy
version they fall back to."""

import numpy as np
import pytest

from implementations import _native, fast_cpu
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
    monkeypatch.setattr(fast_cpu, "BLOCK_BYTES", 256)
    monkeypatch.setattr(fast_cpu, "PARALLEL_MIN", 1)
    monkeypatch.setattr(fast_cpu, "THREADS", 3)
    x = np.random.default_rng(2).normal(0, 4, (37, 50)).astype(np.float32)
    for name in ("softmax", "log_softmax", "logsumexp"):
        whole = np.empty((37, 50) if name != "logsumexp" else (37,), dtype=np.float32)
        _native.rows(name, x, whole)
        np.testing.assert_array_equal(getattr(fast_cpu, name)(x), whole)


def test_rows_longer_than_the_kernels_take_go_to_numpy(monkeypatch):
    calls = []
    monkeypatch.setattr(_native, "MAX_ROW", 8)
    monkeypatch.setattr(_native, "rows", lambda *a: calls.append(a))
    x = np.random.default_rng(3).normal(0, 1, (4, 9)).astype(np.float32)
    ref = reference.evaluate("softmax", x, axis=-1)
    assert np.nanmax(ulp_error(fast_cpu.softmax(x), ref)) <= 8 and not calls
