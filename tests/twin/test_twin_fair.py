"""A fair twin (issue 13, item 3 c-e): flat-top DMD pixels, amplifier gain, pump limits."""

from __future__ import annotations

import math

import numpy as np
import pytest

from imager.recipes import RecipeError, parse_recipe
from imager.sim.lab import SimConfig, SimulatedLab
from imager.sim.projector import FlatTopFilm, lit_pixel_pump_mW
from imager.sim.twin_film import RateEquationFilm
from imager.twin import Film
from imager.twin.detection import AMPLIFIER_GAINS_V_PER_A, Detector, check_gain
from imager.twin.limits import (
    PATTERNED_LIMIT_MW,
    SPOT_LIMIT_MW,
    check_pump_mW,
    pump_limit_mW,
)

N = 16


def _patterned_lab(pump_mW: float, film=None) -> SimulatedLab:
    lab = SimulatedLab(SimConfig(noise=False, chart="open", film=film))
    lab.pump.power_mW = pump_mW
    patterns = np.zeros((2, N, N), dtype=np.uint8)
    patterns[0] = 1
    patterns[1, :, : N // 2] = 1
    lab.projector.load(patterns)
    lab.projector.enabled = True
    lab.projector.show(1)
    return lab


# ----------------------------------------------------------------- (c) flat top
def test_flat_top_film_is_the_local_slope_of_the_gaussian_spot():
    """A Gaussian spot holds every intensity below its peak: E_spot(P) = int e(I) dlnI,
    so the uniform response e(I0) is dE_spot/dlnP at the same peak; check that."""
    gauss, flat = Film(), FlatTopFilm()
    pump_W = 500e-3 / 400.0**2 * gauss.spot_area_um2   # a lit pixel at 500 mW / (400 um)^2
    h = 0.02
    up = gauss.emission(298.0, pump_W * math.exp(h))["660"]
    down = gauss.emission(298.0, pump_W * math.exp(-h))["660"]
    assert flat.emission(298.0, pump_W)["660"] == pytest.approx((up - down) / (2 * h), rel=0.02)


def test_lit_pixel_responds_at_its_flat_top_intensity():
    """At 500 mW over 400 um the lit pixel's signal is ~1.95x the spot-averaged one."""
    lab = _patterned_lab(500.0)
    pixel_V = lab.pixel_response_map_V()
    p_equiv = lit_pixel_pump_mW(500.0, lab.projector.fov_um, lab.config.pump_fwhm_um)
    area_ratio = (lab.projector.fov_um / N) ** 2 / lab.film.film.spot_area_um2
    intensity = lab.optics.intensity_W_per_um2(*lab.stage.position_um(), 50e-3)
    spot_averaged_V = lab.film.dV_V(intensity, p_equiv, 7.4) * area_ratio
    ratio = pixel_V[N // 2, N // 2] / spot_averaged_V
    assert 1.9 < ratio < 2.0
    # the focused spot keeps the Gaussian response
    lab.projector.enabled = False
    x, y = lab.stage.position_um()
    truth = lab.expected_image(np.array([x]), np.array([y]))[0, 0]
    spot = lab.film.dV_V(lab.optics.intensity_W_per_um2(x, y, 50e-3), 500.0, 7.4)
    assert truth == pytest.approx(spot * lab._film_transfer().real, rel=1e-9)




# ---------------------------------------------------------- (d) amplifier gain
def test_amplifier_bandwidth_rolls_off_and_follows_the_gain():
    low, high = Detector(transimpedance_V_per_A=5e8), Detector(transimpedance_V_per_A=5e10)
    assert low.bandwidth_Hz == pytest.approx(100 * high.bandwidth_Hz)
    assert abs(high.transfer(100.0)) < 0.35 < 0.999 < abs(low.transfer(100.0))
    assert math.degrees(-np.angle(high.transfer(high.bandwidth_Hz))) == pytest.approx(45.0)
    # Johnson noise ~ sqrt(4kT/R) * R: the output noise density grows as sqrt(gain)
    assert (high.transimpedance_V_per_A * high.current_noise_A_per_rtHz(0.0)
            > 5 * low.transimpedance_V_per_A * low.current_noise_A_per_rtHz(0.0))


def test_default_gain_does_not_saturate_the_default_raster():
    lab = SimulatedLab(SimConfig(noise=False))
    assert abs(lab._film_transfer()) > 0.99
    lab.pump.power_mW = SPOT_LIMIT_MW  # even the strongest allowed focused pump
    assert abs(lab._film_transfer()) > 0.99


def test_strong_patterned_pump_saturates_the_high_gain_stage_only():
    strong = 2900.0
    high = _patterned_lab(strong)
    assert high.expected_pattern_image().sum() == 0.0  # output pinned at the 10 V rail
    assert high._film_transfer(patterned=True) == 0
    low = _patterned_lab(strong, RateEquationFilm(detector=Detector(transimpedance_V_per_A=5e6)))
    assert low.expected_pattern_image().sum() > 0.0


def test_gain_is_chosen_in_the_recipe_from_the_ladder():
    assert 5e8 in AMPLIFIER_GAINS_V_PER_A and 1e12 in AMPLIFIER_GAINS_V_PER_A
    recipe = parse_recipe('kind = "raster"\n[scan]\nnx = 4\n[sim]\ndetector_gain_V_per_A = 5e6\n')
    assert recipe.sections["sim"]["detector_gain_V_per_A"] == 5e6
    with pytest.raises(RecipeError, match=r"\[sim\] detector_gain_V_per_A: must be one of"):
        parse_recipe('kind = "raster"\n[scan]\nnx = 4\n[sim]\ndetector_gain_V_per_A = 3e8\n')
    with pytest.raises(ValueError, match="detector_gain_V_per_A must be one of"):
        check_gain(3e8)


# ------------------------------------------------------------ (e) pump limits
def test_pump_limits_per_mode():
    # film's 20 MW/cm^2 over a 1 um spot's 1.13 um^2; DMD's 2 W/cm^2 over 1.47 cm^2
    assert SPOT_LIMIT_MW == pytest.approx(226.6, abs=0.1)
    assert PATTERNED_LIMIT_MW == pytest.approx(2943.5, abs=0.1)
    assert pump_limit_mW("spot", pump_fwhm_um=10.0) == 500.0  # the focused laser's range
    assert pump_limit_mW("patterned", fov_um=2.0) < 1000.0     # the film, in a tiny field
    with pytest.raises(ValueError, match=r"pump.power_mW must be within \[0, 226.6\] mW"):
        check_pump_mW("spot", 300.0)
    assert check_pump_mW("patterned", 2000.0) == 2000.0


def test_recipe_refuses_pump_above_the_modes_limit():
    with pytest.raises(RecipeError, match=r"\[pump\] power_mW: must be in \[0.01, 226.6\] mW"):
        parse_recipe('kind = "raster"\n[scan]\nnx = 4\n[pump]\npower_mW = 400\n')
    spi = parse_recipe('kind = "single_pixel"\n[single_pixel]\nsize = 8\n[pump]\n'
                       'power_mW = 2000\n')
    assert spi.sections["pump"]["power_mW"] == 2000.0
    with pytest.raises(RecipeError, match=r"\[pump\] power_mW: must be in \[0.01, 2943.5\] mW"):
        parse_recipe('kind = "single_pixel"\n[single_pixel]\nsize = 8\n[pump]\npower_mW = 3000\n')


def test_simulated_pump_takes_the_patterned_power_and_checks_the_mode():
    lab = SimulatedLab(SimConfig(noise=False))
    lab.pump.power_mW = 2000.0
    lab.pump.check_mode("patterned")
    with pytest.raises(ValueError, match="focused spot"):
        lab.pump.check_mode("spot")
    with pytest.raises(ValueError, match="pump.power_mW"):
        lab.pump.power_mW = 4000.0
