"""Code from elsewhere is called by the suite's convention (``stability.adapt``), so its numerics are judged, not
its signature: a per-vector function, a ``dim=`` axis, a ``reduction=`` loss, PyTorch's own functions."""

import math

import numpy as np
import pytest

from stability.adapt import adapt, axis_mode, library_of
from stability.registry import Implementation, resolve
from stability.testing import assert_example, assert_stable
from stability.verify import run_call, verify


def softmax_of_vector(v):
    """a textbook softmax of one vector"""
    e = np.exp(v - v.max())
    return e / e.sum()


def careless_softmax_of_vector(v):
    e = np.exp(v)
    return e / e.sum()


def logsumexp_of_vector(v):
    m = v.max()
    return (m + np.log(np.exp(v - m).sum())).astype(v.dtype)


def softmax_dim(x, dim=-1):
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def bce_mean_by_default(x, y, reduction="mean"):
    loss = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
    return loss.mean() if reduction == "mean" else loss


def test_modes_are_read_from_the_signature():
    assert axis_mode(softmax_of_vector, "numpy") == "lanes"
    assert axis_mode(softmax_dim, "numpy") == "dim"
    assert axis_mode(lambda x, axis=-1: x, "numpy") == "axis"
    assert axis_mode(lambda x, **kw: x, "numpy") == "axis"
    assert adapt(softmax_dim, "sigmoid", "numpy") == (softmax_dim, "")  # elementwise: nothing to adapt


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_a_per_vector_function_is_called_lane_by_lane(axis):
    x = np.random.default_rng(axis + 5).normal(0, 3, (3, 4, 5)).astype(np.float32)
    call, note = adapt(softmax_of_vector, "softmax", "numpy")
    assert "each 1-D lane" in note
    want = softmax_dim(x, dim=axis)
    np.testing.assert_array_equal(call(x, axis=axis), want)
    lse, _ = adapt(logsumexp_of_vector, "logsumexp", "numpy")
    got = lse(x, axis=axis)
    assert got.shape == tuple(np.delete(np.array(x.shape), axis))
    np.testing.assert_allclose(got, np.log(np.exp(x.astype(np.float64)).sum(axis=axis)), rtol=1e-5)


def test_lanes_of_an_empty_batch_keep_the_shape():
    call, _ = adapt(softmax_of_vector, "softmax", "numpy")
    assert call(np.zeros((0, 3), np.float32), axis=-1).shape == (0, 3)
    lse, _ = adapt(logsumexp_of_vector, "logsumexp", "numpy")
    assert lse(np.zeros((0, 3), np.float32), axis=-1).shape == (0,)


def test_a_per_vector_softmax_is_judged_on_its_numerics(tmp_path):
    assert_stable(softmax_of_vector, function="softmax", dtypes=["float32"], examples=15)
    with pytest.raises(AssertionError, match="not numerically stable"):
        assert_stable(careless_softmax_of_vector, function="softmax", dtypes=["float32"], examples=15)


def test_dim_and_reduction_are_translated():
    assert_stable(softmax_dim, function="softmax", dtypes=["float64"], examples=10)
    call, note = adapt(bce_mean_by_default, "binary_cross_entropy_with_logits", "numpy")
    assert note == "called with reduction='none'"
    assert_example("binary_cross_entropy_with_logits", bce_mean_by_default,
                   np.array([-3.0, 0.5, 20.0]), np.array([0.0, 1.0, 0.5]))


def test_resolve_records_how_user_code_is_called(tmp_path):
    f = tmp_path / "vec.py"
    f.write_text("import numpy as np\ndef sm(v):\n    '''mine'''\n    e = np.exp(v - v.max())\n"
                 "    return e / e.sum()\n")
    impl = resolve(f"{f}:sm", "softmax")
    assert impl.library == "numpy" and impl.description.startswith("mine [takes no axis")
    assert impl.extra["adapted"]
    rec = verify(impl, "float32", examples=5, families=["standard", "dominant"])
    assert rec.verdict == "pass", rec.counterexample


def test_an_array_the_library_cannot_take_is_a_verdict_not_a_crash():
    impl = Implementation("odd", "sigmoid", lambda x: x, "no_such_library")
    out = run_call(impl, (np.array([0.5], np.float32),), {})
    assert not out.ok and math.isinf(out.max_ratio) and "cannot take float32 input" in out.reason


def test_library_is_read_from_the_package():
    assert library_of(np.exp) == "numpy"
    assert library_of(lambda x: x, "torch.nn.functional") == "torch"
    f = lambda x: x  # noqa: E731
    f.__stability_library__ = "jax"
    assert library_of(f, "torch") == "jax"


try:
    import torch  # noqa: F401
except ImportError:
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is an optional peer (pip install torch==2.13.0)")


@needs_torch
def test_torch_functions_are_called_with_dim_on_tensors():
    sm = resolve("torch:softmax", "softmax")  # a C builtin: no readable signature, PyTorch's dim convention
    assert sm.library == "torch" and "dim=" in sm.description
    assert verify(sm, "float32", examples=5, families=["standard", "offset"]).verdict == "pass"
    ce = resolve("torch.nn.functional:cross_entropy", "cross_entropy")
    assert "reduction='none'" in ce.description
    out = run_call(ce, (np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]), np.array([2, 0])), {})
    assert out.got.shape == (2,) and out.ok, out.reason


@needs_torch
def test_bfloat16_reaches_torch_and_comes_back_exactly():
    import ml_dtypes

    x = np.array([-3.0, 0.0078125, 1.5, 300.0], dtype=ml_dtypes.bfloat16)
    ident = Implementation("ident", "sigmoid", lambda t: t, "torch")
    out = run_call(ident, (x,), {})
    assert out.got.dtype == x.dtype and np.array_equal(out.got.view(np.uint16), x.view(np.uint16))
