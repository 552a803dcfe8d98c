"""The fast CPU path's segmented (long-row) and threaded code paths, forced on small inputs, pass verify."""

import numpy as np
import pytest

from implementations import fast_cpu
from stability import reference, registry
from stability.metrics import judge
from stability.verify import verify


@pytest.fixture()
def tiny_blocks(monkeypatch):
    monkeypatch.setattr(fast_cpu, "SEGMENT", 8)
    monkeypatch.setattr(fast_cpu, "PARALLEL_MIN", 1)
    monkeypatch.setattr(fast_cpu, "BLOCK_BYTES", 64)
    monkeypatch.setattr(fast_cpu, "THREADS", 2)


@pytest.mark.parametrize("name", ["softmax.fast", "log_softmax.fast", "logsumexp.fast"])
def test_segmented_and_threaded_paths_pass_verify(tiny_blocks, name):
    impl = registry.resolve(name)
    for dtype in ("float32", "float64"):
        rec = verify(impl, dtype, examples=15, seed=4, families=["standard", "dominant", "masked", "posinf", "nan",
                                                                  "ascending", "overflow"])
        assert rec.verdict == "pass", (dtype, rec.failed_families, rec.counterexample)


@pytest.mark.parametrize("name", ["softmax.fast", "log_softmax.fast", "logsumexp.fast"])
def test_out_argument_and_non_last_axis(name):
    impl = registry.resolve(name)
    x = np.random.default_rng(0).normal(0, 5, (3, 200, 7)).astype(np.float32)
    for axis in (0, 1, 2, -1):
        ref = reference.evaluate(impl.function, x, axis=axis)
        assert judge(impl.fn(x, axis=axis), ref).ok
    out = np.empty(ref.output().shape, dtype=np.float32)
    res = impl.fn(x, axis=-1, out=out)
    assert res is out and judge(out, ref).ok


@pytest.mark.parametrize("name", ["softmax.fast", "log_softmax.fast", "logsumexp.fast"])
def test_empty_axis_follows_the_policy_instead_of_raising(name):
    # regression: log_softmax.fast and logsumexp.fast raised "cannot reshape array of size 0" on a (1, 0) input,
    # found by the report's special-values section
    impl = registry.resolve(name)
    rec = verify(impl, "float32", examples=10, families=["empty"])
    assert rec.verdict == "pass", rec.counterexample
    for shape, axis in (((3, 0), -1), ((0, 5), -1), ((2, 0, 3), 1)):
        x = np.zeros(shape, dtype=np.float32)
        assert judge(impl.fn(x, axis=axis), reference.evaluate(impl.function, x, axis=axis)).ok


def test_blocks_never_wait_for_a_worker_that_has_not_started(monkeypatch, asleep_pool):
    pool = asleep_pool
    # the NumPy blocks (float64 here) as the compiled kernels: the caller takes every block while the worker
    # sleeps, and the worker that wakes after the call touches nothing
    x = np.random.default_rng(4).normal(0, 4, (64, 300))
    with fast_cpu.threads(1):
        one = {name: getattr(fast_cpu, name)(x) for name in ("softmax", "log_softmax", "logsumexp")}
    monkeypatch.setattr(fast_cpu, "THREADS", 2)
    monkeypatch.setattr(fast_cpu, "PARALLEL_MIN", 1)
    monkeypatch.setattr(fast_cpu, "BLOCK_BYTES", 4096)
    for name, want in one.items():
        got = getattr(fast_cpu, name)(x)
        kept = got.copy()
        pool.wake()
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(got, kept)
    assert pool.jobs


def test_an_exception_in_any_block_is_raised_to_the_caller(monkeypatch):
    monkeypatch.setattr(fast_cpu, "THREADS", 2)
    monkeypatch.setattr(fast_cpu, "PARALLEL_MIN", 1)

    def block(a, b):
        if a == 7:
            raise ZeroDivisionError("block 7")
        return a

    with pytest.raises(ZeroDivisionError, match="block 7"):
        fast_cpu._run(block, [(i, i + 1) for i in range(40)], 40)
    assert fast_cpu._run(lambda a, b: a, [(i, i + 1) for i in range(40)], 40) == list(range(40))
