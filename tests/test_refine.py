"""The compass search behind worst-case refinement: steps of exact ULPs, and a climb to a narrow peak."""

import numpy as np

from stability.formats import format_of
from stability.refine import _step, _step_all, climb, climb_each


def test_steps_are_whole_ulps_in_every_format():
    f32, f16 = format_of("float32"), format_of("float16")
    assert _step(1.0, 0, 1, f32) == 1.0 + 2.0**-23
    assert _step(0.0, 0, 1, f32) == 2.0**-149  # from zero: the smallest subnormal
    assert _step(1.0, 3, -1, f16) == 1.0 - 8 * 2.0**-10
    assert _step(65504.0, 0, 1, f16) is None  # past the largest float16: no step
    x = np.array([1.0, -2.0, 0.0], dtype=np.float32)
    assert np.array_equal(_step_all(x, 0, 1, f32), [1 + 2.0**-23, -2 + 2.0**-22, 2.0**-149])


def test_climb_finds_a_narrow_peak_far_from_the_start():
    peak = 1234.5678
    score = lambda x: float(np.exp(-abs(float(x[0]) - peak) / 0.001) + 1e-3 / (1 + abs(float(x[0]) - peak)))  # noqa
    x, best, used = climb(score, np.array([3.0]), [0], evals=2000)
    assert abs(float(x[0]) - peak) < 1e-9 * peak and best > 0.99 and used <= 2000


def test_climb_each_moves_every_element_on_its_own():
    peaks = np.array([-50.25, 3.0e-5, 7.0])
    score_each = lambda x: -np.abs(x - peaks) / np.abs(peaks)  # noqa: E731
    x, used = climb_each(score_each, np.array([-1.0, 1e-3, 1.0]), evals=500)
    assert np.allclose(x, peaks, rtol=1e-12) and used < 500
