"""The Array API versions: one source, judged on array-api-strict (as registered), NumPy (all four dtypes) and,
where installed, PyTorch; on CuPy in tests/test_gpu.py."""

import dataclasses
import importlib.util

import pytest

from stability import registry
from stability.verify import verify

NAMES = ["array_api.softmax", "array_api.log_softmax", "array_api.logsumexp"]


@pytest.mark.parametrize("name", NAMES)
def test_on_array_api_strict(name):
    impl = registry.resolve(name)
    assert impl.library == "array_api"
    for dtype in ("float32", "float64"):
        rec = verify(impl, dtype, examples=12, seed=1)
        assert rec.verdict == "pass", (dtype, rec.failed_families, rec.counterexample)


@pytest.mark.parametrize("name", NAMES)
def test_same_code_on_numpy_in_every_dtype(name):
    impl = dataclasses.replace(registry.resolve(name), library="numpy", dtypes=None)
    for dtype in ("float16", "bfloat16", "float32", "float64"):
        rec = verify(impl, dtype, examples=8, seed=2)
        assert rec.verdict == "pass", (dtype, rec.failed_families, rec.counterexample)


@pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                    reason="PyTorch is an optional peer (pip install torch==2.13.0)")
@pytest.mark.parametrize("name", NAMES)
def test_same_code_on_torch(name):
    impl = dataclasses.replace(registry.resolve(name), library="torch")
    rec = verify(impl, "float32", examples=8, seed=3, families=["standard", "dominant", "masked", "posinf", "nan"])
    assert rec.verdict == "pass", (rec.failed_families, rec.counterexample)
