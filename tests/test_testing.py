"""stability.testing: the one-call guard for a user's own test suite."""

import numpy as np
import pytest

import handmade as hm
from stability.testing import assert_example, assert_stable


def test_assert_stable_passes_careful_code():
    assert_stable(hm.log_sigmoid_stable, function="log_sigmoid", examples=10)


def test_assert_stable_raises_with_the_counterexample():
    with pytest.raises(AssertionError, match="counterexample") as info:
        assert_stable(hm.log_sigmoid_naive, function="log_sigmoid", examples=10)
    assert "assert_example('log_sigmoid'" in str(info.value)


def test_assert_stable_takes_a_spec():
    assert_stable("sigmoid.stable", function="sigmoid", dtypes=["float32"], examples=5)


def test_assert_example():
    assert_example("softmax", hm.softmax_shifted, np.array([1.0, 2.0, 3.0], dtype=np.float32), axis=-1)
    with pytest.raises(AssertionError, match="ULP"):
        assert_example("softmax", hm.softmax_naive, np.array([0.0, 100.0], dtype=np.float32), axis=-1)
