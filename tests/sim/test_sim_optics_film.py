import math

import numpy as np
import pytest

from imager.sim import Chart
from imager.sim.film import FilmResponse, FirstOrderFilm
from imager.sim.optics import MirOptics, gaussian_peak_per_um2


def uniform_chart(n=201, pixel_um=1.0):
    return Chart(
        "clear", np.ones((n, n)), pixel_um, -(n - 1) / 2 * pixel_um, -(n - 1) / 2 * pixel_um
    )


def test_beam_peak_and_profile_on_a_clear_chart():
    optics = MirOptics(uniform_chart(), beam_fwhm_um=100.0, pump_fwhm_um=1.0)
    peak = 0.05 * gaussian_peak_per_um2(100.0)
    assert peak == pytest.approx(0.05 * 4 * math.log(2) / (math.pi * 1e4))
    assert optics.intensity_W_per_um2(0.0, 0.0, 0.05) == pytest.approx(peak, rel=1e-4)
    assert optics.intensity_W_per_um2(50.0, 0.0, 0.05) == pytest.approx(peak / 2, rel=1e-3)
    assert optics.intensity_W_per_um2(1000.0, 0.0, 0.05) == 0.0  # off the chart


def test_scalar_and_grid_interpolation_agree():
    chart = Chart("rand", np.random.default_rng(0).random((50, 60)), 0.5, 10.0, 20.0)
    optics = MirOptics(chart, beam_fwhm_um=30.0, pump_fwhm_um=1.5)
    xs = np.linspace(5.0, 45.0, 37)
    ys = np.linspace(15.0, 50.0, 23)
    grid = optics.intensity_grid_W_per_um2(xs, ys, 0.1)
    scalar = np.array([[optics.intensity_W_per_um2(x, y, 0.1) for x in xs] for y in ys])
    np.testing.assert_allclose(grid, scalar, rtol=1e-12, atol=1e-300)
    assert grid[0, 0] == 0.0 and grid.max() > 0


def test_pump_spot_blurs_an_edge_by_its_fwhm():
    n = 401
    t = np.zeros((n, n))
    t[:, n // 2 :] = 1.0
    chart = Chart("edge", t, 0.25, -50.0, -50.0)
    optics = MirOptics(chart, beam_fwhm_um=1e5, pump_fwhm_um=4.0)
    xs = np.linspace(-10, 10, 2001)
    prof = optics.intensity_grid_W_per_um2(xs, np.array([0.0]), 1.0)[0]
    prof = prof / prof.max()
    width = xs[np.argmax(prof > 0.9)] - xs[np.argmax(prof > 0.1)]
    assert width == pytest.approx(1.088 * 4.0, rel=0.05)  # 10-90 % of a Gaussian edge


def test_film_is_linear_in_mir_with_offset():
    film = FirstOrderFilm()
    assert isinstance(film, FilmResponse)
    i = np.array([0.0, 1e-9, 2e-9, 4e-8])
    dv = film.dV_V(i, 0.5, 7.4)
    np.testing.assert_allclose(dv, 500.0 * i)
    shifted = FirstOrderFilm(offset_V=1e-6)
    assert shifted.dV_V(2e-9, 0.5, 7.4) == pytest.approx(1e-6 + 1e-6)


def test_film_pump_dependence_saturates():
    film = FirstOrderFilm()
    assert film.pump_factor(film.pump_ref_mW) == pytest.approx(1.0)
    assert film.pump_factor(0.0) == 0.0
    low = film.pump_factor(0.01)
    assert film.pump_factor(0.02) == pytest.approx(2 * low, rel=0.01)  # linear at low pump
    assert film.pump_factor(500.0) < 1.02 * film.pump_factor(250.0)  # saturated at the top


def test_film_absorption_window():
    film = FirstOrderFilm()
    assert film.absorption(7.4) == pytest.approx(1.0)
    for lam in (6.8, 8.0, 8.6):
        assert 0.85 < film.absorption(lam) <= 1.0
    for lam in (3.0, 12.0):
        assert film.absorption(lam) < 0.01
    assert film.dV_V(1e-8, 0.5, 8.6) < film.dV_V(1e-8, 0.5, 7.4)
    assert film.settings()["model"] == "first_order"
