"""Every registered CPU implementation at the issue's shapes, float32 and float64, grouped function x shape x dtype.

Excluded from the default run (marker ``bench``); run with ``tox -e bench`` or
``python3 -m pytest -m bench tests/benchmarks --benchmark-enable``.  Preallocated outputs where the implementation
accepts ``out=`` (and the allocating call separately); the sweep CLI (``python3 -m stability bench``) adds the
copy/exp roofline in the same interleaved run.
"""

import numpy as np
import pytest

from stability import registry
from stability.bench.sweep import DEFAULT_SHAPES, _cases_for
from stability.verify import dtypes_for

FUNCTIONS = ["softmax", "log_softmax", "logsumexp", "sigmoid", "log_sigmoid"]
CASES = [(impl, shape, dtype) for f in FUNCTIONS for impl in registry.implementations(f) if impl.library != "cupy"
         for shape in DEFAULT_SHAPES for dtype in dtypes_for(impl, ["float32", "float64"])]


@pytest.mark.bench
@pytest.mark.parametrize("impl,shape,dtype", CASES,
                         ids=[f"{i.name}-{'x'.join(map(str, s))}-{d}" for i, s, d in CASES])
def test_bench(benchmark, impl, shape, dtype):
    x = np.random.default_rng(0).normal(0, 3, shape).astype(dtype)
    kwargs = {"axis": -1} if impl.function in ("softmax", "log_softmax", "logsumexp") else {}
    benchmark.group = f"{impl.function} {'x'.join(map(str, shape))} {dtype}"
    label, threads, alloc, call = _cases_for(impl, (x,), kwargs)[0]
    benchmark.extra_info.update(implementation=label, threads=threads, alloc=alloc, elements=x.size)
    with np.errstate(all="ignore"):
        benchmark(call)
