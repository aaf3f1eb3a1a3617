"""Write a single-pixel scan: one bucket reading per projected pattern, flushed each.

Layout (``docs/scanfile.md``): the same header as raster files, ``/entry/basis``
with the pattern specification (never a matrix), ``/entry/scan/points`` with
one record per pattern, ``/entry/data`` (NXdata of the readings against the
pattern index) and, for simulated scans, ``/entry/data/truth`` (n, n).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from imager.devices.interfaces import LockInReading
from imager.storage.base import FileWriter
from imager.storage.header import ElementWriter, _set_attrs, add_calibration, write_header

SPI_POINT_DTYPE = np.dtype(
    [
        ("index", "<i8"),
        ("x_um", "<f8"),
        ("y_um", "<f8"),
        ("X_V", "<f8"),
        ("Y_V", "<f8"),
        ("status", "<u4"),
        ("t_lab_s", "<f8"),
        ("t_wall_s", "<f8"),
        ("done", "u1"),
    ]
)
_EMPTY = np.array([(-1, *([np.nan] * 4), 0, np.nan, np.nan, 0)], dtype=SPI_POINT_DTYPE)[0]


class SinglePixelWriter(FileWriter):
    """Create a single-pixel scan file and append bucket readings, flushing each.

    Parameters
    ----------
    path : Path
        New file (never overwritten).
    basis_spec : mapping
        The pattern basis specification (kind, size, ordering, ratio, seed, ...).
    n_patterns : int
        Patterns to project (complementary pairs count twice).
    fov_um, center_um
        Field of view on the film and the stage position held.
    truth_V : ndarray, optional
        Noise-free lock-in X per lit pixel (simulated scans), shape (n, n).
    """

    def __init__(self, path: str | Path, *, basis_spec: Mapping[str, Any], n_patterns: int,
                 fov_um: float, center_um: tuple[float, float], recipe_text: str,
                 dwell_s: float, instruments: Mapping[str, Mapping[str, Any]],
                 lab: Mapping[str, Any], truth_V: np.ndarray | None = None,
                 chart: Any = None, calibration: Mapping[str, Any] | None = None,
                 lab_start_s: float = 0.0) -> None:
        self.lab_start_s = float(lab_start_s)

        def build(f: h5py.File) -> None:
            entry = write_header(f, "single_pixel", recipe_text, instruments, lab)
            basis = entry.create_group("basis")
            _set_attrs(basis, {"NX_class": "NXcollection", **basis_spec,
                               "n_patterns": int(n_patterns)})
            if chart is not None:
                sample = entry.create_group("sample")
                sample.attrs["NX_class"] = "NXsample"
                ds = sample.create_dataset("chart", data=np.asarray(chart.transmission, "<f4"),
                                           compression="gzip", compression_opts=4)
                _set_attrs(ds, {"name": chart.name, "pixel_um": chart.pixel_um,
                                "x0_um": chart.x0_um, "y0_um": chart.y0_um, "units": "1"})
            scan = entry.create_group("scan")
            _set_attrs(scan, {"NX_class": "NXcollection", "dwell_s": dwell_s,
                              "points_total": int(n_patterns), "fov_um": fov_um,
                              "center_x_um": center_um[0], "center_y_um": center_um[1],
                              "lab_start_s": self.lab_start_s})
            self._points = scan.create_dataset(
                "points", shape=(n_patterns,), dtype=SPI_POINT_DTYPE,
                chunks=(min(n_patterns, 1024),), fillvalue=_EMPTY)
            data = entry.create_group("data")
            _set_attrs(data, {"NX_class": "NXdata", "signal": "X_V",
                              "axes": np.array(["pattern"], dtype="S"), "pattern_indices": 0})
            self._readings = data.create_dataset("X_V", shape=(n_patterns,), dtype="<f8",
                                                 fillvalue=np.nan,
                                                 chunks=(min(n_patterns, 4096),))
            _set_attrs(self._readings, {"units": "V", "long_name": "lock-in X per pattern"})
            data.create_dataset("pattern", data=np.arange(n_patterns))
            size = int(basis_spec["size"])
            pitch = fov_um / size
            for axis, centre in (("x_um", center_um[0]), ("y_um", center_um[1])):
                ds = data.create_dataset(axis, data=centre + (np.arange(size) - (size - 1) / 2)
                                         * pitch)
                ds.attrs["units"] = "um"
            if truth_V is not None:
                ds = data.create_dataset("truth", data=np.asarray(truth_V, dtype="<f8"))
                _set_attrs(ds, {"units": "V", "long_name": "noise-free lock-in X per lit pixel"})
            add_calibration(entry, calibration)

        super().__init__(path, build=build)
        self._points_out = ElementWriter(self._points)
        self._reading_out = ElementWriter(self._readings)

    @classmethod
    def reopen(cls, path: str | Path) -> SinglePixelWriter:
        """Continue a stopped single-pixel scan in its own file (see FileWriter)."""
        self = cls._reopened(path)
        self._readings = self._x_V
        self._reading_out = ElementWriter(self._readings)
        return self

    def readings_so_far(self) -> np.ndarray:
        """Bucket readings as written (NaN where not measured)."""
        return self._readings[()]

    def write_reading(self, index: int, x_um: float, y_um: float, reading: LockInReading,
                      t_lab_s: float, t_wall_s: float) -> None:
        """Write the bucket reading of pattern ``index`` and flush."""
        self._points_out.buffer[0] = (index, x_um, y_um, reading.x_V, reading.y_V,
                                      int(reading.status), t_lab_s, t_wall_s, 1)
        self._points_out.write((index,))
        self._reading_out.buffer[0] = reading.x_V
        self._reading_out.write((index,))
        self.file.flush()
        self.points_written += 1
