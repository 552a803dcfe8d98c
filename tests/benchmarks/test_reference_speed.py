"""Throughput of the reference (not a timed test: run with --benchmark-enable to measure).

    python -m pytest tests/benchmarks/test_reference_speed.py --benchmark-enable --benchmark-columns=median,ops

Softmax of (1000, 1000) rows, logits ~ N(0, 10^2); elements/s = 1e6 / median seconds.  The gradients: every VJP
of the function table on the same logits (probabilities ~ U(0, 1) for logit), with a cotangent ~ N(0, 1) shaped
like the forward's output (``stability.bench.sweep.arguments``), values only.  With the benchmark disabled (the
default test run) each case runs once and checks that every value was certified by a fast tier.

The reference runs here as it runs in the suite's own processes (the CLI and its workers): with glibc keeping
freed memory for the next array (``stability.memory``); without it a third of the time is page faults.
"""

import numpy as np
import pytest

from stability import reference
from stability.bench.sweep import arguments
from stability.functions import FUNCTIONS

SHAPE = (1000, 1000)


@pytest.fixture(autouse=True, scope="module")
def _as_the_suite_runs():
    from stability.memory import keep_freed_memory

    assert keep_freed_memory(), "glibc's mallopt refused: the figures would not be the suite's"
VJPS = [name for name, f in FUNCTIONS.items() if f.is_vjp]


def _record(benchmark, size, ref):
    """elements/s and the share of the outputs each tier settled, in the saved run's extra_info."""
    total = sum(ref.settled_by.values()) or 1
    benchmark.extra_info["settled_by"] = {tier: n / total for tier, n in ref.settled_by.items()}
    if benchmark.stats is not None and benchmark.stats.stats.median:
        benchmark.extra_info["elements_per_s"] = size / benchmark.stats.stats.median


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("with_kappa", [False, True], ids=["values", "values+kappa"])
def test_reference_softmax_throughput(benchmark, dtype, with_kappa):
    x = np.random.default_rng(0).normal(0, 10, SHAPE).astype(dtype)
    benchmark.group = f"reference softmax {dtype} {SHAPE}"
    ref = benchmark(reference.evaluate, "softmax", x, with_kappa=with_kappa)
    assert "mpmath" not in ref.settled_by  # N(0, 10^2) logits never need the slow tier
    _record(benchmark, x.size, ref)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("function", VJPS)
def test_reference_vjp_throughput(benchmark, function, dtype):
    rng = np.random.default_rng(0)
    args, kwargs = arguments(function, rng.normal(0, 10, SHAPE).astype(dtype), rng)
    benchmark.group = f"reference gradients {dtype} {SHAPE}"
    ref = benchmark(reference.evaluate, function, *args, with_kappa=False, **kwargs)
    assert "mpmath" not in ref.settled_by, ref.settled_by
    _record(benchmark, args[0].size, ref)
