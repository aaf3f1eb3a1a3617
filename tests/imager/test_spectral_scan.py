"""Spectral rasters: recipes, both loop orders, tuning time, power and blank, resume, file."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from stop_at import stop_after_point

from imager.engine.spectral import run_spectral
from imager.instruments.qcl import tune_time_s
from imager.recipes import RecipeError, parse_recipe
from imager.recipes.recipe import spectral_wavelengths
from imager.sim import simulated_lab_for

RECIPE = """
kind = "raster"
name = "spectral_test"
[scan]
x_start_um = 12450.0
x_stop_um = 12550.0
nx = 5
y_start_um = 12450.0
y_stop_um = 12550.0
ny = 4
dwell_tc = 5
[spectral]
wavelengths_um = [7.0, 7.6, 8.2]
blank_x_um = 12500.0
blank_y_um = 12500.0
{extra}
[sim]
chart = "open"
{sim}
"""


def _recipe(extra: str = "", sim: str = ""):
    return parse_recipe(RECIPE.format(extra=extra, sim=sim), "test.toml")


@pytest.mark.parametrize("text, field", [
    ("wavelengths_um = [7.0, 9.1]", "wavelengths_um"),
    ("start_um = 6.5\nstop_um = 7.0\nstep_um = 0.1", "start_um"),
    ("start_um = 7.0\nstop_um = 8.0", "step_um"),
])
def test_bad_wavelengths_are_one_line_errors_naming_the_field(text, field):
    with pytest.raises(RecipeError) as err:
        parse_recipe(f'kind = "raster"\n[scan]\nnx = 4\n[spectral]\n{text}\n', "r.toml")
    message = str(err.value)
    assert "\n" not in message and f"[spectral] {field}" in message
    if "6.5" in text or "9.1" in text:
        assert "6.8" in message and "8.6" in message  # the allowed range


def test_range_and_list_give_the_wavelengths_in_order():
    text = 'kind = "raster"\n[scan]\nnx = 4\n[spectral]\nstart_um = 8.0\nstop_um = 7.0\n' \
           'step_um = 0.25\n'
    assert spectral_wavelengths(parse_recipe(text)) == [8.0, 7.75, 7.5, 7.25, 7.0]
    assert spectral_wavelengths(_recipe()) == [7.0, 7.6, 8.2]


def test_a_fly_spectral_raster_in_point_order_is_refused_with_the_field_named():
    with pytest.raises(RecipeError, match=r"\[spectral\] order"):
        parse_recipe('kind = "raster"\n[scan]\nnx = 4\nmode = "fly"\n[spectral]\n'
                     'wavelengths_um = [7.0, 7.5]\norder = "point"\n')


@pytest.mark.parametrize("order", ["image", "point"])
def test_cube_power_blank_and_file_layout(tmp_path, order):
    recipe = _recipe(f'order = "{order}"', "noise = false")
    result = run_spectral(simulated_lab_for(recipe), recipe, tmp_path / "s.h5", progress=False)
    assert result.exit_status == "success" and result.points_done == 3 * 4 * 5
    with h5py.File(tmp_path / "s.h5", "r") as f:
        data = f["/entry/data"]
        assert [a.decode() for a in data.attrs["axes"]] == ["wavelength_um", "y_um", "x_um"]
        assert data["wavelength_um"].attrs["units"] == "um"
        np.testing.assert_array_equal(data["X_V"][()], result.cube_V)
        points = f["/entry/scan/points"][()]
        power = f["/entry/spectral/power"][()]
        blank = f["/entry/spectral/blank"][()]
        truth = f["/entry/data/truth"][()] if "truth" in data else None
    assert points["done"].all()
    assert np.array_equal(np.unique(points["iw"]), [0, 1, 2])
    np.testing.assert_array_equal(points["wavelength_um"], np.array([7.0, 7.6, 8.2])[points["iw"]])
    cube = result.cube_V
    assert np.isfinite(cube).all()
    # every reading went to its own (iw, iy, ix)
    np.testing.assert_array_equal(cube[points["iw"], points["iy"], points["ix"]], points["X_V"])
    # the power meter saw each wavelength once, before its readings (image) or in a pass
    assert list(power["iw"]) == [0, 1, 2] and (power["power_mW"] > 0).all()
    assert list(blank["iw"]) == [0, 1, 2]
    # the open chart at the beam centre: the blank reads what the cube reads there
    centre = cube[:, 1:3, 2].mean(axis=1)
    np.testing.assert_allclose(blank["X_V"], centre, rtol=0.05)
    # the film's response follows its absorption band: the cube changes with wavelength
    assert np.ptp(centre) > 0.01 * centre.mean()
    if truth is not None:
        np.testing.assert_allclose(cube, truth, rtol=0.02)


def test_both_orders_measure_the_same_cube_without_noise(tmp_path):
    cubes = []
    for order in ("image", "point"):
        recipe = _recipe(f'order = "{order}"', "noise = false")
        cubes.append(run_spectral(simulated_lab_for(recipe), recipe, tmp_path / f"{order}.h5",
                                  progress=False).cube_V)
    np.testing.assert_allclose(cubes[0], cubes[1], rtol=1e-3)


@pytest.mark.parametrize("order", ["image", "point"])
def test_tuning_and_settling_are_counted_in_lab_time(tmp_path, order):
    times = {}
    for settle_s in (0.0, 2.0):
        recipe = _recipe(f'order = "{order}"\nsettle_s = {settle_s}')
        times[settle_s] = run_spectral(simulated_lab_for(recipe), recipe,
                                       tmp_path / f"{settle_s}.h5", progress=False).lab_time_s
    # tunes: image order one per wavelength (from 7.4 um); point order a pass over the
    # wavelengths, then 3 per pixel
    tunes = 3 if order == "image" else 3 + 20 * 3
    assert times[2.0] - times[0.0] == pytest.approx(2.0 * tunes, rel=1e-9)
    grating_s = tune_time_s(7.4, 7.0, 0.0) + tune_time_s(7.0, 7.6, 0.0) + \
        tune_time_s(7.6, 8.2, 0.0)
    assert grating_s == pytest.approx(0.4 + 0.6 + 0.6)
    assert times[0.0] > grating_s


@pytest.mark.parametrize("order, stop_at", [("image", 19), ("image", 27), ("point", 29),
                                            ("point", 31)])
def test_a_stopped_spectral_scan_resumes_bit_identically(tmp_path, order, stop_at):
    recipe = _recipe(f'order = "{order}"')
    full = run_spectral(simulated_lab_for(recipe), recipe, tmp_path / "full.h5",
                        progress=False)
    lab = simulated_lab_for(recipe)
    part = run_spectral(lab, recipe, tmp_path / "r.h5", progress=False,
                        stop=stop_after_point(lab, stop_at))
    assert part.exit_status == "abort" and part.points_done == stop_at + 1
    done = run_spectral(simulated_lab_for(recipe), recipe, tmp_path / "r.h5", progress=False,
                        resume=True)
    assert done.exit_status == "success" and done.points_done == full.points_done
    np.testing.assert_allclose(done.cube_V, full.cube_V, rtol=0, atol=1e-12)
    with h5py.File(tmp_path / "r.h5", "r") as f:
        assert sorted(set(f["/entry/spectral/power"]["iw"])) == [0, 1, 2]


FLY = '\nmode = "fly"\nfly_pixel_tc = 2.0\n'


def test_a_spectral_fly_raster_measures_each_wavelength_line_by_line(tmp_path):
    recipe = parse_recipe(RECIPE.format(extra="", sim="noise = false").replace(
        "dwell_tc = 5\n", "dwell_tc = 5" + FLY), "fly.toml")
    result = run_spectral(simulated_lab_for(recipe), recipe, tmp_path / "f.h5", progress=False)
    assert result.exit_status == "success" and np.isfinite(result.cube_V).all()
    with h5py.File(tmp_path / "f.h5", "r") as f:
        lines = f["/entry/lines"][()]
        assert sorted(lines["line"]) == list(range(3 * 4))  # block iw * ny + iy
        assert f["/entry/data/x_edges_um"].shape == (6,)
        assert f["/entry/scan"].attrs["mode"] == "fly"
        truth = f["/entry/data/truth"][()]
        assert list(f["/entry/spectral/power"]["iw"]) == [0, 1, 2]
    # the open chart's binned image at each wavelength, as the truth binned the same way
    np.testing.assert_allclose(result.cube_V, truth, rtol=0.03)
    step = parse_recipe(RECIPE.format(extra="", sim="noise = false"), "s.toml")
    stepped = run_spectral(simulated_lab_for(step), step, tmp_path / "s.h5", progress=False)
    assert result.lab_time_s < stepped.lab_time_s


def test_a_stopped_spectral_fly_raster_resumes_bit_identically(tmp_path):
    recipe = parse_recipe(RECIPE.format(extra="", sim="").replace(
        "dwell_tc = 5\n", "dwell_tc = 5" + FLY), "fly.toml")
    full = run_spectral(simulated_lab_for(recipe), recipe, tmp_path / "full.h5",
                        progress=False)
    lab = simulated_lab_for(recipe)
    part = run_spectral(lab, recipe, tmp_path / "r.h5", progress=False,
                        stop=stop_after_point(lab, 5))  # line 1 of wavelength 1 (block 5)
    assert part.exit_status == "abort" and part.points_done == 6 * 5
    done = run_spectral(simulated_lab_for(recipe), recipe, tmp_path / "r.h5", progress=False,
                        resume=True)
    assert done.exit_status == "success"
    np.testing.assert_allclose(done.cube_V, full.cube_V, rtol=0, atol=1e-12)


def test_a_source_that_cannot_reach_or_step_the_wavelengths_is_refused(tmp_path):
    from imager.devices.manual import ManualSource

    recipe = _recipe()
    lab = simulated_lab_for(recipe)
    lab.source.wavelength_range_um = (6.9, 8.0)  # a QCL that does not reach 8.2 um
    with pytest.raises(RecipeError, match=r"8\.2 um is outside this lab's source tuning "
                                          r"range \[6\.9, 8\] um"):
        run_spectral(lab, recipe, tmp_path / "a.h5", progress=False)
    lab = simulated_lab_for(recipe)
    lab.source = ManualSource(max_power_mW=500.0)
    with pytest.raises(RecipeError, match="set by hand"):
        run_spectral(lab, recipe, tmp_path / "b.h5", progress=False)
    assert not list(tmp_path.iterdir())  # refused before any file
