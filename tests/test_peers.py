"""A peer's declared expectation is a claim about someone else's code, and rots when that code changes: every
registered peer that is importable (SciPy, PyTorch, JAX) meets its declaration in every dtype it takes, with a
few examples per family here and the default 25 under ``-m slow`` (issue 18)."""

import importlib.util

import pytest

from stability import registry
from stability.verify import dtypes_for, verify

PEERS = [i for i in registry.implementations() if i.origin == "peer"]
# SciPy's and PyTorch's peers are checked at 10 examples by tests/test_implementations.py; JAX's here, at 3
# (JAX compiles every new shape: seconds per peer and dtype)
FEW = [i for i in PEERS if i.library == "jax"]
ALL_DTYPES = ["float16", "bfloat16", "float32", "float64"]


def _check(impl, examples):
    for dtype in dtypes_for(impl, ALL_DTYPES):
        rec = verify(impl, dtype, examples=examples, seed=1, shrink=False)
        assert rec.meets_expectation, (dtype, rec.failed_families, rec.counterexample)


@pytest.mark.skipif(not FEW, reason="JAX is an optional peer (pip install jax); SciPy's and PyTorch's peers are "
                    "checked in tests/test_implementations.py")
@pytest.mark.parametrize("impl", FEW, ids=[i.name for i in FEW])
def test_peer_meets_its_declaration(impl):
    _check(impl, examples=3)


@pytest.mark.slow
@pytest.mark.parametrize("impl", PEERS, ids=[i.name for i in PEERS])
def test_peer_meets_its_declaration_at_the_default_examples(impl):
    _check(impl, examples=25)


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is an optional peer (pip install jax)")
def test_jax_64_bit_mode_is_scoped_to_the_peers_calls():
    # issue 18: registering the JAX peers turned jax_enable_x64 on for the whole process, changing a user's own
    # JAX code judged in the same run; float64 is now judged inside jax.enable_x64 for each call alone
    import jax
    import numpy as np

    from stability.verify import run_call

    assert not jax.config.jax_enable_x64
    out = run_call(registry.resolve("jax.softmax"), (np.array([1.0, 2.0, 3.0]),), {"axis": 0})
    assert out.ok and out.got.dtype == np.float64
    assert not jax.config.jax_enable_x64
