import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from imager.devices import LockInReading, LockInStatus
from imager.plans import RasterGrid, raster_points
from imager.storage import POINT_DTYPE, ScanWriter, scan_file_name
from imager.storage.header import ElementWriter
from reconstruction import load_raster


def _writer(path, grid):
    return ScanWriter(path, grid, recipe_text='name = "t"\n', dwell_s=0.3,
                      instruments={"lockin": {"time_constant_s": 0.03, "model": "sim"}},
                      lab={"kind": "simulated", "seed": 1})


def test_points_land_in_plan_order_and_on_the_grid(tmp_path):
    grid = RasterGrid(0.0, 2.0, 3, 0.0, 1.0, 2, order="snake")
    writer = _writer(tmp_path / "w.h5", grid)
    for p in raster_points(grid):
        reading = LockInReading(float(p.index), -1.0, LockInStatus.OUTPUT_OVERLOAD)
        writer.write_point(p, p.x_um + 0.01, p.y_um, reading, 0.5 * p.index, 1e9 + p.index)
    writer.close("success")
    with h5py.File(tmp_path / "w.h5", "r") as f:
        image = f["entry/data/X_V"][()]
        points = f["entry/scan/points"][()]
        assert f["entry/instrument/lockin"].attrs["model"] == "sim"
        assert f["entry/lab"].attrs["seed"] == 1
    # snake: row 1 runs backwards, so plan index 3 is pixel (iy=1, ix=2)
    np.testing.assert_array_equal(image, [[0, 1, 2], [5, 4, 3]])
    assert points.dtype == POINT_DTYPE
    assert points["status"].tolist() == [int(LockInStatus.OUTPUT_OVERLOAD)] * 6
    np.testing.assert_allclose(points["x_um"] - points["x_set_um"], 0.01)


def test_unwritten_points_are_marked_not_done(tmp_path):
    grid = RasterGrid(0.0, 1.0, 4, 0.0, 1.0, 4)
    writer = _writer(tmp_path / "p.h5", grid)
    for p in list(raster_points(grid))[:5]:
        writer.write_point(p, p.x_um, p.y_um, LockInReading(1.0, 0.0), 0.0, 0.0)
    writer.close("abort", "stopped")
    with h5py.File(tmp_path / "p.h5", "r") as f:
        points = f["entry/scan/points"][()]
        assert f["entry"].attrs["exit_status"] == "abort"
    assert points["done"].sum() == 5 and (points["index"][5:] == -1).all()
    assert np.isnan(points["X_V"][5:]).all()


def test_never_overwrites(tmp_path):
    grid = RasterGrid(0.0, 1.0, 2, 0.0, 1.0, 2)
    (tmp_path / "x.h5").write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        _writer(tmp_path / "x.h5", grid)
    assert (tmp_path / "x.h5").read_bytes() == b"precious"


def test_bad_exit_status_is_refused(tmp_path):
    writer = _writer(tmp_path / "s.h5", RasterGrid(0.0, 1.0, 2, 0.0, 1.0, 2))
    with pytest.raises(ValueError):
        writer.close("fine")
    writer.close("success")


def test_file_name_sorts_by_date_and_names_the_recipe():
    import datetime as dt

    assert scan_file_name("usaf", dt.datetime(2026, 11, 24, 9, 5, 3)) == "20261124-090503_usaf.h5"


_KILL_SCRIPT = """
import sys
from imager.engine import run_raster
from imager.sim import simulated_lab_for
from imager.recipes import default_recipe
recipe = default_recipe(scan={"nx": 300, "ny": 300})
run_raster(simulated_lab_for(recipe), recipe, sys.argv[1], progress=False)
"""


@pytest.mark.slow
def test_sigkill_mid_scan_leaves_a_readable_file(tmp_path):
    path = tmp_path / "k.h5"
    proc = subprocess.Popen([sys.executable, "-c", _KILL_SCRIPT, str(path)])
    deadline = time.monotonic() + 60
    done = 0
    while time.monotonic() < deadline and done < 500:
        time.sleep(0.2)
        if path.exists():
            done = load_raster(path).points_done  # read while the writer is running
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    scan = load_raster(path)
    assert scan.exit_status == "running"  # it never got to say anything else
    assert scan.points_done >= done >= 500
    points = scan.points
    assert (np.sort(points["index"]) == np.arange(scan.points_done)).all()
    assert np.isfinite(scan.image_V[scan.measured]).all()


class _RecordingDataset:
    """A dataset whose low-level writes are recorded (memory type included) and done."""

    def __init__(self, dataset):
        self.ndim, self.dtype, self.id = dataset.ndim, dataset.dtype, self
        self._real = dataset.id
        self.memory_types = []

    def get_space(self):
        return self._real.get_space()

    def write(self, mspace, fspace, buffer, mtype=None):
        self.memory_types.append(mtype)
        self._real.write(mspace, fspace, buffer, mtype)


def test_element_writer_builds_the_record_memory_type_once(tmp_path):
    # without a memory type h5py rebuilds the 13-field compound type on every write
    with h5py.File(tmp_path / "e.h5", "w") as f:
        dataset = f.create_dataset("points", shape=(3,), dtype=POINT_DTYPE)
        recorder = _RecordingDataset(dataset)
        out = ElementWriter(recorder)
        for index in (2, 0):
            out.buffer[0] = (index, index, 1, 0.5, 1.5, 0.25, 1.25, -3e-6, 4e-6, 2, 7.0,
                             1e9, 1)
            out.write((index,))
        first, second = recorder.memory_types
        assert first is not None and second is first
        assert first == dataset.id.get_type()  # H5Tequal: the file's own record type
        points = dataset[()]
    assert points["index"].tolist() == [0, 0, 2]
    assert points["done"].tolist() == [1, 0, 1]
    assert points["X_V"][2] == -3e-6 and points["t_wall_s"][0] == 1e9
