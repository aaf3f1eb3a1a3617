"""Bucket values from the lock-in's recorded output through a pattern sequence."""

import numpy as np
import pytest

from reconstruction.fly import LockInFilter
from reconstruction.pattern_stream import pattern_values, step_response


@pytest.mark.parametrize("n_poles", [1, 2, 3, 4])
def test_the_step_response_is_the_filters(n_poles):
    tau, dt = 0.03, 1 / 512
    flt = LockInFilter(tau, n_poles, dt)
    u = np.r_[0.0, np.ones(200)]  # settled at 0, then a unit step over the first interval
    np.testing.assert_allclose(flt.forward(u)[1:], step_response(np.arange(1, 201) * dt, tau,
                                                                 n_poles), atol=1e-12)
    assert step_response(np.array([-1.0, 0.0]), tau, n_poles).tolist() == [0.0, 0.0]


def _sequence(b, dwell, tau, n_poles, rate):
    s = np.arange(b.size) * dwell
    t = np.arange(0.0, b.size * dwell, 1 / rate)
    y = np.zeros_like(t)
    for j in range(b.size):
        on = 1.0 if j == 0 else step_response(t - s[j], tau, n_poles)
        off = step_response(t - s[j + 1], tau, n_poles) if j + 1 < b.size else 0.0
        y += b[j] * (on - off)
    return t, y, s


@pytest.mark.parametrize("dwell_tc", [0.5, 1.0, 3.0])
def test_each_patterns_bucket_is_recovered_whatever_the_filters_memory(dwell_tc):
    rng = np.random.default_rng(1)
    b = rng.normal(1.0, 0.5, 150)
    t, y, s = _sequence(b, dwell_tc * 0.03, 0.03, 2, 512.0)
    np.testing.assert_allclose(pattern_values(t, y, s, 0.03, 2), b, atol=1e-9)
    # one reading at the end of each pattern keeps the previous patterns' buckets
    ends = np.searchsorted(t, s + dwell_tc * 0.03) - 1
    assert np.max(np.abs(y[ends] - b)) > 0.05


def test_noise_averages_down_and_unconstrained_patterns_are_nan():
    rng = np.random.default_rng(2)
    b = rng.normal(1.0, 0.3, 100)
    t, y, s = _sequence(b, 0.03, 0.03, 2, 512.0)
    est = pattern_values(t, y + rng.normal(0, 0.01, y.size), s, 0.03, 2)
    assert np.sqrt(np.mean((est - b) ** 2)) < 0.05
    late = np.append(s, t[-1] + 1.0)  # a pattern shown after the last sample
    assert np.isnan(pattern_values(t, y, late, 0.03, 2)[-1])
