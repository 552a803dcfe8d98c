"""Throughput of the reference (not a timed test: run with --benchmark-enable to measure).

    python -m pytest tests/benchmarks/test_reference_speed.py --benchmark-enable --benchmark-columns=median,ops

Softmax of (1000, 1000) rows, logits ~ N(0, 10^2); elements/s = 1e6 / median seconds.  With the benchmark
disabled (the default test run) each case runs once and checks that every value was certified by a fast tier.
"""

import numpy as np
import pytest

from stability import reference

SHAPE = (1000, 1000)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("with_kappa", [False, True], ids=["values", "values+kappa"])
def test_reference_softmax_throughput(benchmark, dtype, with_kappa):
    x = np.random.default_rng(0).normal(0, 10, SHAPE).astype(dtype)
    benchmark.group = f"reference softmax {dtype} {SHAPE}"
    ref = benchmark(reference.evaluate, "softmax", x, with_kappa=with_kappa)
    assert "mpmath" not in ref.settled_by  # N(0, 10^2) logits never need the slow tier
    if benchmark.stats is not None and benchmark.stats.stats.median:
        benchmark.extra_info["elements_per_s"] = x.size / benchmark.stats.stats.median
