"""Behaviour that follows from the rate equations, not imposed by the fit."""

import math

import numpy as np
import pytest

from imager.twin import Film, FilmParameters
from imager.twin.analysis import fit_boltzmann, fit_line
from imager.twin.constants import K_B_CM1_PER_K
from imager.twin.fit import PAPER
from imager.twin.rates import rates_at


@pytest.fixture(scope="module")
def film():
    return Film()


@pytest.fixture(scope="module")
def t_2d(film):
    return film.temperature_for_ratio(PAPER["ratio_mir_off"])


def test_exchange_obeys_detailed_balance():
    p = FilmParameters()
    for T in (250.0, 298.0, 350.0):
        r = rates_at(p, T, 0.0)
        expected = 12 / 4 * math.exp(-p.gap_cm1 / (K_B_CM1_PER_K * T))
        assert r.k_up / r.k_down == pytest.approx(expected, rel=1e-12)


def test_ratio_is_nearly_independent_of_pump_power(film):
    pumps = np.geomspace(10e-6, 1000e-6, 9)
    ratios = np.array([film.ratio(298.0, p) for p in pumps])
    assert ratios.max() / ratios.min() - 1 < 0.05


def test_ratio_is_linear_in_mir_power(film, t_2d):
    powers = np.linspace(0.0, 1.0, 6) * film.mir_on_W_per_um2
    ratios = [film.ratio(t_2d, 5e-4, i) for i in powers]
    assert fit_line(powers, ratios).r_squared >= 0.995


def test_mir_moves_the_bands_in_opposite_directions(film, t_2d):
    off = film.emission(t_2d)
    on = film.emission(t_2d, 5e-4, 0.2 * film.mir_on_W_per_um2)
    assert on["525"] > off["525"] and on["545"] < off["545"] and on["660"] < off["660"]


def test_heating_alone_cannot_reach_the_mir_on_ratio(film, t_2d):
    on = film.mir_on_W_per_um2
    heat_only = film.ratio(t_2d, 5e-4, on, mir_channel=False)
    assert heat_only > film.ratio(t_2d)  # heating does raise R ...
    assert heat_only < 0.35 * PAPER["ratio_mir_on"]  # ... but nowhere near 1.48
    assert film.ratio(335.0) < 0.35 * PAPER["ratio_mir_on"]  # the hottest film, MIR off
    channel_only = film.ratio(t_2d, 5e-4, on, mir_heating=False)
    assert channel_only > 0.9 * PAPER["ratio_mir_on"]


def test_thermal_ratio_is_boltzmann_like_and_all_bands_dim(film):
    temps = np.arange(280.0, 361.0, 20.0)
    fit = fit_boltzmann(temps, [film.ratio(t) for t in temps])
    assert fit.r_squared > 0.99
    assert 400.0 < fit.gap_cm1 < FilmParameters().gap_cm1  # partial thermalisation
    cold, hot = film.emission(298.0), film.emission(338.0)
    assert all(hot[b] < cold[b] for b in cold)


def test_inverse_lifetimes_grow_linearly_with_mir_power(film, t_2d):
    powers = np.linspace(0.0, 1.0, 5) * film.mir_on_W_per_um2
    rows = [film.lifetimes(t_2d, 5e-4, i) for i in powers]
    for band in ("545", "660"):
        tau = np.array([r[band] for r in rows])
        assert np.all(np.diff(tau) < 0)
        assert fit_line(powers, 1.0 / tau - 1.0 / tau[0]).r_squared >= 0.98
    # 2H11/2 is refilled from the longer-lived 4S3/2: net shortening only at high power
    tau_h = np.array([r["525"] for r in rows])
    assert tau_h[-1] < tau_h[0]


def test_pump_law_is_quadratic_then_saturates(film):
    def exponent(p):
        return math.log(film.emission(298.0, 1.1 * p)["545"]
                        / film.emission(298.0, p)["545"]) / math.log(1.1)

    assert exponent(5e-6) == pytest.approx(2.0, abs=0.2)
    assert exponent(50e-3) < 0.5


def test_pump_heating_is_small_in_the_papers_pump_range(film):
    assert film.pump_heating_K(1e-3) < 0.1
    assert 0.5 < film.pump_heating_K(0.5) < 20.0
