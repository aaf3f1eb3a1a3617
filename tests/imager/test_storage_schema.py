"""One scan-file schema (reconstruction/schema.py): the writers create what it declares,
``reopen`` and ``mirimager resume`` check a stopped file by it before writing anything, and
a file a writer process is flushing reads cleanly, point after point."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import h5py
import numpy as np
import pytest

from imager.calibration import run_calibration
from imager.cli import main
from imager.engine import StopRequest, run_raster
from imager.plans import RasterGrid
from imager.recipes import default_recipe, parse_recipe
from imager.sim import simulated_lab_for
from imager.storage import ScanWriter
from imager.storage.single_pixel import SinglePixelWriter
from reconstruction import ScanFileError, load_raster, schema
from reconstruction.events import load_events
from reconstruction.spifile import load_single_pixel

READY_BOUND_S = 120  # generous: the machine may be fully loaded


class _Chart:
    transmission = np.full((4, 5), 0.5)
    name, pixel_um, x0_um, y0_um = "flat", 2.0, -3.0, -4.0


def _check_declared(f: h5py.File, layout: schema.Layout, sizes: dict[str, int]) -> int:
    """Every declared item present in ``f`` has its declared class, dtype, shape and
    attributes; returns how many were checked."""
    checked = 0
    for item in layout.items:
        if "{" in item.path or item.path not in f:
            assert item.optional, f"{item.path} missing"
            continue
        obj = f[item.path]
        if isinstance(item, schema.GroupSpec):
            assert isinstance(obj, h5py.Group) and obj.attrs["NX_class"] == item.nx_class
        else:
            assert isinstance(obj, h5py.Dataset) and obj.dtype == item.dtype, item.path
            if item.shape is not None:
                assert obj.shape == item.shape_for(sizes), item.path
            if item.fill is not None:
                fill = np.asarray(item.fill, item.dtype)
                assert np.asarray(obj.fillvalue, item.dtype).tobytes() == fill.tobytes()
        for key, value in item.attrs.items():
            np.testing.assert_array_equal(obj.attrs[key], value)
        checked += 1
    return checked


def test_writers_create_the_datasets_the_schema_declares(tmp_path):
    grid = RasterGrid(0.0, 3.0, 4, 0.0, 2.0, 3)
    raster = ScanWriter(tmp_path / "r.h5", grid, recipe_text="", dwell_s=0.1, instruments={},
                        lab={"kind": "simulated"}, truth_V=np.zeros(grid.shape), chart=_Chart(),
                        calibration={"slope_V_per_W_per_um2": 2.0})
    raster.close("abort")
    spi = SinglePixelWriter(tmp_path / "p.h5", basis_spec={"kind": "hadamard", "size": 4},
                            n_patterns=32, fov_um=8.0, center_um=(1.0, 2.0), recipe_text="",
                            dwell_s=0.1, instruments={}, lab={"kind": "simulated"})
    spi.close("abort")
    with h5py.File(tmp_path / "r.h5", "r") as f:
        assert f.attrs[schema.VERSION_ATTR] == schema.LAYOUT_VERSION
        assert _check_declared(f, schema.RASTER, {"nx": 4, "ny": 3, "points_total": 12}) \
            == len(schema.RASTER.items)  # every optional part was given
        assert f[schema.CHART].attrs["name"] == "flat"
    with h5py.File(tmp_path / "p.h5", "r") as f:
        assert _check_declared(f, schema.SINGLE_PIXEL, {"points_total": 32, "size": 4}) == 8
        np.testing.assert_allclose(f["entry/data/x_um"][()], [-2.0, 0.0, 2.0, 4.0])


def test_calibration_files_hold_the_declared_sweeps(tmp_path):
    recipe = parse_recipe('kind = "calibration"\nname = "c"\n[calibration]\nrepeats = 3\n'
                          "pump_power_mW = [0.2, 0.4]\n", "c.toml")
    run_calibration(simulated_lab_for(recipe), recipe, tmp_path / "c.h5", progress=False)
    cal = recipe.sections["calibration"]
    levels = len(cal["mir_power_mW"])
    with h5py.File(tmp_path / "c.h5", "r") as f:
        for sweep in ("responsivity", "pump_sweep/0", "pump_sweep/1"):
            readings = f[f"{schema.CALIBRATION}/{sweep}/X_V"]
            assert readings.shape == (levels, 3) and readings.attrs["units"] == "V"
            assert np.isfinite(readings[()]).all()
        assert set(f[schema.RESPONSIVITY].attrs) >= {"slope_V_per_W_per_um2", "noise_V"}


def _stopped(tmp_path, n_points: int = 7):
    recipe = default_recipe(scan={"nx": 6, "ny": 5})
    lab, stop = simulated_lab_for(recipe), StopRequest()
    read, calls = lab.lockin.read_xy, {"n": 0}

    def read_then_stop():
        calls["n"] += 1
        if calls["n"] == n_points:
            stop.set("test stop")
        return read()

    lab.lockin.read_xy = read_then_stop
    path = tmp_path / "stopped.h5"
    run_raster(lab, recipe, path, progress=False, stop=stop, handle_ctrl_c=False)
    return path


def test_reopen_checks_the_file_by_the_schema_before_writing(tmp_path):
    # Was: reopened the file for writing, marked it "running" and wrote its resume history,
    # then continued writing records of another type into it.
    path = _stopped(tmp_path)
    with h5py.File(path, "r+") as f:
        records = f[schema.POINTS][()]
        del f[schema.POINTS]
        f[schema.POINTS] = records[["index", "ix", "iy", "X_V", "t_lab_s", "done"]]
    before = path.read_bytes()
    with pytest.raises(ScanFileError) as info:
        ScanWriter.reopen(path)
    assert str(info.value) == (f"{path}: /entry/scan/points is not the 30-record table of "
                               "the recipe's plan")
    assert path.read_bytes() == before


def test_resume_checks_the_settings_changes_before_it_starts(tmp_path, capsys):
    # Was: "resuming ..." was printed, then the writer found the table malformed.
    path = _stopped(tmp_path)
    with h5py.File(path, "r+") as f:
        f[schema.SETTINGS_CHANGES] = np.arange(3.0)
    before = path.read_bytes()
    capsys.readouterr()
    assert main(["resume", str(path), "--no-progress"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (f"mirimager resume: error: {path}: cannot resume: /entry/settings_changes "
                   "is not a table of setting changes (1-D records with fields t_wall_s, "
                   "t_lab_s, index, device, attribute, value)\n")
    assert path.read_bytes() == before


# ------------------------------------------------------------------ a file being written

# Writes files one after another (raster or single-pixel), each point flushed as the engine
# does, with events, setting changes and a stop + reopen half-way; prints each file's name
# once it exists, and stops at the first line on stdin (or after 200 files).
WRITER = r"""
import select, sys, time
from imager.devices import LockInReading
from imager.plans import RasterGrid, raster_points
from imager.storage import ScanWriter
from imager.storage.single_pixel import SinglePixelWriter

kind, folder = sys.argv[1], sys.argv[2]
for k in range(200):
    path = f"{folder}/{kind}{k}.h5"
    if kind == "raster":
        grid = RasterGrid(0.0, 100.0, 40, 0.0, 100.0, 40, order="snake")
        w = ScanWriter(path, grid, recipe_text="", dwell_s=0.0, instruments={},
                       lab={"kind": "test"})
        points, total = list(raster_points(grid)), grid.n_points
        write = lambda w, i: w.write_point(points[i], 0.0, 0.0, LockInReading(i + 1.0, 0.0),
                                           0.1 * i, time.time())
    else:
        w = SinglePixelWriter(path, basis_spec={"kind": "hadamard", "size": 32},
                              n_patterns=2048, fov_um=100.0, center_um=(0.0, 0.0),
                              recipe_text="", dwell_s=0.0, instruments={},
                              lab={"kind": "test"})
        total = 2048
        write = lambda w, i: w.write_reading(i, 0.0, 0.0, LockInReading(i + 1.0, 0.0),
                                             0.1 * i, time.time())
    print(path, flush=True)
    for i in range(total):
        if i == total // 2:
            w.close("abort", "half-way")
            w = type(w).reopen(path)
        write(w, i)
        if i % 37 == 5:
            w.log_event("overload", f"event at {i}", i, 0.1 * i)
        if i % 211 == 7:
            w.record_setting("lockin", "sensitivity_V", 1e-3, i, 0.1 * i)
    w.close("success")
    if select.select([sys.stdin], [], [], 0)[0]:
        break
"""


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["raster", "single_pixel"])
def test_a_file_being_written_reads_cleanly(tmp_path, kind):
    """400 reads of files a writer process is flushing (a read is retried only for what a
    flush produces, or if the file changed meanwhile): every one succeeds, and shows
    exactly the points and events written so far."""
    load = load_raster if kind == "raster" else load_single_pixel
    proc = subprocess.Popen([sys.executable, "-c", WRITER, kind, str(tmp_path)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    files, started = [], threading.Event()

    def follow() -> None:  # the file the writer is on: the last name it printed
        for line in proc.stdout:
            files.append(line.strip())
            started.set()

    threading.Thread(target=follow, daemon=True).start()
    try:
        assert started.wait(READY_BOUND_S), f"the writer printed nothing in {READY_BOUND_S} s"
        changing = 0
        for _ in range(400):
            assert proc.poll() is None, "the writer ended before the reads were done"
            path = files[-1]
            before = os.stat(path).st_mtime_ns
            scan, events = load(path), load_events(path)
            changing += os.stat(path).st_mtime_ns != before
            if kind == "raster":
                index, values = scan.points["index"], scan.points["X_V"]
                assert np.array_equal(scan.image_V[scan.points["iy"], scan.points["ix"]], values)
            else:
                index = np.flatnonzero(np.isfinite(scan.raw_V))
                values = scan.raw_V[index]
            np.testing.assert_array_equal(values, index + 1.0)
            assert all(e.message == f"event at {e.index}" for e in events)
            written = sum(1 for i in range(int(index.max(initial=-1)) + 1) if i % 37 == 5)
            assert len(events) >= written - 1  # the last one may be in flight
        assert changing > 0  # the reads did overlap the writer's flushes
    finally:
        try:
            proc.communicate("stop\n", timeout=READY_BOUND_S)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
