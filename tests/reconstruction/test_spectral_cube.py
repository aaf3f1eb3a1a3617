"""Reading spectral raster files (``load_cube``) and calibrating their cubes."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from spectral_files import (  # noqa: E402
    GAIN_V_PER_MW,
    NAMES,
    WAVELENGTHS_UM,
    material_spectra,
    responsivity,
    source_power_mW,
    write_calibration,
    write_spectral,
)

from reconstruction.errors import ScanFileError  # noqa: E402
from reconstruction.spectral import calibrate as cal  # noqa: E402
from reconstruction.spectral.cube import load_cube  # noqa: E402
from reconstruction.spectral.responsivity import load_spectral_responsivity  # noqa: E402

NOISE_V = 2e-5


@pytest.fixture
def scan(tmp_path) -> Path:
    return write_spectral(tmp_path / "s.h5", noise_V=NOISE_V, power_rows=3,
                          calibration={"slope_V_per_W_per_um2": 2e6, "offset_V": 0.0})


def test_a_complete_file_loads_with_every_part(scan):
    cube = load_cube(scan)
    nw, ny, nx = WAVELENGTHS_UM.size, 10, 12
    assert cube.shape == (nw, ny, nx) and cube.complete
    assert cube.points_done == cube.points_total == nw * ny * nx
    with h5py.File(scan) as f:
        np.testing.assert_array_equal(cube.X_V, f["entry/data/X_V"][()])
        rows = f["entry/spectral/power"][()]
        blank = f["entry/spectral/blank"][()]
    np.testing.assert_array_equal(cube.wavelength_um, WAVELENGTHS_UM)
    assert np.nanstd(cube.Y_V) == pytest.approx(NOISE_V, rel=0.1)  # the quadrature
    for iw in range(nw):  # several power rows per wavelength: their mean
        assert cube.power_mW[iw] == pytest.approx(rows["power_mW"][rows["iw"] == iw].mean())
    assert (cube.power_sem_mW > 0).all()
    np.testing.assert_array_equal(cube.blank_X_V, blank["X_V"])
    assert cube.blank_xy_um == (float(blank["x_um"][0]), float(blank["y_um"][0]))
    assert cube.material_names == NAMES and cube.labels.shape == (ny, nx)
    np.testing.assert_allclose(cube.material_transmission, material_spectra(WAVELENGTHS_UM))
    assert cube.truth_V.shape == cube.transmission.shape == (nw, ny, nx)
    assert cube.calibration["slope_V_per_W_per_um2"] == 2e6
    assert cube.order == "image" and cube.exit_status == "success" and cube.dwell_s == 0.03


@pytest.mark.parametrize("order", ["image", "point"])
def test_a_killed_file_loads_what_was_measured(tmp_path, order):
    path = write_spectral(tmp_path / "k.h5", order=order, n_done=500, exit_status="running",
                          blank=False, power=False)
    cube = load_cube(path)
    assert cube.points_done == 500 and not cube.complete and cube.exit_status == "running"
    assert cube.measured.sum() == 500 and np.isfinite(cube.X_V).sum() == 500
    assert np.isnan(cube.X_V[~cube.measured]).all() and np.isnan(cube.Y_V[~cube.measured]).all()
    if order == "image":  # whole images first: the first 4 wavelengths complete, 5th partly
        assert cube.measured[:4].all() and not cube.measured[5:].any()
    else:  # every wavelength at each point: the first 50 points complete
        assert cube.measured.reshape(cube.shape[0], -1)[:, :50].all()
    assert np.isnan(cube.power_mW).all() and cube.blank_X_V is None


def _mutate(path: Path, edit) -> Path:
    with h5py.File(path, "r+") as f:
        edit(f)
    return path


def _replace(f, name, data):
    attrs = dict(f[name].attrs)
    del f[name]
    f[name] = data
    f[name].attrs.update(attrs)


def _points(f, **fields):
    records = f["entry/scan/points"][()]
    for key, (row, value) in fields.items():
        records[key][row] = value
    f["entry/scan/points"][...] = records


def _drop_field(f, table, field):
    rows = f[table][()]
    keep = [n for n in rows.dtype.names if n != field]
    _replace(f, table, np.array(rows[keep].tolist(),
                                [(n, rows.dtype[n]) for n in keep]))


BAD = {
    "wavelength_um": lambda f: _replace(f, "entry/data/wavelength_um", WAVELENGTHS_UM[:-1]),
    "repeated": lambda f: _replace(f, "entry/data/wavelength_um",
                                   np.r_[WAVELENGTHS_UM[:-1], WAVELENGTHS_UM[0]]),
    "/entry/scan says nw = 3": lambda f: f["entry/scan"].attrs.__setitem__("nw", 3),
    "order": lambda f: f["entry/scan"].attrs.__setitem__("order", "spiral"),
    "Y_V": lambda f: _drop_field(f, "entry/scan/points", "Y_V"),
    "outside the": lambda f: _points(f, iw=(7, 99)),
    "is the image at": lambda f: _points(f, wavelength_um=(7, 8.6)),
    "/entry/spectral/power row": lambda f: f["entry/spectral/power"].__setitem__(
        0, (42, 6.8, 1.0, 0.0)),
    "/entry/spectral/blank is not": lambda f: _drop_field(f, "entry/spectral/blank", "X_V"),
    "/entry/data/truth": lambda f: _replace(f, "entry/data/truth", np.zeros((2, 2))),
    "names": lambda f: f["entry/sample/materials"].attrs.__setitem__("names", "clear"),
    "labels outside": lambda f: f["entry/sample/materials"].__setitem__((0, 0), 9),
    "material_transmission": lambda f: _replace(f, "entry/sample/material_transmission",
                                                np.ones((4, 3))),
    "/entry/data/X_V has shape": lambda f: _replace(f, "entry/data/X_V", np.zeros((1, 2, 3))),
    "not a 'spectral' scan": lambda f: f["entry"].attrs.__setitem__("kind", "raster"),
    "points_total": lambda f: f["entry/scan"].attrs.__setitem__("points_total", 5),
    "not one per reading of the cube (1200)": lambda f: _replace(
        f, "entry/scan/points", f["entry/scan/points"][:5]),
    "/entry/spectral/power has 3401 rows, more than": lambda f: f["entry/spectral/power"]
    .resize((3401,)),
}


@pytest.mark.parametrize("expected", list(BAD))
def test_a_malformed_part_is_one_line_naming_it(tmp_path, expected):
    path = _mutate(write_spectral(tmp_path / "bad.h5"), BAD[expected])
    with pytest.raises(ScanFileError) as info:
        load_cube(path)
    message = str(info.value)
    assert expected in message and "\n" not in message and str(path) in message


# ------------------------------------------------------------------ calibration


def test_noise_is_estimated_from_the_quadrature(scan):
    noise = cal.noise_V(load_cube(scan))
    np.testing.assert_allclose(noise, NOISE_V, rtol=0.25)


def test_noise_ignores_a_part_of_y_that_follows_x(tmp_path):
    path = write_spectral(tmp_path / "phase.h5", noise_V=NOISE_V)
    with h5py.File(path, "r+") as f:  # a 10 degree phase error: Y = X tan(10 deg) + noise
        records = f["entry/scan/points"][()]
        records["Y_V"] += np.tan(np.radians(10)) * records["X_V"]
        f["entry/scan/points"][...] = records
    cube = load_cube(path)
    assert np.nanstd(cube.Y_V) > 5 * NOISE_V
    np.testing.assert_allclose(cal.noise_V(cube), NOISE_V, rtol=0.3)


def test_power_normalisation_divides_by_the_relative_power(scan):
    cube = load_cube(scan)
    out = cal.power_normalised(cube)
    p_rel = cube.power_mW / cube.power_mW.mean()
    np.testing.assert_allclose(out.values, cube.X_V / p_rel[:, None, None])
    assert out.kind == "power-normalised V" and out.units == "V"
    assert any("responsivity is not removed" in n for n in out.notes)


def _pulls(values, sigma, truth):
    pull = (values - truth) / sigma
    return float(np.mean(pull)), float(np.std(pull))


def test_transmittance_against_a_reference_cube_with_honest_sigma(tmp_path):
    sample = load_cube(write_spectral(tmp_path / "s.h5", noise_V=NOISE_V, seed=1))
    reference = load_cube(write_spectral(tmp_path / "r.h5", noise_V=NOISE_V, seed=2,
                                         no_sample=True, power_scale=1.3))
    out = cal.transmittance(sample, reference)
    assert out.kind == "transmittance" and out.units == "1"
    mean, spread = _pulls(out.values, out.sigma, sample.transmission)
    assert abs(mean) < 0.1 and 0.8 < spread < 1.2  # unbiased, sigma the real scatter


def test_a_reference_of_another_grid_is_refused(tmp_path):
    sample = load_cube(write_spectral(tmp_path / "s.h5"))
    other = load_cube(write_spectral(tmp_path / "r.h5", no_sample=True, x0_um=3.0))
    with pytest.raises(ValueError, match="x_um"):
        cal.transmittance(sample, other)
    fewer = load_cube(write_spectral(tmp_path / "w.h5", no_sample=True,
                                     wavelength_um=WAVELENGTHS_UM[:4]))
    with pytest.raises(ValueError, match="wavelengths x ny x nx"):
        cal.transmittance(sample, fewer)


def test_blank_transmittance_carries_the_beam_profile_relative_to_the_blank(scan):
    cube = load_cube(scan)
    out = cal.blank_transmittance(cube)
    assert out.kind == "relative transmittance" and any("beam profile" in n for n in out.notes)
    w = cube.wavelength_um  # the blank spot is at the beam's centre (beam 1 there)
    blank_truth = responsivity(w) * source_power_mW(w) * GAIN_V_PER_MW
    expected = cube.truth_V / blank_truth[:, None, None]  # T x beam
    assert np.ptp(expected / cube.transmission) > 0.05  # the beam profile is in it
    # the pull against the noise-free expectation is about N(0, 1) (the blank's own
    # reading noise is common to a whole image: allow a shift)
    mean, spread = _pulls(out.values, out.total_sigma(), expected)
    assert abs(mean) < 0.5 and 0.7 < spread < 1.3
    # the blank's reading is shared by its image: its relative noise is the common part
    np.testing.assert_allclose(out.common_rel, cal.noise_V(cube) / cube.blank_X_V)
    assert (out.common_rel > 0).all()


def test_blank_transmittance_needs_blank_readings(tmp_path):
    cube = load_cube(write_spectral(tmp_path / "nb.h5", blank=False))
    with pytest.raises(ValueError, match="no blank-spot readings"):
        cal.blank_transmittance(cube)
    assert cal.calibrate(cube).kind == "power-normalised V"


def test_intensity_from_a_spectral_calibration(scan, tmp_path):
    cube = load_cube(scan)
    calibration = write_calibration(tmp_path / "cal.h5", list(WAVELENGTHS_UM))
    resp = load_spectral_responsivity(calibration)
    assert resp.spectral and resp.wavelength_um.size == WAVELENGTHS_UM.size
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a spectral calibration warns of nothing
        out = cal.intensity(cube, resp)
    assert out.kind == "intensity_W_per_um2" and out.units == "W/um^2"
    expected = (cube.truth_V - 1e-6) / responsivity(WAVELENGTHS_UM)[:, None, None]
    mean, spread = _pulls(out.values, out.total_sigma(), expected)
    np.testing.assert_allclose(out.common_rel, 1e-3)  # the slope's relative uncertainty
    assert abs(mean) < 0.1 and 0.8 < spread < 1.2


def test_intensity_interpolates_between_calibrated_wavelengths(tmp_path):
    calibration = write_calibration(tmp_path / "cal.h5", [6.8, 8.6], main_wavelength_um=6.8)
    resp = load_spectral_responsivity(calibration)  # 6.8 twice: once counts
    np.testing.assert_array_equal(resp.wavelength_um, [6.8, 8.6])
    slope = resp.at(np.array([7.7]))[0][0]
    ends = responsivity(np.array([6.8, 8.6]))
    assert slope == pytest.approx(ends.mean())
    with pytest.raises(ValueError, match="6.8-8.6 um; the scan's 9 um lie outside"):
        resp.at(np.array([7.0, 9.0]))


def test_one_responsivity_is_used_everywhere_with_a_warning(scan, tmp_path):
    cube = load_cube(scan)
    resp = load_spectral_responsivity(write_calibration(tmp_path / "one.h5"))
    assert not resp.spectral
    with pytest.warns(UserWarning, match="spectral response is not corrected"):
        out = cal.intensity(cube, resp)
    np.testing.assert_allclose(out.values, (cube.X_V - 1e-6) / resp.slope_V_per_W_per_um2[0])
    assert any("not corrected" in note for note in out.notes)


def test_a_stored_calibration_without_its_fields_is_one_line(scan):
    with pytest.raises(ValueError, match="/entry/calibration: calibration lacks"):
        cal.responsivity_of_scan(load_cube(scan))


def test_material_names_may_be_a_string_array(tmp_path):
    path = write_spectral(tmp_path / "names.h5")
    with h5py.File(path, "r+") as f:
        f["entry/sample/materials"].attrs["names"] = np.array(NAMES, "S")
    assert load_cube(path).material_names == NAMES
    with h5py.File(path, "r+") as f:
        f["entry/sample/materials"].attrs["names"] = json.dumps(list(NAMES[:2]))
    with pytest.raises(ScanFileError, match="material_transmission has 4 materials"):
        load_cube(path)
