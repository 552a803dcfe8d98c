"""Every registered CPU implementation at the issue's shapes, float32 and float64, grouped function x shape x dtype.

Excluded from the default run (marker ``bench``); run with ``tox -e bench`` or
``python3 -m pytest -m bench tests/benchmarks --benchmark-enable``.  Every timed variant the sweep CLI times
(``stability.bench.sweep._cases_for``: preallocated output where the implementation accepts ``out=`` and the
allocating call; the fast path and PyTorch at one thread and at all), and in each group the machine's roofs
(``stability.bench.roofline``: the copy, the exp pass on one thread and on the fast path's thread count), so that
pytest-benchmark's table sets each figure against the roof it is judged by.  The sweep CLI
(``python3 -m stability bench``) times the same cases interleaved and writes the fractions.
"""

import numpy as np
import pytest

from implementations import fast_cpu
from stability import registry
from stability.bench import roofline
from stability.bench.sweep import DEFAULT_SHAPES, _cases_for
from stability.verify import dtypes_for

FUNCTIONS = ["softmax", "log_softmax", "logsumexp", "sigmoid", "log_sigmoid"]


def _kwargs(impl):
    return {"axis": -1} if impl.function in ("softmax", "log_softmax", "logsumexp") else {}


def _variants(impl):
    """The sweep's timed variants of ``impl`` (labels only: enumerated on a 4-element input)."""
    tiny = np.zeros(4, dtype=np.float32 if "float32" in dtypes_for(impl, ["float32"]) else np.float64)
    with np.errstate(all="ignore"):
        return list(range(len(_cases_for(impl, (tiny,), _kwargs(impl)))))


CASES = [(impl, shape, dtype, k) for f in FUNCTIONS for impl in registry.implementations(f) if impl.library != "cupy"
         for shape in DEFAULT_SHAPES for dtype in dtypes_for(impl, ["float32", "float64"]) for k in _variants(impl)]
ROOF_THREADS = sorted({1, fast_cpu.THREADS})
ROOFS = [(f, shape, dtype, key) for f in FUNCTIONS for shape in DEFAULT_SHAPES for dtype in ("float32", "float64")
         for key in roofline.cases(np.zeros(2), threads=ROOF_THREADS)]


def _group(function, shape, dtype):
    return f"{function} {'x'.join(map(str, shape))} {dtype}"


@pytest.mark.bench
@pytest.mark.parametrize("impl,shape,dtype,k", CASES,
                         ids=[f"{i.name}-{'x'.join(map(str, s))}-{d}-{k}" for i, s, d, k in CASES])
def test_bench(benchmark, impl, shape, dtype, k):
    x = np.random.default_rng(0).normal(0, 3, shape).astype(dtype)
    benchmark.group = _group(impl.function, shape, dtype)
    with np.errstate(all="ignore"):
        label, threads, alloc, call = _cases_for(impl, (x,), _kwargs(impl))[k]
    benchmark.name = f"{label} {alloc}"
    benchmark.extra_info.update(implementation=label, threads=threads, alloc=alloc, elements=x.size)
    with np.errstate(all="ignore"):
        benchmark(call)


@pytest.mark.bench
@pytest.mark.parametrize("function,shape,dtype,key", ROOFS,
                         ids=[f"{f}-{'x'.join(map(str, s))}-{d}-{k}" for f, s, d, k in ROOFS])
def test_roof(benchmark, function, shape, dtype, key):
    x = np.random.default_rng(0).normal(0, 3, shape).astype(dtype)
    benchmark.group = _group(function, shape, dtype)
    benchmark.name = key
    benchmark.extra_info.update(implementation=key, elements=x.size)
    benchmark(roofline.cases(x, threads=ROOF_THREADS)[key])
