"""The acquisition planner (issue 13, item 4): its predictions against twin acquisitions."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from imager.engine import run_raster, run_single_pixel
from imager.planner import memory_fraction, predict
from imager.planner.recommend import recommend
from imager.recipes import default_recipe
from imager.recipes.recipe import parse_recipe
from imager.sim import simulated_lab_for
from reconstruction.spifile import load_single_pixel, reconstruct_single_pixel


def _noise_after_gain(image: np.ndarray, truth: np.ndarray) -> float:
    """rms of ``image - s truth`` with ``s`` the least-squares scale (the drift's gain)."""
    scale = float(np.sum(image * truth) / np.sum(truth * truth))
    return float(np.std(image - scale * truth))


def _spi(readout: str, dwell_tc: float, pump_mW: float = 500.0, gain: float = 5e8,
         reference: bool = False, size: int = 16, sensitivity_V: float = 0.05):
    return parse_recipe(
        f'kind = "single_pixel"\nname = "p"\n[single_pixel]\nsize = {size}\nfov_um = 400.0\n'
        f'dwell_tc = {dwell_tc}\nreadout = "{readout}"\nblock_patterns = 128\n[lockin]\n'
        f'sensitivity_V = {sensitivity_V}\n[pump]\npower_mW = {pump_mW}\n[sim]\nseed = 2\n'
        f'reference_channel = {str(reference).lower()}\ndetector_gain_V_per_A = {gain}\n',
        "<test>")


@pytest.mark.parametrize("readout, dwell_tc, pump_mW, gain, reference", [
    ("reads", 10.0, 500.0, 5e8, False),   # settled readings: detector and power noise
    ("reads", 3.0, 500.0, 5e8, False),    # the lock-in still holds 20 % of the last pattern
    ("stream", 2.0, 2900.0, 5e7, True),   # fitted through the filter, MIR reference
])
def test_single_pixel_prediction_agrees_with_the_twin(tmp_path, readout, dwell_tc, pump_mW,
                                                      gain, reference):
    recipe = _spi(readout, dwell_tc, pump_mW, gain, reference)
    p = predict(recipe)
    result = run_single_pixel(simulated_lab_for(recipe), recipe, tmp_path / "s.h5",
                              progress=False)
    scan = load_single_pixel(tmp_path / "s.h5")
    image = reconstruct_single_pixel(scan, "pinv").image
    assert p.sigma_rms_V == pytest.approx(_noise_after_gain(image, scan.truth_V), rel=0.2)
    assert p.lab_time_s == pytest.approx(result.lab_time_s, rel=0.2)
    assert p.signal_V == pytest.approx(float(scan.truth_V.max()), rel=1e-6)


@pytest.mark.parametrize("overrides", [
    {"dwell_tc": 1.0},                                     # the last pixel still in the filter
    {"dwell_tc": 5.0},
    {"mode": "fly", "fly_pixel_tc": 4.0},
])
def test_raster_prediction_agrees_with_the_twin(tmp_path, overrides):
    scan = {"nx": 32, "ny": 8, "x_start_um": 12300.0, "x_stop_um": 12700.0,
            "y_start_um": 12450.0, "y_stop_um": 12550.0, **overrides}
    recipe = default_recipe(scan=scan)
    p = predict(recipe)
    result = run_raster(simulated_lab_for(recipe), recipe, tmp_path / "r.h5", progress=False)
    assert p.mode == ("fly raster" if "mode" in overrides else "step raster")
    assert p.sigma_rms_V == pytest.approx(_noise_after_gain(result.image_V, result.truth_V),
                                          rel=0.2)
    assert p.lab_time_s == pytest.approx(result.lab_time_s, rel=0.2)


def test_memory_fraction_of_a_two_pole_filter():
    assert memory_fraction(3.0, 2) == pytest.approx(4.0 * math.exp(-3.0))
    assert memory_fraction(0.0, 4) == 1.0


def test_saturation_is_warned_and_the_search_picks_a_lower_gain():
    recipe = _spi("stream", 2.0, pump_mW=2900.0, gain=5e8)
    assert any("saturates" in w for w in predict(recipe).warnings)
    (best,) = recommend(recipe, target_snr=10.0)
    assert best.mode == "single pixel" and best.snr >= 10.0
    assert best.settings["detector_gain_V_per_A"] < 5e8
    assert not any("saturates" in w for w in best.warnings)


def test_recommendation_reaches_the_target_faster_than_the_recipe():
    recipe = default_recipe(scan={"nx": 16, "ny": 16, "dwell_tc": 10.0})
    own = predict(recipe)
    picks = {p.mode: p for p in recommend(recipe, target_snr=0.5 * own.snr)}
    assert set(picks) == {"step raster", "fly raster"}
    assert all(p.snr >= 0.5 * own.snr for p in picks.values())
    assert min(p.lab_time_s for p in picks.values()) < own.lab_time_s


def test_plan_command_prints_the_table_and_refuses_bad_input(tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text('kind = "raster"\nname = "r"\n[scan]\nnx = 8\nny = 8\n')
    cmd = [sys.executable, "-m", "imager", "plan", str(recipe)]
    out = subprocess.run([*cmd, "--no-search"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "step raster" in out.stdout and "lab min" in out.stdout
    bad = subprocess.run([*cmd, "--target-snr", "-3"], capture_output=True, text=True,
                         timeout=300)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "--target-snr" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("order", ["image", "point"])
def test_the_planner_predicts_a_spectral_scans_lab_time(tmp_path, order):
    """One image's lab time from the noise budget's timing, times the wavelengths, plus
    every tune of the QCL: within 5 % of the twin's (the blank spot is not counted)."""
    from imager.engine.kinds import kind_of
    from imager.planner.predict import spectral_lab_time_s

    text = ('kind = "raster"\n[scan]\nx_start_um = 12400.0\nx_stop_um = 12600.0\nnx = 8\n'
            'y_start_um = 12400.0\ny_stop_um = 12600.0\nny = 6\ndwell_tc = 10\n'
            f'[spectral]\nwavelengths_um = [6.9, 7.6, 8.3]\norder = "{order}"\n')
    recipe = parse_recipe(text, "spec.toml")
    one = predict(recipe)
    predicted = spectral_lab_time_s(recipe, one.lab_time_s, one.settings["dwell_s"])
    run = kind_of(recipe).run(simulated_lab_for(recipe), recipe, tmp_path / "s.h5",
                              progress=False)
    assert predicted == pytest.approx(run.lab_time_s, rel=0.05)
    assert spectral_lab_time_s(parse_recipe(text.split("[spectral]")[0]), 1.0, 0.1) is None
