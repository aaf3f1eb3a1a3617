"""Reading raster scan files (docs/scanfile.md): grids, partial scans, errors."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconstruction import RasterScan, ScanFileError, load_raster
from reconstruction.scanfile import assemble_grid

HERE = Path(__file__).parent


def _image(ny: int = 3, nx: int = 4) -> np.ndarray:
    return np.arange(ny * nx, dtype=float).reshape(ny, nx) * 0.1 + 1.0


# ------------------------------------------------------------------ assemble_grid


def test_assemble_grid_places_values_and_mask():
    image, measured = assemble_grid([0, 2, 1], [0, 1, 1], [1.0, 2.0, 3.0], (2, 3))
    expected = np.array([[1.0, np.nan, np.nan], [np.nan, 3.0, 2.0]])
    np.testing.assert_array_equal(image, expected)
    np.testing.assert_array_equal(measured, np.isfinite(expected))


def test_assemble_grid_last_duplicate_wins():
    ix = np.array([1, 0, 1, 1])
    iy = np.array([0, 0, 0, 0])
    image, measured = assemble_grid(ix, iy, [5.0, 1.0, 6.0, 7.0], (1, 2))
    np.testing.assert_array_equal(image, [[1.0, 7.0]])
    assert measured.all()


def test_assemble_grid_empty_and_errors():
    image, measured = assemble_grid(np.array([], int), np.array([], int), [], (2, 2))
    assert np.isnan(image).all() and not measured.any()
    with pytest.raises(ValueError, match="outside"):
        assemble_grid([2], [0], [1.0], (2, 2))
    with pytest.raises(ValueError, match="outside"):
        assemble_grid([0], [-1], [1.0], (2, 2))
    with pytest.raises(ValueError, match="same length"):
        assemble_grid([0, 1], [0], [1.0], (2, 2))


def test_assemble_grid_keeps_nan_values_as_measured():
    image, measured = assemble_grid([0], [0], [np.nan], (1, 2))
    assert measured[0, 0] and not measured[0, 1]
    assert np.isnan(image).all()


# ------------------------------------------------------------------ full scans


@pytest.mark.parametrize("order", ["row", "snake"])
def test_full_scan_round_trip(tmp_path, scan_writer, order):
    img = _image()
    truth = img * 0.9
    chart = np.linspace(0, 1, 20).reshape(4, 5)
    path = scan_writer(tmp_path / "s.h5", img, order=order, truth_V=truth, chart=chart)
    scan = load_raster(path)
    assert isinstance(scan, RasterScan)
    np.testing.assert_array_equal(scan.image_V, img)
    assert scan.measured.all() and scan.complete
    assert scan.order == order
    assert scan.kind == "raster"
    assert scan.exit_status == "success"
    assert scan.points_done == scan.points_total == 12
    np.testing.assert_allclose(scan.x_um, [100, 110, 120, 130])
    np.testing.assert_allclose(scan.y_um, [-50, -40, -30])
    assert scan.pixel_um == pytest.approx(10.0)
    assert scan.pixel_size_um == pytest.approx((10.0, 10.0))
    np.testing.assert_array_equal(scan.truth_V, truth)
    assert scan.chart is not None
    np.testing.assert_array_equal(scan.chart.transmission, chart)
    assert scan.chart.pixel_um == 2.5 and scan.chart.name == "bars"
    assert (scan.chart.x0_um, scan.chart.y0_um) == (95.0, -55.0)
    assert scan.settings["lockin"]["time_constant_s"] == 0.03
    assert scan.settings["lockin"]["model"] == "SR830"
    assert "NX_class" not in scan.settings["lockin"]
    assert set(scan.settings) == {"stage_x", "stage_y", "lockin", "chopper", "source", "pump"}
    assert 'kind = "raster"' in scan.recipe_toml
    assert scan.attrs["start_time"] == "2025-01-01T12:00:00Z"
    assert scan.lab == {"kind": "simulated", "seed": 7}
    assert scan.path == Path(path)
    assert scan.points.dtype.names[:3] == ("index", "ix", "iy")
    assert (scan.points["done"] == 1).all()


def test_scan_without_truth_or_chart(tmp_path, scan_writer):
    scan = load_raster(scan_writer(tmp_path / "s.h5", _image()))
    assert scan.truth_V is None and scan.chart is None


def test_file_without_point_table_uses_data_signal(tmp_path, scan_writer):
    path = scan_writer(tmp_path / "s.h5", _image(), n_done=5, with_points=False)
    scan = load_raster(path)
    assert scan.measured.sum() == 5
    assert scan.points_done == 0


# ------------------------------------------------------------------ partial scans


def test_partial_snake_scan_nan_and_mask(tmp_path, scan_writer):
    img = _image(3, 4)
    path = scan_writer(tmp_path / "p.h5", img, order="snake", n_done=6)
    scan = load_raster(path)
    # Row 0 complete, row 1 measured from the right (snake): ix 3 and 2.
    expected_mask = np.array([[1, 1, 1, 1], [0, 0, 1, 1], [0, 0, 0, 0]], dtype=bool)
    np.testing.assert_array_equal(scan.measured, expected_mask)
    np.testing.assert_array_equal(scan.image_V[expected_mask], img[expected_mask])
    assert np.isnan(scan.image_V[~expected_mask]).all()
    assert scan.points_done == 6 and scan.points_total == 12
    assert not scan.complete
    assert scan.exit_status == "abort"
    np.testing.assert_array_equal(scan.points["index"], np.arange(6))


def test_partial_row_scan_mask(tmp_path, scan_writer):
    img = _image(3, 4)
    scan = load_raster(scan_writer(tmp_path / "p.h5", img, order="row", n_done=6))
    expected_mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 0, 0]], dtype=bool)
    np.testing.assert_array_equal(scan.measured, expected_mask)
    assert np.isnan(scan.image_V[~expected_mask]).all()


def test_nothing_measured_yet(tmp_path, scan_writer):
    scan = load_raster(scan_writer(tmp_path / "e.h5", _image(), n_done=0, exit_status="running"))
    assert not scan.measured.any() and np.isnan(scan.image_V).all()
    assert scan.points_done == 0 and scan.exit_status == "running"


WRITER_SCRIPT = textwrap.dedent(
    """
    import importlib.util, sys, time
    import numpy as np
    spec = importlib.util.spec_from_file_location("recon_conftest", sys.argv[1])
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    img = np.arange(12, dtype=float).reshape(3, 4)
    f = mod.write_scan(sys.argv[2], img, n_done=5, exit_status="running", close=False)
    print("ready", flush=True)
    time.sleep(60)
    """
)


def test_reads_file_open_for_writing_and_after_kill(tmp_path):
    path = tmp_path / "live.h5"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER_SCRIPT, str(HERE / "conftest.py"), str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        live = load_raster(path)  # the writer still holds the file open
        assert live.points_done == 5 and live.exit_status == "running"
        assert live.measured.sum() == 5
    finally:
        proc.kill()  # SIGKILL: no close, no cleanup
        proc.wait(timeout=10)
    dead = load_raster(path)
    assert dead.points_done == 5
    np.testing.assert_array_equal(dead.image_V[0], [0.0, 1.0, 2.0, 3.0])
    assert dead.image_V[1, 3] == 7.0 and np.isnan(dead.image_V[1, 2])


# ------------------------------------------------------------------ errors


def _assert_one_line_naming(exc: ScanFileError, path: Path) -> None:
    msg = str(exc)
    assert str(path) in msg
    assert "\n" not in msg


def test_missing_file(tmp_path):
    path = tmp_path / "nope.h5"
    with pytest.raises(ScanFileError, match="no such file") as info:
        load_raster(path)
    _assert_one_line_naming(info.value, path)
    assert isinstance(info.value, ValueError)


def test_garbage_bytes(tmp_path):
    path = tmp_path / "garbage.h5"
    path.write_bytes(b"this is not an HDF5 file at all" * 100)
    with pytest.raises(ScanFileError, match="not an HDF5") as info:
        load_raster(path)
    _assert_one_line_naming(info.value, path)


def test_truncated_file(tmp_path, scan_writer):
    path = scan_writer(tmp_path / "cut.h5", _image(8, 8), truth_V=_image(8, 8))
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ScanFileError) as info:
        load_raster(path)
    _assert_one_line_naming(info.value, path)


def test_newer_format_version(tmp_path, scan_writer):
    path = scan_writer(tmp_path / "future.h5", _image(), version=2)
    with pytest.raises(ScanFileError, match="version 2 is newer") as info:
        load_raster(path)
    _assert_one_line_naming(info.value, path)


def test_wrong_kind(tmp_path, scan_writer):
    path = scan_writer(tmp_path / "sp.h5", _image(), kind="single_pixel")
    with pytest.raises(ScanFileError, match="single_pixel") as info:
        load_raster(path)
    _assert_one_line_naming(info.value, path)


def test_hdf5_but_not_a_mirimager_scan(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(ScanFileError, match="not a mirimager scan") as info:
        load_raster(path)
    _assert_one_line_naming(info.value, path)


def test_point_outside_grid_is_reported(tmp_path, scan_writer):
    path = scan_writer(tmp_path / "bad.h5", _image())
    with h5py.File(path, "r+") as f:
        pts = f["entry/scan/points"]
        rec = pts[0]
        rec["ix"] = 99
        pts[0] = rec
    with pytest.raises(ScanFileError, match="outside") as info:
        load_raster(path)
    _assert_one_line_naming(info.value, path)


def test_directory_is_rejected(tmp_path):
    with pytest.raises(ScanFileError, match="directory"):
        load_raster(tmp_path)


@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 2), st.floats(-1e3, 1e3)),
        max_size=40,
    )
)
def test_assemble_grid_matches_sequential_writes(points):
    expected = np.full((3, 4), np.nan)
    for ix, iy, v in points:
        expected[iy, ix] = v  # sequential: the last write wins
    ix = np.array([p[0] for p in points], dtype=int)
    iy = np.array([p[1] for p in points], dtype=int)
    values = np.array([p[2] for p in points], dtype=float)
    image, measured = assemble_grid(ix, iy, values, (3, 4))
    np.testing.assert_array_equal(image, expected)
    np.testing.assert_array_equal(measured, ~np.isnan(expected))


# ------------------------------------------------------------------ found by the fuzz suite
# (tests/imager/test_fuzz.py has them end to end through the CLI)


def test_non_utf8_text_and_names_are_shown_escaped(tmp_path, scan_writer):
    path = scan_writer(tmp_path / "bytes.h5", _image())
    with h5py.File(path, "r+") as f:
        f["entry"].attrs["exit_status"] = b"ok\x80"
        f["entry/instrument/lockin"].attrs[b"\xffname"] = 1.0
        f["entry/instrument"].create_group(b"\xfegroup")
    scan = load_raster(path)
    assert scan.exit_status == "ok\\x80"
    assert scan.settings["lockin"]["\\xffname"] == 1.0
    assert "\\xfegroup" in scan.settings
    for text in (scan.exit_status, *scan.settings, *scan.settings["lockin"]):
        text.encode("utf-8")  # printable on a strict UTF-8 stdout


def test_dangling_link_is_a_scan_file_error(tmp_path, scan_writer):
    path = scan_writer(tmp_path / "link.h5", _image())
    with h5py.File(path, "r+") as f:
        f["entry/instrument/ghost"] = h5py.SoftLink("/nowhere")
    with pytest.raises(ScanFileError, match="/entry/instrument/ghost is a broken link") as info:
        load_raster(path)
    _assert_one_line_naming(info.value, path)


@pytest.mark.parametrize(("value", "match"), [
    (np.array([100.0, 110.0, np.nan, 130.0]), "not finite"),
    (np.array([100.0, 110.0, 110.0, 130.0]), "not strictly monotonic"),
    (np.array([[100.0, 110.0, 120.0, 130.0]]), "expected one dimension"),
    (np.array([b"a", b"b", b"c", b"d"]), "not numeric"),
    (np.zeros(0), "is empty"),
])
def test_bad_x_axis_is_reported(tmp_path, scan_writer, value, match):
    path = scan_writer(tmp_path / "axis.h5", _image())
    with h5py.File(path, "r+") as f:
        del f["entry/data/x_um"]
        f["entry/data/x_um"] = value
    with pytest.raises(ScanFileError, match=match) as info:
        load_raster(path)
    _assert_one_line_naming(info.value, path)
    assert "/entry/data/x_um" in str(info.value)


def test_decreasing_axis_is_fine(tmp_path, scan_writer):
    x = np.array([130.0, 120.0, 110.0, 100.0])
    assert np.array_equal(load_raster(scan_writer(tmp_path / "dec.h5", _image(),
                                                  x_um=x)).x_um, x)


@pytest.mark.parametrize(("key", "value"), [("nx", np.inf), ("ny", "six"), ("nx", 4.5),
                                            ("points_total", "x"), ("points_total", np.nan)])
def test_bad_grid_counts_are_reported(tmp_path, scan_writer, key, value):
    path = scan_writer(tmp_path / "count.h5", _image())
    with h5py.File(path, "r+") as f:
        f["entry/scan"].attrs[key] = value
    with pytest.raises(ScanFileError, match=f"attribute {key} is") as info:
        load_raster(path)
    _assert_one_line_naming(info.value, path)
