"""The film's modulation transfer H(f) (imager.twin.modulation): issue 12, item 2."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy.integrate import quad

from imager.twin import Detector, Film, FilmParameters
from imager.twin.modulation import (
    CORNER_FRACTION,
    channel_band_weights,
    corner_frequency_Hz,
    small_signal_model,
    thermal_diffusivity_m2_per_s,
    thermal_time_constant_s,
    thermal_transfer,
)

F_HZ = np.logspace(0.0, 5.0, 61)

# Every per-second rate of the rate equations (and the pump cross-sections, which
# make the pump rates): scaling them all by s scales the Jacobian by s.
RATE_FIELDS = (
    "yb_absorption_cm2", "yb_emission_cm2", "yb_radiative_per_s", "yb_quench_298K_per_s",
    "et_4I11_per_s", "et_4F7_per_s", "et_4F9_per_s", "bet_per_s", "decay_4I13_per_s",
    "decay_4I11_per_s", "A_660_per_s", "nr_4F9_298K_per_s", "A_545_per_s", "A_4S_850_per_s",
    "nr_4S_298K_per_s", "A_525_per_s", "nr_2H11_per_s", "exchange_down_298K_per_s",
    "mir_4S_to_2H_per_s_per_W_per_um2", "mir_4F9_loss_per_s_per_W_per_um2",
)


@pytest.fixture(scope="module")
def model():
    return small_signal_model()


def test_quasi_static_limit_is_the_steady_state_slope(model) -> None:
    film = Film()
    slope = film.mir_slope()
    response = model.band_response(0.0)
    for band, value in slope.items():
        assert response[band].imag == 0.0
        assert response[band].real == pytest.approx(value, rel=1e-6)
    assert model.transfer(0.0) == 1.0
    assert film.modulation_transfer(0.0) == pytest.approx(1.0, abs=1e-12)


def test_magnitude_falls_monotonically_and_phase_lags(model) -> None:
    h = model.transfer(F_HZ)  # the 660 nm readout of the paper and the default lab
    assert np.all(np.diff(np.abs(h)) < 0.0)
    assert np.all(np.angle(h) < 0.0)
    assert abs(h[-1]) < 0.1  # 100 kHz: the film no longer follows


def test_ratio_channel_is_faster_but_not_strictly_monotonic(model) -> None:
    """525 and 545 nm exchange at ~6e4 s^-1: the ratio follows to ~20 kHz. Its |H| has a
    shallow rise of ~0.1 % near 500 Hz (two bands of opposite sign, different lags)."""
    weights = channel_band_weights(Film(), Detector(), "ratio")
    h = model.transfer(F_HZ, weights)
    assert np.all(np.abs(h) < 1.0) and np.all(np.angle(h) < 0.0)
    assert model.corner_frequency_Hz(weights) > 10.0 * model.corner_frequency_Hz()


def test_corner_is_where_magnitude_is_half(model) -> None:
    corner = model.corner_frequency_Hz()
    assert abs(model.transfer(corner)) == pytest.approx(CORNER_FRACTION, rel=1e-9)
    assert corner == pytest.approx(corner_frequency_Hz(), rel=1e-12)
    weights = model.mechanism_weights()
    assert weights["channel"] > 0 and weights["heating"] > 0
    assert weights["channel"] + weights["heating"] == pytest.approx(1.0)


def test_all_lifetimes_shorter_by_s_move_the_corner_up_by_s() -> None:
    """Scaling every rate by s (every lifetime by 1/s) maps H(f) onto H(f / s) exactly."""
    s = 3.0
    base = FilmParameters()
    fast = replace(base, **{k: getattr(base, k) * s for k in RATE_FIELDS},
                   substrate_conductivity_W_per_m_K=base.substrate_conductivity_W_per_m_K * s)
    slow_model = small_signal_model(Film(base), mir_heating=False)
    fast_model = small_signal_model(Film(fast), mir_heating=False)
    np.testing.assert_allclose(fast_model.transfer(s * F_HZ), slow_model.transfer(F_HZ),
                               rtol=1e-8, atol=1e-12)
    assert fast_model.corner_frequency_Hz() == pytest.approx(
        s * slow_model.corner_frequency_Hz(), rel=1e-7)
    tau = slow_model.electronic_time_constant_s()
    assert fast_model.electronic_time_constant_s() == pytest.approx(tau / s, rel=1e-7)
    # the corner is of the order of 1 / (2 pi tau) of the channel's mean response time
    assert 0.3 < slow_model.corner_frequency_Hz() * 2.0 * math.pi * tau < 3.0


def test_shorter_red_level_lifetime_raises_the_corner() -> None:
    base = FilmParameters()
    quenched = replace(base, nr_4F9_298K_per_s=2.0 * base.nr_4F9_298K_per_s)
    assert corner_frequency_Hz(Film(quenched), mir_heating=False) > corner_frequency_Hz(
        Film(base), mir_heating=False)


def test_thermal_time_constant_from_substrate_and_spot() -> None:
    p = FilmParameters()
    d = p.substrate_conductivity_W_per_m_K / (p.substrate_density_kg_per_m3
                                              * p.substrate_specific_heat_J_per_kg_K)
    assert thermal_diffusivity_m2_per_s(p) == pytest.approx(d)
    r_m = 100e-6 / math.sqrt(2.0 * math.log(2.0))
    assert thermal_time_constant_s(p) == pytest.approx(r_m * r_m / (8.0 * d))
    heavy = replace(p, substrate_specific_heat_J_per_kg_K=4 * p.substrate_specific_heat_J_per_kg_K)
    assert thermal_time_constant_s(heavy) == pytest.approx(4.0 * thermal_time_constant_s(p))
    assert thermal_time_constant_s(p, 200.0) == pytest.approx(4.0 * thermal_time_constant_s(p))
    assert small_signal_model(Film(heavy)).thermal_time_constant_s == pytest.approx(
        4.0 * thermal_time_constant_s(p))


@pytest.mark.parametrize("f_tau", [0.01, 0.3, 3.0, 30.0])
def test_thermal_transfer_is_the_half_space_conduction_integral(f_tau: float) -> None:
    """exp(z^2) erfc(z) against the Hankel integral of a Gaussian source on a half-space."""
    radius, diffusivity = 1.0, 1.0
    tau = radius**2 / (8.0 * diffusivity)
    omega = 2.0 * math.pi * f_tau / tau

    def integrand(q: float, part: str) -> float:
        value = math.exp(-q * q * radius**2 / 8.0) * q / np.sqrt(q * q + 1j * omega / diffusivity)
        return value.real if part == "re" else value.imag

    dc = math.sqrt(2.0 * math.pi) / radius
    direct = complex(quad(integrand, 0, np.inf, args=("re",), limit=400)[0],
                     quad(integrand, 0, np.inf, args=("im",), limit=400)[0]) / dc
    assert thermal_transfer(f_tau / tau, tau) == pytest.approx(direct, rel=1e-6)


def test_heating_off_and_channel_off_is_an_error() -> None:
    with pytest.raises(ValueError, match="no MIR response"):
        small_signal_model(mir_channel=False, mir_heating=False).transfer(10.0)
    with pytest.raises(ValueError, match="f_Hz"):
        small_signal_model().transfer(-1.0)
