"""Write a raster scan to one HDF5 file, NeXus-shaped, flushed after every point.

The per-point path is the hot loop of every scan, so it uses h5py's
low-level API with pre-built dataspaces: one record write, one pixel write
and one flush per point (~0.1 ms here). Layout: ``docs/scanfile.md``.

Files are created atomically and never overwritten (:class:`FileWriter`,
:func:`create_exclusive` in :mod:`imager.storage.base`, re-exported here).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from imager.devices.interfaces import LockInReading
from imager.plans.raster import RasterGrid, RasterPoint
from imager.storage.base import (  # noqa: F401 - re-exported
    EVENT_DTYPE,
    SETTING_DTYPE,
    FileWriter,
    SettingChange,
    create_exclusive,
    partial_name,
)
from imager.storage.header import (  # noqa: F401 - re-exported for the other writers
    FORMAT_VERSION,
    ElementWriter,
    _set_attrs,
    _text,
    add_calibration,
    close_entry,
    utc_now_iso,
    write_header,
)

POINT_DTYPE = np.dtype(
    [
        ("index", "<i8"),
        ("ix", "<i4"),
        ("iy", "<i4"),
        ("x_set_um", "<f8"),
        ("y_set_um", "<f8"),
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

_EMPTY_POINT = np.array(
    [(-1, -1, -1, *([np.nan] * 6), 0, np.nan, np.nan, 0)], dtype=POINT_DTYPE
)[0]


def scan_file_name(recipe_name: str, when: _dt.datetime | None = None) -> str:
    """``YYYYmmdd-HHMMSS_<recipe>.h5``: files sort by date and say what they hold."""
    when = when or _dt.datetime.now()
    return f"{when:%Y%m%d-%H%M%S}_{recipe_name}.h5"


class ScanWriter(FileWriter):
    """Create a scan file and append points to it, flushing after each.

    Parameters
    ----------
    path : Path
        New file; an existing file is never overwritten (FileExistsError).
    grid : RasterGrid
        The raster being acquired.
    recipe_text : str
        The recipe as given, stored verbatim.
    dwell_s : float
        Dwell after each move.
    instruments : mapping
        ``{device name: settings dict}``, stored as attributes.
    lab : mapping
        Lab-level description (``kind``: "simulated" or "hardware", seed, ...).
    truth_V, chart
        For simulated scans: noise-free expected image on the grid, and the
        chart (an object with ``transmission``, ``pixel_um``, ``x0_um``,
        ``y0_um``, ``name``).
    calibration : mapping, optional
        Responsivity to store with the scan (``/entry/calibration``), so that
        reconstructions show MIR intensity in W/um^2.
    """

    def __init__(
        self,
        path: str | Path,
        grid: RasterGrid,
        *,
        recipe_text: str,
        dwell_s: float,
        instruments: Mapping[str, Mapping[str, Any]],
        lab: Mapping[str, Any],
        truth_V: np.ndarray | None = None,
        chart: Any = None,
        calibration: Mapping[str, Any] | None = None,
        lab_start_s: float = 0.0,
    ) -> None:
        self.grid = grid
        self.lab_start_s = float(lab_start_s)

        def build(f: h5py.File) -> None:
            self._build(f, recipe_text, dwell_s, instruments, lab, truth_V, chart)
            add_calibration(f["entry"], calibration)

        super().__init__(path, build=build)
        self._points_out = ElementWriter(self._points)
        self._pixel_out = ElementWriter(self._image)

    @classmethod
    def reopen(cls, path: str | Path) -> ScanWriter:
        """Continue a stopped raster scan in its own file.

        Sets ``first_missing`` (plan index to resume from), ``last_done`` (the
        record before it, or None), ``lab_start_s`` and ``points_written``.
        """
        def attach(self: ScanWriter) -> None:
            data = self.file["entry/data"]
            x_um, y_um = data["x_um"][()], data["y_um"][()]
            order = _text(self.file["entry/scan"].attrs.get("order", "row"))
            self.grid = RasterGrid(float(x_um[0]), float(x_um[-1]), x_um.size,
                                   float(y_um[0]), float(y_um[-1]), y_um.size, order)

        self = cls._reopened(path, attach)
        self._image = self._x_V
        self._pixel_out = ElementWriter(self._image)
        return self

    def image_so_far(self) -> np.ndarray:
        """The ``X_V`` grid as written (NaN where not measured)."""
        return self._image[()]

    def _build(self, f, recipe_text, dwell_s, instruments, lab, truth_V, chart) -> None:
        grid = self.grid
        entry = write_header(f, "raster", recipe_text, instruments, lab)
        if chart is not None:
            sample = entry.create_group("sample")
            sample.attrs["NX_class"] = "NXsample"
            ds = sample.create_dataset(
                "chart",
                data=np.asarray(chart.transmission, dtype="<f4"),
                compression="gzip",
                compression_opts=4,
            )
            _set_attrs(ds, {"name": chart.name, "pixel_um": chart.pixel_um,
                            "x0_um": chart.x0_um, "y0_um": chart.y0_um, "units": "1"})
        scan = entry.create_group("scan")
        _set_attrs(
            scan,
            {"NX_class": "NXcollection", "nx": grid.nx, "ny": grid.ny, "order": grid.order,
             "dwell_s": dwell_s, "points_total": grid.n_points, "lab_start_s": self.lab_start_s},
        )
        chunk = min(grid.n_points, 1024)
        self._points = scan.create_dataset(
            "points", shape=(grid.n_points,), dtype=POINT_DTYPE, chunks=(chunk,),
            fillvalue=_EMPTY_POINT,
        )
        data = entry.create_group("data")
        _set_attrs(
            data,
            {"NX_class": "NXdata", "signal": "X_V", "axes": np.array(["y_um", "x_um"], dtype="S"),
             "y_um_indices": 0, "x_um_indices": 1},
        )
        self._image = data.create_dataset(
            "X_V", shape=grid.shape, dtype="<f8", fillvalue=np.nan,
            chunks=(1, grid.nx) if grid.n_points > 1 else None,
        )
        self._image.attrs["units"] = "V"
        self._image.attrs["long_name"] = "lock-in X"
        data.create_dataset("x_um", data=grid.x_um).attrs["units"] = "um"
        data.create_dataset("y_um", data=grid.y_um).attrs["units"] = "um"
        if truth_V is not None:
            truth = data.create_dataset("truth", data=np.asarray(truth_V, dtype="<f8"))
            _set_attrs(truth, {"units": "V", "long_name": "noise-free settled lock-in X"})

    def write_point(
        self,
        point: RasterPoint,
        x_um: float,
        y_um: float,
        reading: LockInReading,
        t_lab_s: float,
        t_wall_s: float,
    ) -> None:
        """Write one measured point and flush it to disk."""
        self._points_out.buffer[0] = (
            point.index, point.ix, point.iy, point.x_um, point.y_um, x_um, y_um,
            reading.x_V, reading.y_V, int(reading.status), t_lab_s, t_wall_s, 1)
        self._points_out.write((point.index,))
        self._pixel_out.buffer[0, 0] = reading.x_V
        self._pixel_out.write((point.iy, point.ix))
        self.file.flush()
        self.points_written += 1
