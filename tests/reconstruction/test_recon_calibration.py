import math

import numpy as np
import pytest

from reconstruction.calibration import (
    K_B_CM1_PER_K,
    fit_boltzmann,
    fit_decay,
    fit_line,
    fit_responsivity,
)


def test_fit_line_recovers_slope_and_honest_errors():
    rng = np.random.default_rng(1)
    x = np.linspace(0, 10, 30)
    hits = 0
    for _ in range(200):
        y = 2.5 * x - 1.0 + rng.normal(0, 0.3, x.size)
        fit = fit_line(x, y, np.full(x.size, 0.3))
        hits += abs(fit.slope - 2.5) < fit.slope_err
    assert 0.6 < hits / 200 < 0.77  # ~68 % of 1-sigma intervals cover the truth
    assert fit.r_squared > 0.99


def test_fit_line_refuses_degenerate_input():
    with pytest.raises(ValueError):
        fit_line([1, 1, 1], [1, 2, 3])


def test_responsivity_and_noise_equivalent_intensity():
    rng = np.random.default_rng(2)
    slope, noise = 500.0, 2e-6
    intensity = np.array([0.0, 2e-8, 4e-8, 8e-8, 1.6e-7])
    readings = slope * intensity[:, None] + rng.normal(0, noise, (5, 40))
    resp = fit_responsivity(intensity, readings)
    assert abs(resp.slope_V_per_W_per_um2 - slope) < 3 * resp.slope_err_V_per_W_per_um2
    assert resp.nei_W_per_um2 == pytest.approx(noise / slope, rel=0.25)
    np.testing.assert_allclose(resp.to_W_per_um2(slope * 5e-8), 5e-8, rtol=0.02)
    with pytest.raises(ValueError, match="zero MIR"):
        fit_responsivity(intensity[1:], readings[1:])


def test_boltzmann_fit_recovers_gap():
    T = np.linspace(290, 350, 7)
    gap = 750.0
    ratio = 12.0 * np.exp(-gap / (K_B_CM1_PER_K * T))
    fit = fit_boltzmann(T, ratio * (1 + 1e-3 * np.sin(T)))
    assert fit.energy_gap_cm1 == pytest.approx(gap, rel=0.01)
    expected = 12 * math.exp(-gap / (K_B_CM1_PER_K * 300))
    assert fit.ratio(np.array([300.0]))[0] == pytest.approx(expected, rel=0.01)


def test_decay_fit_finds_lifetime():
    rng = np.random.default_rng(3)
    t = np.linspace(0, 2e-3, 400)
    signal = 3.0 * np.exp(-t / 2.5e-4) + 0.1 + rng.normal(0, 0.01, t.size)
    fit = fit_decay(t, signal)
    assert fit.tau_s == pytest.approx(2.5e-4, rel=0.02)
    assert fit.tau_err_s < 0.02 * fit.tau_s


GOOD_ATTRS = {"slope_V_per_W_per_um2": 2.0e3, "slope_err_V_per_W_per_um2": 10.0,
              "offset_V": 1e-6, "offset_err_V": 1e-8, "noise_V": 1e-6,
              "nei_W_per_um2": 5e-10, "r_squared": 0.99, "n_levels": 7}


def test_responsivity_from_attrs_accepts_stored_numbers():
    from reconstruction.calibration import responsivity_from_attrs

    fit = responsivity_from_attrs({**GOOD_ATTRS, "n_levels": np.float64(7.0), "extra": "x"})
    assert fit.n_levels == 7 and isinstance(fit.n_levels, int)
    assert fit.slope_V_per_W_per_um2 == 2.0e3


@pytest.mark.parametrize(("edit", "match"), [
    ({"slope_V_per_W_per_um2": None}, "lacks slope_V_per_W_per_um2"),
    ({"offset_V": "x"}, "field offset_V is 'x', not a number"),
    ({"offset_V": [1.0, 2.0]}, "field offset_V is .*not a number"),
    ({"noise_V": True}, "field noise_V is True, not a number"),
    ({"slope_V_per_W_per_um2": 0.0}, "slope_V_per_W_per_um2 is 0"),
    ({"slope_V_per_W_per_um2": math.inf}, "slope_V_per_W_per_um2 is inf, not finite"),
    ({"offset_V": math.nan}, "offset_V is nan, not finite"),
    ({"n_levels": math.nan}, "n_levels is nan, not a whole number"),
    ({"n_levels": 2.5}, "n_levels is 2.5"),
    ({"r_squared": 10**400}, "r_squared is .*out of range"),
])
def test_responsivity_from_attrs_names_the_bad_field(edit, match):
    from reconstruction.calibration import responsivity_from_attrs

    attrs = {**GOOD_ATTRS, **edit}
    attrs = {k: v for k, v in attrs.items() if v is not None}
    with pytest.raises(ValueError, match=match) as info:
        responsivity_from_attrs(attrs)
    assert "\n" not in str(info.value)
