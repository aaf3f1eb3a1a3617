"""Spectral results in files others read: TIFF stacks, per-pixel spectra, the NXprocess,
and the cube opened by silx, nexusformat and HyperSpy."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import tifffile

sys.path.insert(0, str(Path(__file__).parent))
from spectral_files import WAVELENGTHS_UM, write_spectral  # noqa: E402

from reconstruction.errors import ScanFileError  # noqa: E402
from reconstruction.spectral import calibrate as cal  # noqa: E402
from reconstruction.spectral import export  # noqa: E402
from reconstruction.spectral.cube import load_cube  # noqa: E402
from reconstruction.spectral.unmix import analyse, reference_spectra  # noqa: E402


@pytest.fixture
def scan(tmp_path) -> Path:
    return write_spectral(tmp_path / "s.h5", builtin=True)


@pytest.fixture
def result(scan):
    cube = load_cube(scan)
    calibrated = cal.calibrate(cube)
    names, refs = reference_spectra(cube.wavelength_um, "builtin")
    values, sigma = cal.spectral_shape(calibrated)
    return cube, calibrated, analyse(values, sigma, names, refs, "builtin", cube.labels,
                                     cube.material_names, cube.material_transmission)


def measured(path: Path) -> bytes:
    with h5py.File(path) as f:
        return b"".join(f[n][()].tobytes() for n in (
            "entry/scan/points", "entry/data/X_V", "entry/data/wavelength_um",
            "entry/spectral/power", "entry/spectral/blank"))


def test_cube_tiff_is_a_float32_stack_with_its_wavelengths(tmp_path, result):
    _, c, _ = result
    path = export.save_cube_tiff(tmp_path / "c.tif", c.values, c.wavelength_um, c.x_um, c.y_um,
                                 kind=c.kind, units=c.units)
    with tifffile.TiffFile(path) as tif:
        data = tif.asarray()
        meta = tif.imagej_metadata
        description = tif.pages[0].description
        x_res = tif.pages[0].tags["XResolution"].value
    assert data.dtype == np.float32 and data.shape == c.values.shape
    np.testing.assert_allclose(data, c.values.astype(np.float32), equal_nan=True)
    assert "wavelengths_um=" + ",".join(f"{w:.6g}" for w in WAVELENGTHS_UM) in description
    assert meta["Labels"] == [f"{w:g} um" for w in WAVELENGTHS_UM]
    assert meta["unit"] == "um" and x_res[1] / x_res[0] == pytest.approx(5.0)


def test_maps_tiff_has_a_page_per_material(tmp_path, result):
    _, c, a = result
    path = export.save_maps_tiff(tmp_path / "m.tif", a.unmixing.fractions, a.unmixing.names,
                                 c.x_um, c.y_um)
    with tifffile.TiffFile(path) as tif:
        assert tif.asarray().shape == a.unmixing.fractions.shape
        assert tif.imagej_metadata["Labels"] == list(a.unmixing.names)


@pytest.mark.parametrize("suffix", [".csv", ".npy"])
def test_spectra_per_pixel(tmp_path, result, suffix):
    _, c, _ = result
    path = export.save_spectra(tmp_path / f"p{suffix}", c.values, c.x_um, c.y_um,
                               c.wavelength_um)
    if suffix == ".csv":
        header = path.read_text().splitlines()[0].split(",")
        assert header[:2] == ["x_um", "y_um"]
        np.testing.assert_allclose([float(h) for h in header[2:]], WAVELENGTHS_UM)
        table = np.loadtxt(path, delimiter=",", skiprows=1)
    else:
        table = np.load(path)
    nw, ny, nx = c.values.shape
    assert table.shape == (ny * nx, 2 + nw)
    row = 2 * nx + 5  # iy = 2, ix = 5
    assert tuple(table[row, :2]) == (c.x_um[5], c.y_um[2])
    np.testing.assert_allclose(table[row, 2:], c.values[:, 2, 5], rtol=1e-8)


def test_the_analysis_is_stored_as_new_nxprocesses_and_the_cube_stays_default(scan, result):
    _, c, a = result
    before = measured(scan)
    with h5py.File(scan) as f:
        default = f["entry"].attrs["default"]
    assert export.store_analysis(scan, a, c) == "/entry/spectral_analysis_1"
    assert export.store_analysis(scan, a, c) == "/entry/spectral_analysis_2"
    assert measured(scan) == before
    with h5py.File(scan) as f:
        assert f["entry"].attrs["default"] == default
        g = f["entry/spectral_analysis_2"]
        assert g.attrs["NX_class"] == "NXprocess" and g["sequence_index"][()] == 2
        assert g["normalisation"].asstr()[()] == "relative transmittance"
        assert g["library"].asstr()[()] == "builtin"
        assert list(g["material_names"].asstr()[()]) == list(a.unmixing.names)
        np.testing.assert_array_equal(g["maps/fractions"][()], a.unmixing.fractions)
        np.testing.assert_array_equal(g["maps/labels"][()], a.labels)
        assert g["maps"].attrs["signal"] == "fractions"
        assert [s.decode() for s in g["maps"].attrs["axes"]] == ["material", "y_um", "x_um"]
        assert g["spectra/spectra"].shape == (4, WAVELENGTHS_UM.size)
        assert g["spectra/wavelength_um"].attrs["units"] == "um"
        assert g["residual/residual"].shape == a.labels.shape
        assert g["classification_score"][()] == a.score


def test_silx_shows_the_cube_and_reads_the_maps(scan, result):
    silx_io = pytest.importorskip("silx.io")
    from silx.io import nxdata

    export.store_analysis(scan, result[2], result[1])
    with silx_io.open(str(scan)) as f:
        default = nxdata.get_default(f)
        assert default.signal_is_3d and default.signal.shape == result[0].shape
        assert default.axes_dataset_names == ["wavelength_um", "y_um", "x_um"]
        assert [ax.attrs["units"] for ax in default.axes] == ["um", "um", "um"]
        maps = nxdata.NXdata(f["entry/spectral_analysis_1/maps"])
        assert maps.is_valid and maps.axes_dataset_names == ["material", "y_um", "x_um"]
        spectra = nxdata.NXdata(f["entry/spectral_analysis_1/spectra"])
        assert spectra.is_valid and spectra.errors is not None


def test_nexusformat_plots_the_cube(scan, result):
    nexus = pytest.importorskip("nexusformat.nexus")
    export.store_analysis(scan, result[2], result[1])
    root = nexus.nxload(str(scan))
    try:
        data = root.plottable_data
        assert data.nxsignal.shape == result[0].shape
        assert [ax.nxname for ax in data.nxaxes] == ["wavelength_um", "y_um", "x_um"]
        np.testing.assert_array_equal(data.nxaxes[0].nxvalue, WAVELENGTHS_UM)
        assert data.nxaxes[0].attrs["units"] == "um"
        maps = root["entry/spectral_analysis_1/maps"].plottable_data
        assert maps.nxsignal.shape == (4, *result[0].shape[1:])
    finally:
        root.nxfile.close()


def test_hyperspy_loads_the_cube_as_a_spectrum_image(scan):
    hs = pytest.importorskip("hyperspy.api")
    signal = hs.load(scan, file_format="nexus", nxdata_only=True, dataset_key="entry/data")
    spectrum_image = signal.as_signal1D("wavelength_um")
    assert type(spectrum_image).__name__ == "Signal1D"
    nav = spectrum_image.axes_manager.navigation_axes
    (axis,) = spectrum_image.axes_manager.signal_axes
    assert [a.name for a in nav] == ["x_um", "y_um"] and axis.name == "wavelength_um"
    assert axis.units == "um" and [a.units for a in nav] == ["um", "um"]
    np.testing.assert_allclose(axis.axis, WAVELENGTHS_UM)
    cube = load_cube(scan)
    np.testing.assert_array_equal(spectrum_image.data, np.moveaxis(cube.X_V, 0, -1))


def test_a_read_only_file_is_refused_and_left_as_it_was(scan, result):
    before = scan.read_bytes()
    os.chmod(scan, 0o444)
    try:
        with pytest.raises(ScanFileError, match="read-only.*spectral analysis was not stored"):
            export.store_analysis(scan, result[2], result[1])
    finally:
        os.chmod(scan, 0o644)
    assert scan.read_bytes() == before


def test_a_write_that_fails_leaves_no_group(scan, result, monkeypatch):
    def broken(group, *args):
        group.create_dataset("program", data="half")
        raise OSError("disk full")

    monkeypatch.setattr(export, "_contents", broken)
    with pytest.raises(ScanFileError, match="disk full; the file is as it was"):
        export.store_analysis(scan, result[2], result[1])
    with h5py.File(scan) as f:
        assert not [n for n in f["entry"] if n.startswith("spectral_analysis")]


def test_only_a_spectral_file_of_the_same_grid_takes_it(tmp_path, scan, result):
    other = write_spectral(tmp_path / "o.h5", nx=5, builtin=True)
    with pytest.raises(ScanFileError, match=r"maps are \(10, 12\), the file's grid \(10, 5\)"):
        export.store_analysis(other, result[2], result[1])
    with h5py.File(other, "r+") as f:
        f["entry"].attrs["kind"] = "raster"
    with pytest.raises(ScanFileError, match="not 'spectral'"):
        export.store_analysis(other, result[2], result[1])
