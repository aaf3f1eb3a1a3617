"""Calibration on the twin: the same code a real calibration runs."""

import h5py
import numpy as np
import pytest

from imager.calibration import run_calibration
from imager.cli import main
from imager.lab import apply_settings
from imager.recipes import parse_recipe
from imager.sim import simulated_lab_for
from imager.twin import Film
from reconstruction import load_raster
from reconstruction.calibration import load_calibration

BASE = """
kind = "calibration"
name = "cal"
[calibration]
{extra}
[sim]
chart = "open"
seed = {seed}
{sim}
"""


def _recipe(seed=0, extra="mir_power_mW = [0, 10, 20, 30, 40, 50]", sim=""):
    return parse_recipe(BASE.format(seed=seed, extra=extra, sim=sim), "cal.toml")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_calibration_recovers_the_true_responsivity_and_detection_limit(tmp_path, seed):
    recipe = _recipe(seed)
    lab = simulated_lab_for(recipe)
    result = run_calibration(lab, recipe, tmp_path / "c.h5", progress=False)
    r = result.responsivity
    # what a calibration made now should measure: the model's slope times the
    # slow gain drift at this lab time (the drift is a real, slow responsivity change)
    apply_settings(lab, recipe)
    truth = lab.true_responsivity_V_per_W_per_um2(include_drift=True)
    assert abs(r.slope_V_per_W_per_um2 - truth) < 2.5 * r.slope_err_V_per_W_per_um2
    assert r.r_squared > 0.995
    assert 4.0 / 1.5 < r.nei_W_per_um2 * 1e9 < 4.0 * 1.5  # paper: ~4 nW/um^2 at SNR = 1
    fit, context = load_calibration(tmp_path / "c.h5")
    assert fit == r and context["pump_mW"] == pytest.approx(0.5)
    assert not lab.source.on  # left off


def test_temperature_sweep_and_lifetimes(tmp_path):
    recipe = _recipe(extra="temperature_K = [288, 298, 308, 318, 328, 338]\n"
                           "decay = true\nrepeats = 5\nmir_power_mW = [0, 25, 50]\n"
                           "beam_fwhm_um = 100.0",
                     sim="mir_beam_fwhm_um = 100.0")
    lab = simulated_lab_for(recipe)
    result = run_calibration(lab, recipe, tmp_path / "t.h5", progress=False)
    # the Boltzmann fit of the measured ratios matches the model's own ratios
    film = Film()
    T = np.array([288, 298, 308, 318, 328, 338.0])
    model = np.array([film.ratio(T_K=t) for t in T])
    measured = np.array([r for _, r in result.ratio_T])
    np.testing.assert_allclose(measured, model, rtol=0.05)
    assert result.boltzmann.energy_gap_cm1 > 0
    assert result.boltzmann.energy_gap_err_cm1 < 0.2 * result.boltzmann.energy_gap_cm1
    # MIR shortens 4S3/2 (545) and 4F9/2 (660): Delta K grows with MIR power
    for band in ("545", "660"):
        assert result.delta_k[band].slope > 3 * result.delta_k[band].slope_err
    with h5py.File(tmp_path / "t.h5", "r") as f:
        assert f["entry"].attrs["exit_status"] == "success"
        assert f["entry/calibration/decay/trace_660"].shape == (3, 400)


def test_cli_calibrate_then_scan_in_W_per_um2(tmp_path, capsys):
    recipe = tmp_path / "cal.toml"
    recipe.write_text(BASE.format(seed=0, extra="repeats = 5", sim=""))
    cal = tmp_path / "cal.h5"
    assert main(["calibrate", str(recipe), "-o", str(cal), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "detection limit:" in out and "nW/um^2" in out
    scan = tmp_path / "s.h5"
    assert main(["demo", "--size", "8", "-o", str(scan), "--no-progress",
                 "--calibration", str(cal)]) == 0
    stored = load_raster(scan).calibration
    fit, _ = load_calibration(cal)
    assert stored["slope_V_per_W_per_um2"] == pytest.approx(fit.slope_V_per_W_per_um2)
    capsys.readouterr()
    assert main(["reconstruct", str(scan), "-o", str(tmp_path / "img.tif")]) == 0
    assert "MIR intensity (nW/µm²)" in capsys.readouterr().out


def test_calibration_refuses_what_the_lab_cannot_do(tmp_path):
    recipe = _recipe(extra="decay = true")
    lab = simulated_lab_for(recipe)
    del lab.decay_recorder
    with pytest.raises(ValueError, match=r"\[calibration\] decay: this lab has no decay"):
        run_calibration(lab, recipe, tmp_path / "x.h5", progress=False)
    assert not (tmp_path / "x.h5").exists()
    lab = simulated_lab_for(recipe)
    lab.source.max_power_mW = 30.0
    capped = _recipe(extra="mir_power_mW = [0, 10, 60]\n[source]\npower_mW = 20")
    with pytest.raises(ValueError, match="60 mW is above this lab's MIR power cap of 30 mW"):
        run_calibration(lab, capped, tmp_path / "y.h5", progress=False)
    assert not (tmp_path / "y.h5").exists()


def test_raster_recipe_is_refused_by_calibrate(tmp_path):
    from pathlib import Path

    scans = Path(__file__).resolve().parents[2] / "scans"
    assert main(["calibrate", str(scans / "usaf_raster.toml"), "-o", str(tmp_path)]) == 2
