"""Spectral scans through the CLI: ``scan`` leaves its figure, ``info`` describes the file,
``resume`` finishes it, ``reconstruct`` stores a spectral single-pixel cube (also as a
batch on dask workers), one-line errors for bad wavelengths."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from PIL import Image
from stop_at import stop_after_point

from imager.cli import main
from imager.engine.kinds import kind_of
from imager.recipes import parse_recipe
from imager.sim import simulated_lab_for

RASTER = """kind = "raster"
name = "chem_small"
[scan]
x_start_um = 12312.5
x_stop_um = 12687.5
nx = 16
y_start_um = 12312.5
y_stop_um = 12687.5
ny = 16
dwell_tc = 10
[spectral]
wavelengths_um = {wavelengths}
blank_x_um = 12587.5
blank_y_um = 12412.5
[sim]
chart = "chemical"
"""
SPI = """kind = "single_pixel"
name = "sspi_cli"
[single_pixel]
size = 8
dwell_tc = 10
[spectral]
wavelengths_um = [7.0, 8.2, 8.4]
[pump]
power_mW = 500.0
"""
WAVELENGTHS = "[6.8, 6.9, 7.2, 7.5, 7.9, 8.2, 8.4, 8.6]"


def test_scan_info_and_reconstruct_of_a_spectral_raster(tmp_path, capsys):
    recipe = tmp_path / "chem.toml"
    recipe.write_text(RASTER.format(wavelengths=WAVELENGTHS))
    assert main(["scan", str(recipe), "-o", str(tmp_path / "c.h5"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "vs truth:  100.0 % of pixels" in out and "polystyrene" in out
    assert Image.open(tmp_path / "c.png").size[0] > 500
    assert main(["info", str(tmp_path / "c.h5")]) == 0
    out = capsys.readouterr().out
    assert "spectral raster, 8 wavelengths 6.8-8.6 um, image order" in out
    assert "readings: 2048/2048 done" in out
    assert main(["reconstruct", str(tmp_path), "-o", str(tmp_path / "batch"),
                 "--workers", "1", "--no-progress"]) == 0
    with h5py.File(tmp_path / "c.h5", "r") as f:
        assert "spectral_analysis_1" in f["/entry"]
        assert f["/entry"].attrs.get("default", "data") == "data"  # the cube stays the plot
    assert (tmp_path / "batch" / "c.png").exists()


def test_a_stopped_spectral_scan_resumes_from_the_cli(tmp_path, capsys):
    text = RASTER.format(wavelengths="[7.0, 8.4]")
    recipe = parse_recipe(text, "r.toml")
    lab = simulated_lab_for(recipe)
    stop = stop_after_point(lab, 300)
    part = kind_of(recipe).run(lab, recipe, tmp_path / "r.h5", progress=False, stop=stop)
    assert part.exit_status == "abort"
    full = kind_of(recipe).run(simulated_lab_for(recipe), recipe, tmp_path / "f.h5",
                               progress=False)
    assert main(["resume", str(tmp_path / "r.h5"), "--no-progress"]) == 0
    with h5py.File(tmp_path / "r.h5", "r") as f:
        np.testing.assert_allclose(f["/entry/data/X_V"][()], full.cube_V, rtol=0, atol=1e-12)
        assert f["/entry"].attrs["exit_status"] == "success"


@pytest.mark.parametrize("workers", [None, "2"])
def test_reconstruct_stores_the_cube_of_a_spectral_single_pixel_scan(tmp_path, capsys,
                                                                      workers):
    recipe = tmp_path / "sspi.toml"
    recipe.write_text(SPI)
    assert main(["scan", str(recipe), "-o", str(tmp_path / "s.h5"), "--no-progress"]) == 0
    assert Image.open(tmp_path / "s.png").size[0] > 300  # the images, one per wavelength
    capsys.readouterr()
    extra = ["--workers", workers, "--no-progress"] if workers else []
    assert main(["reconstruct", str(tmp_path / "s.h5"), "-o", f"{tmp_path / 'out'}/",
                 *extra]) == 0
    out = capsys.readouterr().out
    with h5py.File(tmp_path / "s.h5", "r") as f:
        assert f["/entry"].attrs["default"] == "reconstruction_1"
        cube = f["/entry/reconstruction_1/data/cube"]
        assert cube.shape == (3, 8, 8)
        np.testing.assert_array_equal(f["/entry/reconstruction_1/data/wavelength_um"][()],
                                      [7.0, 8.2, 8.4])
    if workers is None:
        assert "cube:     3 wavelengths 7-8.4 um x 8x8 pixels, tv" in out
        assert (tmp_path / "out" / "s.png").exists()
    else:
        assert "cube of 3 wavelengths; stored /entry/reconstruction_1" in out


def test_bad_wavelengths_are_one_line_errors_exit_2(tmp_path, capsys):
    recipe = tmp_path / "bad.toml"
    recipe.write_text(RASTER.format(wavelengths="[7.0, 9.5]"))
    assert main(["scan", str(recipe), "-o", str(tmp_path / "b.h5")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "[spectral] wavelengths_um" in err[0] and "8.6" in err[0]
    assert not (tmp_path / "b.h5").exists()


def test_spectra_of_a_spectral_single_pixel_scan_maps_the_materials(tmp_path, capsys):
    recipe = tmp_path / "cspi.toml"
    recipe.write_text('kind = "single_pixel"\nname = "cspi"\n[single_pixel]\nsize = 16\n'
                      'dwell_tc = 10\n[spectral]\nwavelengths_um = [6.83, 6.89, 7.6, 8.4]\n'
                      '[lockin]\nsensitivity_V = 0.05\n[pump]\npower_mW = 500.0\n'
                      '[sim]\nchart = "chemical"\n')
    assert main(["scan", str(recipe), "-o", str(tmp_path / "c.h5"), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["reconstruct", str(tmp_path / "c.h5"), "-o", str(tmp_path / "o"),
                 "--spectra"]) == 0
    out = capsys.readouterr().out
    score = float(out.split("vs truth: ")[1].split(" %")[0])
    assert score >= 75.0  # 16 x 16 pixels of 25 um: the chart's 25 um frame is mixed
    assert (tmp_path / "o_spectra.png").exists() and (tmp_path / "o.png").exists()
    with h5py.File(tmp_path / "c.h5", "r") as f:
        assert "spectral_analysis_1" in f["/entry"] and "reconstruction_1" in f["/entry"]
        assert f["/entry"].attrs["default"] == "reconstruction_1"
    assert main(["reconstruct", str(tmp_path / "c.h5"), "-o", str(tmp_path / "p"),
                 "--spectra", "--band", "6.8:7.0"]) == 2
    assert "--band: not for spectral single-pixel scans" in capsys.readouterr().err
