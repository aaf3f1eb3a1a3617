"""A reconstruction stored in its single-pixel file: NXprocess + NXdata, the default plot,
new entries on every run, and a store that never harms the measured data."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from imager.engine import run_single_pixel
from imager.recipes import parse_recipe
from imager.sim import simulated_lab_for
from reconstruction import ScanFileError, nxprocess, schema
from reconstruction.nxprocess import store_reconstruction, stored_reconstructions
from reconstruction.spifile import load_single_pixel, reconstruct_single_pixel

RECIPE = """
kind = "single_pixel"
name = "spi"
[single_pixel]
basis = "hadamard"
size = 16
ratio = 0.5
dwell_tc = 10
[lockin]
sensitivity_V = 0.01
[pump]
power_mW = 500
[sim]
noise = true
"""
SIZE = 16


@pytest.fixture(scope="module")
def spi_bytes(tmp_path_factory) -> bytes:
    """A 16 x 16 Hadamard scan at ratio 0.5 on the simulated lab, as bytes."""
    recipe = parse_recipe(RECIPE, "spi.toml")
    path = tmp_path_factory.mktemp("spi") / "spi.h5"
    result = run_single_pixel(simulated_lab_for(recipe), recipe, path, progress=False)
    assert result.exit_status == "success"
    return path.read_bytes()


@pytest.fixture
def spi(tmp_path, spi_bytes) -> Path:
    path = tmp_path / "spi.h5"
    path.write_bytes(spi_bytes)
    return path


def measured(path: Path) -> dict[str, bytes]:
    """The bytes of everything the scan measured or declared, by path (all but what a
    store may add: the reconstruction groups and ``/entry@default``)."""
    out: dict[str, bytes] = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if not name.startswith("entry/" + schema.RECONSTRUCTION_PREFIX):
                attrs = {k: v for k, v in obj.attrs.items() if (name, k) != ("entry", "default")}
                out[name] = repr(sorted(attrs.items())).encode()
                if isinstance(obj, h5py.Dataset):
                    value = obj[()]
                    out[name] += value if isinstance(value, bytes) else value.tobytes()
        f.visititems(visit)
    return out


def reconstructions(path: Path) -> dict[str, object]:
    """Every stored reconstruction's datasets and attributes, and ``/entry@default``."""
    out: dict[str, object] = {}
    with h5py.File(path, "r") as f:
        out["@default"] = f["entry"].attrs.get("default")
        for name in f["entry"]:
            if name.startswith(schema.RECONSTRUCTION_PREFIX):
                def visit(sub, obj, name=name):
                    key = f"{name}/{sub}"
                    out[key + "@"] = repr(sorted(obj.attrs.items()))
                    if isinstance(obj, h5py.Dataset):
                        out[key] = obj[()].tobytes() if obj.dtype.kind != "O" else obj[()]
                f[f"entry/{name}"].visititems(visit)
    return out


def test_the_image_is_the_default_plot_with_its_process(spi):
    scan = load_single_pixel(spi)
    rec = reconstruct_single_pixel(scan, "tv")
    before = measured(spi)
    assert store_reconstruction(spi, rec, scan, version="9.9") == "/entry/reconstruction_1"
    assert measured(spi) == before  # the bucket data byte for byte
    with h5py.File(spi, "r") as f:
        assert f.attrs["default"] == "entry"
        assert f["entry"].attrs["default"] == "reconstruction_1"
        process = f["entry/reconstruction_1"]
        assert process.attrs["NX_class"] == "NXprocess" and process.attrs["default"] == "data"
        assert process["method"][()].decode() == "tv"
        assert process["program"][()].decode() == "mirimager"
        assert process["version"][()].decode() == "9.9" and process["date"][()].decode()
        assert process["sequence_index"][()] == 1
        assert process["measurements"][()] == rec.measurements == SIZE * SIZE // 2
        assert process["ratio"][()] == pytest.approx(0.5)
        assert process["noise_sigma_V"].attrs["units"] == "V"
        assert process["noise_sigma_V"][()] == pytest.approx(rec.solver["sigma"])
        assert rec.solver["sigma"] > 0
        params = process["parameters"]
        assert params.attrs["NX_class"] == "NXparameters"
        assert params["eps_V"][()] == pytest.approx(rec.solver["eps"])
        assert rec.solver["eps"] > 0
        assert params["iterations"][()] == rec.solver["iterations"] >= 1
        data = process["data"]
        assert data.attrs["NX_class"] == "NXdata" and data.attrs["signal"] == "image"
        assert [a.decode() for a in data.attrs["axes"]] == ["y_um", "x_um"]
        assert data.attrs["y_um_indices"] == 0 and data.attrs["x_um_indices"] == 1
        assert data["image"].shape == (SIZE, SIZE) and data["image"].attrs["units"] == "V"
        np.testing.assert_array_equal(data["image"][()], rec.image)
        np.testing.assert_array_equal(data["x_um"][()], scan.x_um)
        assert data["x_um"].attrs["units"] == data["y_um"].attrs["units"] == "um"
    # the readers still read the file, and list what it holds
    again = load_single_pixel(spi)
    np.testing.assert_array_equal(again.raw_V, scan.raw_V)
    [stored] = stored_reconstructions(spi)
    assert (stored.name, stored.method, stored.shape, stored.default) == \
        ("reconstruction_1", "tv", (SIZE, SIZE), True)


def test_silx_shows_the_image(spi):
    silx_io = pytest.importorskip("silx.io")
    from silx.io import nxdata

    scan = load_single_pixel(spi)
    with silx_io.open(str(spi)) as f:  # before: the bucket trace
        assert nxdata.get_default(f).signal.ndim == 1
    rec = reconstruct_single_pixel(scan, "pinv")
    store_reconstruction(spi, rec, scan)
    with silx_io.open(str(spi)) as f:
        default = nxdata.get_default(f)
        assert default is not None and default.signal_is_2d
        assert default.signal.shape == (SIZE, SIZE)
        np.testing.assert_array_equal(default.signal[()], rec.image)
        assert default.axes_dataset_names == ["y_um", "x_um"]


def test_a_new_run_adds_an_entry_and_moves_the_default(spi):
    scan = load_single_pixel(spi)
    before = measured(spi)
    store_reconstruction(spi, reconstruct_single_pixel(scan, "tv"), scan)
    first = reconstructions(spi)
    rec = reconstruct_single_pixel(scan, "pinv", ratio=0.25)
    assert store_reconstruction(spi, rec, scan) == "/entry/reconstruction_2"
    after = reconstructions(spi)
    assert after["@default"] == "reconstruction_2"
    assert {k: v for k, v in after.items() if k.startswith("reconstruction_1/")} == \
        {k: v for k, v in first.items() if k != "@default"}
    assert measured(spi) == before
    with h5py.File(spi, "r") as f:
        assert f["entry/reconstruction_2/sequence_index"][()] == 2
        assert f["entry/reconstruction_2/measurements"][()] == 64
    assert [(r.name, r.method, r.default) for r in stored_reconstructions(spi)] == \
        [("reconstruction_1", "tv", False), ("reconstruction_2", "pinv", True)]


@pytest.mark.parametrize("where, after", [("dataset", 0), ("dataset", 7), ("flush", False),
                                          ("flush", True)],
                         ids=["first-dataset", "half-way", "flush", "flush-after-default"])
def test_a_write_that_fails_half_way_leaves_the_file_as_it_was(spi, monkeypatch, where, after):
    """``after``: the flush fails once @default names the new group (else: before)."""
    scan = load_single_pixel(spi)
    store_reconstruction(spi, reconstruct_single_pixel(scan, "pinv"), scan)
    before, earlier = measured(spi), reconstructions(spi)
    rec = reconstruct_single_pixel(scan, "tv")
    write, flush, written = nxprocess._write_dataset, h5py.File.flush, []

    def failing_write(*args, **kwargs):
        if len(written) == after:
            raise OSError("disk full (simulated)")
        written.append(args[1].path)
        return write(*args, **kwargs)

    def failing_flush(self):
        moved = self["entry"].attrs.get("default") == "reconstruction_2"
        if "reconstruction_2" in self["entry"] and moved == after:
            raise OSError("disk full (simulated)")
        flush(self)

    if where == "dataset":
        monkeypatch.setattr(nxprocess, "_write_dataset", failing_write)
    else:
        monkeypatch.setattr(h5py.File, "flush", failing_flush)
    with pytest.raises(ScanFileError) as info:
        store_reconstruction(spi, rec, scan)
    message = str(info.value)
    assert message.startswith(f"{spi}: cannot store") and "\n" not in message
    assert "disk full" in message
    assert len(written) == (after if where == "dataset" else 0)
    monkeypatch.undo()
    assert measured(spi) == before
    assert reconstructions(spi) == earlier  # no new group, @default as it was
    # and the file takes the next store normally
    assert store_reconstruction(spi, rec, scan) == "/entry/reconstruction_2"


def test_a_store_cut_off_by_a_kill_is_listed_and_not_reused(spi):
    scan = load_single_pixel(spi)
    with h5py.File(spi, "r+") as f:  # what a kill in the middle of a store leaves
        f.create_group("entry/reconstruction_1").create_dataset("method", data="tv")
    [cut] = stored_reconstructions(spi)
    assert cut.shape is None and not cut.default and "incomplete" in cut.summary()
    assert store_reconstruction(spi, reconstruct_single_pixel(scan, "pinv"), scan) == \
        "/entry/reconstruction_2"
    assert [r.default for r in stored_reconstructions(spi)] == [False, True]
    load_single_pixel(spi)


def test_refuses_data_that_are_not_the_files(spi, tmp_path):
    scan = load_single_pixel(spi)
    rec = reconstruct_single_pixel(scan, "pinv")
    before = spi.read_bytes()
    changed = load_single_pixel(spi)
    changed.raw_V[3] += 1e-3  # as if the file had changed since it was read
    with pytest.raises(ScanFileError, match="bucket readings changed"):
        store_reconstruction(spi, rec, changed)
    rec.image = np.zeros((8, 8))
    with pytest.raises(ScanFileError, match=r"the image is \(8, 8\)"):
        store_reconstruction(spi, rec, scan)
    assert spi.read_bytes() == before


def test_a_running_scan_without_file_locking_is_refused(spi, monkeypatch):
    scan = load_single_pixel(spi)
    with h5py.File(spi, "r+") as f:
        f["entry"].attrs["exit_status"] = "running"
    before = spi.read_bytes()
    monkeypatch.setenv("HDF5_USE_FILE_LOCKING", "FALSE")
    with pytest.raises(ScanFileError, match="file locking is off"):
        store_reconstruction(spi, reconstruct_single_pixel(scan, "pinv"), scan)
    assert spi.read_bytes() == before


def test_a_file_marked_read_only_is_refused(spi):
    scan = load_single_pixel(spi)
    spi.chmod(0o444)
    before = spi.read_bytes()
    try:
        with pytest.raises(ScanFileError, match=f"^{spi}: read-only file"):
            store_reconstruction(spi, reconstruct_single_pixel(scan, "pinv"), scan)
    finally:
        spi.chmod(0o644)
    assert spi.read_bytes() == before


def test_raster_files_are_not_single_pixel(tmp_path, spi):
    other = tmp_path / "copy.h5"
    shutil.copy(spi, other)
    with h5py.File(other, "r+") as f:
        f["entry"].attrs["kind"] = "raster"
    scan = load_single_pixel(spi)
    with pytest.raises(ScanFileError, match="not 'single_pixel'"):
        store_reconstruction(other, reconstruct_single_pixel(scan, "pinv"), scan)
