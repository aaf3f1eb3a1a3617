"""Public API of imager.twin.Film: keys, units, shapes, validation."""

import math

import numpy as np
import pytest

from imager.twin import MIR_ON_BEAM_FWHM_UM, MIR_ON_POWER_W, Film, FilmParameters
from imager.twin.analysis import fit_single_exponential
from imager.twin.constants import BANDS


@pytest.fixture(scope="module")
def film():
    return Film()


def test_emission_keys_and_units(film):
    e = film.emission(T_K=298.0, pump_W=5e-4, mir_W_per_um2=0.0, mir_wavelength_um=7.4)
    assert set(e) == set(BANDS)
    assert all(10.0 < v < 1e4 for v in e.values())  # photons/s per ion, spot-averaged
    assert film.ratio() == pytest.approx(e["525"] / e["545"])
    assert film.emission(pump_W=0.0) == {b: 0.0 for b in BANDS}


def test_mir_on_intensity_is_50_mW_in_the_focused_beam(film):
    expected = MIR_ON_POWER_W * 4 * math.log(2) / (math.pi * MIR_ON_BEAM_FWHM_UM**2)
    assert film.mir_on_W_per_um2 == pytest.approx(expected)
    assert 1e-6 < film.mir_on_W_per_um2 < 1e-5


def test_absorption_band(film):
    assert film.absorption(7.4) == pytest.approx(1.0)
    assert all(0.85 < film.absorption(x) <= 1.0 for x in (6.8, 8.0, 8.6))
    assert film.absorption(3.0) < 0.01 and film.absorption(12.5) < 0.01
    assert 0.2 < film.absorption(4.6) < 0.6 and 0.2 < film.absorption(10.5) < 0.6
    lam = np.linspace(4.0, 11.0, 8)
    np.testing.assert_allclose(film.absorption(lam), [film.absorption(x) for x in lam])
    # outside the band the MIR does nothing
    assert film.ratio(298.0, 5e-4, film.mir_on_W_per_um2, 13.0) == pytest.approx(
        film.ratio(298.0), rel=1e-3)


def test_decay_traces_and_lifetimes(film):
    t = np.linspace(0.0, 2e-3, 201)
    traces = film.decays(t)
    assert set(traces) == set(BANDS)
    for b in BANDS:
        assert traces[b].shape == t.shape and traces[b][0] > 0
        assert traces[b][-1] < 0.05 * traces[b][0]
    np.testing.assert_allclose(film.decay("545", t), traces["545"])
    np.testing.assert_allclose(traces["660"][0], film.emission()["660"], rtol=1e-6)
    taus = film.lifetimes()
    assert set(taus) == set(BANDS)
    assert taus["545"] == pytest.approx(fit_single_exponential(t, traces["545"]).tau_s, rel=0.02)


def test_single_exponential_fit_recovers_a_known_decay():
    t = np.linspace(0.0, 1e-3, 300)
    fit = fit_single_exponential(t, 3.0 * np.exp(-t / 1.7e-4) + 0.2)
    assert fit.tau_s == pytest.approx(1.7e-4, rel=1e-4)
    assert fit.amplitude == pytest.approx(3.0, rel=1e-4)
    assert fit.baseline == pytest.approx(0.2, abs=1e-4)


def test_heating_and_channel_switches(film):
    on = film.mir_on_W_per_um2
    assert film.film_temperature_K(298.0, 5e-4, on) > film.film_temperature_K(298.0, 5e-4, 0.0)
    assert film.film_temperature_K(298.0, 5e-4, on, mir_heating=False) == pytest.approx(
        film.film_temperature_K(298.0, 5e-4))
    nothing = film.emission(298.0, 5e-4, on, mir_channel=False, mir_heating=False)
    assert nothing == pytest.approx(film.emission(298.0, 5e-4))


def test_temperature_for_ratio_inverts_the_thermometer(film):
    assert film.temperature_for_ratio(film.ratio(320.0)) == pytest.approx(320.0, abs=0.01)
    with pytest.raises(ValueError, match="not reached"):
        film.temperature_for_ratio(50.0)


@pytest.mark.parametrize("kwargs", [{"T_K": -1.0}, {"pump_W": -1e-3},
                                    {"mir_W_per_um2": -1e-9}, {"T_K": math.nan}])
def test_bad_inputs_are_refused(film, kwargs):
    with pytest.raises(ValueError):
        film.emission(**kwargs)


def test_bad_band_and_parameters_are_refused(film):
    with pytest.raises(ValueError, match="band"):
        film.decay("600", [0.0, 1e-4])
    with pytest.raises(ValueError):
        FilmParameters(gap_cm1=-5.0)
    with pytest.raises(ValueError):
        FilmParameters(mir_lambda_ref_um=12.0)
