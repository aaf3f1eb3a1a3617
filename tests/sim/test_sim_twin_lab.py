"""The rate-equation film in the simulated lab, and the calibration instruments."""

import math

import numpy as np
import pytest

from imager.sim import SimConfig, SimulatedLab
from imager.sim.film import FirstOrderFilm
from imager.sim.optics import gaussian_peak_per_um2
from imager.sim.twin_film import RateEquationFilm
from imager.twin import Film
from imager.twin.analysis import fit_single_exponential

CENTRE = (12500.0, 12500.0)


def open_lab(**kw):
    kw.setdefault("noise", False)
    return SimulatedLab(SimConfig(chart="open", **kw))


def settle(lab, n_tc=10.0):
    lab.clock.sleep(n_tc * lab.lockin.time_constant_s)
    return lab.lockin.read_xy()


def peak_intensity(lab):
    return lab.source.power_mW * 1e-3 * gaussian_peak_per_um2(lab.config.mir_beam_fwhm_um)


def test_default_film_is_the_rate_equation_twin():
    lab = open_lab()
    assert isinstance(lab.film, RateEquationFilm) and lab.film.channel == "660"
    s = lab.settings()
    assert s["film_model"] == "rate_equations" and s["channel"] == "660"
    assert s["film_A_660_per_s"] == lab.film.film.params.A_660_per_s
    assert all(isinstance(v, (int, float, str, bool)) for v in s.values())
    assert lab.instruments()["temperature"].settings()["temperature_K"] == 298.0


def test_open_chart_reading_is_the_true_responsivity_times_the_beam_peak():
    lab = open_lab()
    expected = lab.true_responsivity_V_per_W_per_um2() * peak_intensity(lab)
    assert settle(lab).x_V == pytest.approx(expected, rel=2e-3)  # pump PSF ~ flat beam
    assert lab.expected_image(np.array([CENTRE[0]]), np.array([CENTRE[1]]))[0, 0] == (
        pytest.approx(expected, rel=2e-3))


def test_true_responsivity_follows_the_settings():
    lab = open_lab()
    base = lab.true_responsivity_V_per_W_per_um2()
    lab.pump.power_mW = 2.0
    assert lab.true_responsivity_V_per_W_per_um2() > 1.2 * base
    lab.pump.power_mW = 0.5
    lab.source.wavelength_um = 8.6
    assert lab.true_responsivity_V_per_W_per_um2() < base
    lab.source.wavelength_um = 7.4
    lab.lockin.reference_phase_deg = 60.0
    assert lab.true_responsivity_V_per_W_per_um2() == pytest.approx(0.5 * base, rel=1e-9)


def test_temperature_stage_changes_the_film_and_takes_lab_time():
    lab = open_lab()
    cold = settle(lab).x_V
    t0 = lab.clock.now_s()
    lab.temperature.temperature_K = 338.0
    assert lab.film.temperature_K == 338.0
    lab.temperature.wait_stable()
    assert lab.clock.now_s() == pytest.approx(t0 + lab.temperature.settle_s)
    lab.temperature.wait_stable()  # already stable: no more waiting
    assert lab.clock.now_s() == pytest.approx(t0 + lab.temperature.settle_s)
    hot = settle(lab).x_V
    assert hot != pytest.approx(cold, rel=1e-3)
    with pytest.raises(ValueError, match="temperature_K"):
        lab.temperature.temperature_K = 20.0


def test_photometer_ratio_is_the_films_and_rises_with_mir():
    lab = open_lab()
    lab.source.on = False
    bands = lab.photometer.read_bands()
    assert set(bands) == {"525", "545", "660"} and all(v > 0 for v in bands.values())
    resp = lab.film.detector.responsivity_A_per_W
    to_photons = (resp["545"] * 525.0) / (resp["525"] * 545.0)
    assert bands["525"] / bands["545"] * to_photons == pytest.approx(
        lab.film.film.ratio(298.0), rel=1e-6)
    lab.source.on = True
    chopped = lab.photometer.read_bands()
    lab.chopper.enabled = False  # blade parked open: continuous MIR
    cw = lab.photometer.read_bands()
    r = [b["525"] / b["545"] for b in (bands, chopped, cw)]
    assert r[0] < r[1] < r[2]
    assert cw["660"] < chopped["660"] < bands["660"]


def test_photometer_thermometry_and_seeded_noise():
    lab = SimulatedLab(SimConfig(chart="open", seed=4))
    lab.source.on = False
    readings = []
    for temperature in (298.0, 318.0, 338.0):
        lab.temperature.temperature_K = temperature
        lab.begin_point(0)
        b = lab.photometer.read_bands()
        readings.append(b["525"] / b["545"])
    assert readings[0] < readings[1] < readings[2]
    lab.temperature.temperature_K = 298.0
    lab.begin_point(7)
    first = lab.photometer.read_bands()
    lab.begin_point(7)
    assert lab.photometer.read_bands() == first
    lab.begin_point(8)
    assert lab.photometer.read_bands() != first


def test_decay_recorder_gives_the_twins_lifetimes():
    lab = open_lab()
    lab.chopper.enabled = False
    intensity = peak_intensity(lab)
    film = lab.film.film
    expected = film.lifetimes(298.0, 5e-4, intensity)
    t0 = lab.clock.now_s()
    for band in ("545", "660"):
        t, counts = lab.decay_recorder.record_decay(band, 2e-3, 401)
        assert t.shape == counts.shape == (401,) and t[0] == 0.0
        assert fit_single_exponential(t, counts).tau_s == pytest.approx(expected[band],
                                                                         rel=1e-6)
    assert lab.clock.now_s() > t0 + 1.0  # 1000 pulses of 7 ms each


def test_decay_recorder_noise_is_poisson_and_seeded():
    lab = SimulatedLab(SimConfig(chart="open", seed=2))
    lab.begin_point(3)
    t, a = lab.decay_recorder.record_decay("660", 2e-3, 200)
    _, mean = lab.decay_recorder.expected_decay("660", 2e-3, 200)
    assert np.all(a == np.round(a)) and mean[0] > 1000
    z = (a - mean) / np.sqrt(np.maximum(mean, 1.0))
    assert 0.7 < z.std() < 1.3
    lab.begin_point(3)
    np.testing.assert_array_equal(lab.decay_recorder.record_decay("660", 2e-3, 200)[1], a)
    assert fit_single_exponential(t, a).tau_s == pytest.approx(
        fit_single_exponential(t, mean).tau_s, rel=0.05)
    with pytest.raises(ValueError, match="band"):
        lab.decay_recorder.record_decay("600", 1e-3, 10)


def test_noisy_mir_sweep_recovers_the_true_responsivity_and_detection_limit():
    """What a calibration does: X against intensity at an open spot, SNR = 1 from the fit."""
    lab = SimulatedLab(SimConfig(chart="open", seed=11))
    levels_mW = np.array([0.0, 10.0, 20.0, 30.0, 40.0, 50.0])
    readings = np.empty((levels_mW.size, 40))
    index = 0
    for i, p in enumerate(levels_mW):
        lab.source.power_mW = p
        lab.clock.sleep(10 * lab.lockin.time_constant_s)
        for k in range(readings.shape[1]):
            lab.begin_point(index)
            index += 1
            readings[i, k] = settle(lab, 5.0).x_V
    intensity = levels_mW * 1e-3 * gaussian_peak_per_um2(lab.config.mir_beam_fwhm_um)
    slope, _ = np.polyfit(intensity, readings.mean(axis=1), 1)
    truth = lab.true_responsivity_V_per_W_per_um2()
    assert slope == pytest.approx(truth, rel=0.06)  # drift and MIR power noise included
    nei = readings[0].std(ddof=1) / slope
    assert 4e-9 / 1.5 < nei < 4e-9 * 1.5


def test_linearised_response_against_the_full_model():
    lab = open_lab()
    film = lab.film.film
    i = peak_intensity(lab)
    off, on = film.emission(298.0, 5e-4, 0.0), film.emission(298.0, 5e-4, i)
    det = lab.film.detector
    exact = (math.sqrt(2) / math.pi * det.transimpedance_V_per_A * det.amps_per_ion_rate(
        film, "660") * (off["660"] - on["660"]))
    linear = lab.film.dV_V(i, 0.5, 7.4)
    assert 1.0 < linear / exact < 1.10  # the 660 nm band starts to saturate


def test_ratio_channel_lab():
    lab = SimulatedLab(SimConfig(chart="open", noise=False, channel="ratio"))
    assert lab.film.channel == "ratio" and lab.settings()["channel"] == "ratio"
    x = settle(lab).x_V
    assert x > 0 and x == pytest.approx(
        lab.true_responsivity_V_per_W_per_um2() * peak_intensity(lab), rel=2e-3)
    lab.source.power_mW = 25.0
    assert settle(lab).x_V == pytest.approx(x / 2, rel=1e-3)
    with pytest.raises(ValueError, match="channel"):
        SimulatedLab(SimConfig(channel="545"))


def test_first_order_film_still_works_without_probes():
    lab = SimulatedLab(SimConfig(film=FirstOrderFilm(), seed=3))
    assert lab.photometer is None and lab.decay_recorder is None
    assert lab.lockin.noise_density_V_per_rtHz() == pytest.approx(1e-6, rel=1e-3)
    assert lab.true_responsivity_V_per_W_per_um2() == pytest.approx(500.0)
    lab.temperature.temperature_K = 320.0  # no temperature in that model: harmless


def test_custom_rate_equation_film_is_used_as_given():
    film = RateEquationFilm(Film(), channel="ratio", temperature_K=310.0)
    lab = SimulatedLab(SimConfig(film=film, temperature_K=300.0, noise=False))
    assert lab.film is film and film.temperature_K == 300.0
    assert lab.settings()["channel"] == "custom film"
