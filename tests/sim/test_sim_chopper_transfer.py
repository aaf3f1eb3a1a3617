"""The simulated lab pays the film's modulation transfer at the chopper frequency (issue 12)."""

from __future__ import annotations

import cmath
import logging
import math

import numpy as np
import pytest

from imager.sim.film import FirstOrderFilm
from imager.sim.lab import SimConfig, SimulatedLab
from imager.sim.projector import flat_top_film
from imager.twin.modulation import small_signal_model

SETTLE_TC = 60  # 12 dB/oct: residual (1 + 60) e^-60 ~ 1e-24 of a step


def _lab(**kwargs) -> SimulatedLab:
    return SimulatedLab(SimConfig(noise=False, chart="open", **kwargs))


def _settled(lab: SimulatedLab) -> complex:
    lab.clock.sleep(SETTLE_TC * lab.lockin.time_constant_s)
    reading = lab.lockin.read_xy()
    return complex(reading.x_V, reading.y_V)


def _model_ratio(lab: SimulatedLab, f_Hz: float, ref_Hz: float = 100.0) -> complex:
    """H(f) / H(ref) straight from the twin's linearised model (not through the lab),
    times the photodiode amplifier's low-pass at those frequencies."""
    film = lab.film
    model = small_signal_model(film.film, film.temperature_K, lab.pump.power_mW * 1e-3,
                               lab.source.wavelength_um)
    amplifier = film.detector.transfer(f_Hz) / film.detector.transfer(ref_Hz)
    return model.transfer(f_Hz) / model.transfer(ref_Hz) * amplifier


def test_settled_lockin_at_1kHz_is_the_models_fraction_of_100Hz() -> None:
    lab = _lab()
    at_100 = _settled(lab)
    ratio = _model_ratio(lab, 1000.0)
    lab.chopper.frequency_Hz = 1000.0
    at_1k = _settled(lab)
    assert abs(at_1k) / abs(at_100) == pytest.approx(abs(ratio), rel=1e-6)
    assert cmath.phase(at_1k / at_100) == pytest.approx(cmath.phase(ratio), abs=1e-6)
    # re-phasing the lock-in to the film's extra lag puts all of it back in X
    lab.lockin.reference_phase_deg = math.degrees(cmath.phase(ratio))
    x_1k = _settled(lab).real
    assert x_1k / at_100.real == pytest.approx(abs(ratio), rel=1e-6)
    assert abs(ratio) < 0.6  # the physics: a 1 kHz chopper costs about half the signal


def test_default_lab_at_100Hz_is_unchanged() -> None:
    """At the reference 100 Hz the film's factor is exactly 1: the truth is the film's dV_V
    itself, times the photodiode amplifier's |H| there (0.9995 at 5e8 V/A)."""
    lab = SimulatedLab(SimConfig(noise=False))
    assert lab.chopper.frequency_Hz == 100.0
    amplifier = abs(lab.film.detector.transfer(100.0))
    assert 0.999 < amplifier < 1.0
    assert lab._film_transfer() == pytest.approx(amplifier, rel=1e-12)
    x = np.linspace(12300.0, 12700.0, 9)
    intensity = lab.optics.intensity_grid_W_per_um2(x, x, lab.source.power_mW * 1e-3)
    before = lab.film.dV_V(intensity, lab.pump.power_mW, lab.source.wavelength_um)
    np.testing.assert_allclose(lab.expected_image(x, x), before * amplifier, rtol=1e-12)


def test_expected_image_and_responsivity_follow_the_chopper() -> None:
    lab = SimulatedLab(SimConfig(noise=False))
    x = np.linspace(12400.0, 12600.0, 5)
    image_100 = lab.expected_image(x, x)
    slope_100 = lab.true_responsivity_V_per_W_per_um2()
    lab.chopper.frequency_Hz = 500.0
    factor = _model_ratio(lab, 500.0).real  # X with the 100 Hz reference phase
    np.testing.assert_allclose(lab.expected_image(x, x), image_100 * factor, rtol=1e-9)
    assert lab.true_responsivity_V_per_W_per_um2() == pytest.approx(slope_100 * factor, rel=1e-9)


def test_patterned_bucket_matches_its_truth_at_a_fast_chopper() -> None:
    lab = _lab()
    lab.chopper.frequency_Hz = 700.0
    pattern = np.zeros((1, 4, 4), dtype=np.uint8)
    pattern[0, 1:3, :] = 1
    lab.projector.load(pattern)
    lab.projector.enabled = True
    lab.projector.show(0)
    bucket = _settled(lab).real
    truth = float((pattern[0] * lab.expected_pattern_image()).sum())
    assert bucket == pytest.approx(truth, rel=1e-9)
    fwhm = lab.config.pump_fwhm_um
    p_eq_mW = lab.pump.power_mW * math.pi * fwhm**2 / (4 * math.log(2)) / lab.projector.fov_um**2
    quasi_static = float((pattern[0] * lab.pixel_response_map_V()).sum())
    h = flat_top_film(lab.film).modulation_transfer(700.0, p_eq_mW, lab.source.wavelength_um)
    detector = lab.film.detector
    h *= detector.transfer_phased(700.0, lab.film.reference_frequency_Hz)
    assert bucket == pytest.approx(quasi_static * h.real, rel=1e-9)
    assert h.real < 0.9


def test_chopper_above_the_corner_warns_once(caplog) -> None:
    lab = _lab()
    corner = lab.film.corner_frequency_Hz(lab.pump.power_mW, lab.source.wavelength_um)
    assert 100.0 < corner < 10_000.0  # within the recipe's 1-10000 Hz range
    with caplog.at_level(logging.WARNING, logger="imager.sim.twin_film"):
        lab.chopper.frequency_Hz = 0.9 * corner
        _settled(lab)
        assert not caplog.records
        lab.chopper.frequency_Hz = 2.0 * corner
        _settled(lab)
        _settled(lab)
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert "corner" in message and "\n" not in message


def test_first_order_film_is_instantaneous_by_default_and_can_be_slow() -> None:
    film = FirstOrderFilm()
    assert film.modulation_transfer(1e4, 0.5, 7.4) == 1.0
    assert film.settings()["response_time_s"] == 0.0
    tau = 1e-3
    lab = _lab(film=FirstOrderFilm(response_time_s=tau))
    at_100 = _settled(lab)
    lab.chopper.frequency_Hz = 1000.0
    at_1k = _settled(lab)
    expected = (1 + 2j * math.pi * 100.0 * tau) / (1 + 2j * math.pi * 1000.0 * tau)
    assert at_1k / at_100 == pytest.approx(expected, rel=1e-9)
    with pytest.raises(ValueError, match="response_time_s"):
        FirstOrderFilm(response_time_s=-1.0)
