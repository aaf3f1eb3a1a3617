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
from imager.storage.header import (  # noqa: F401 - FORMAT_VERSION, write_header re-exported
    FORMAT_VERSION,
    _text,
    build_layout,
    chart_data,
    create_from,
    write_header,
)
from reconstruction.schema import (  # noqa: F401 - POINT_DTYPE re-exported
    CALIBRATION,
    DATA,
    POINT_DTYPE,
    RASTER,
    SCAN,
    TRUTH,
    X_EDGES,
)


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

    layout = RASTER

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
        x_edges_um: np.ndarray | None = None,
        scan_attrs: Mapping[str, Any] | None = None,
    ) -> None:
        self.grid = grid
        self.lab_start_s = float(lab_start_s)
        sizes = {"nx": grid.nx, "ny": grid.ny, "points_total": grid.n_points,
                 "edges": grid.nx + 1}
        attrs, data = chart_data(chart)
        attrs[SCAN] = {"nx": grid.nx, "ny": grid.ny, "order": grid.order, "dwell_s": dwell_s,
                       "points_total": grid.n_points, "lab_start_s": self.lab_start_s,
                       **(scan_attrs or {})}
        if calibration is not None:
            attrs[CALIBRATION] = calibration
        data.update({f"{DATA}/x_um": grid.x_um, f"{DATA}/y_um": grid.y_um, TRUTH: truth_V})

        def build(f: h5py.File) -> None:
            write_header(f, "raster", recipe_text, instruments, lab)
            build_layout(f, RASTER, sizes, attrs, data)
            if x_edges_um is not None:  # a fly scan's pixel edges
                create_from(f, X_EDGES, sizes, x_edges_um)

        super().__init__(path, build=build)
        self._open_outputs()

    @classmethod
    def reopen(cls, path: str | Path) -> ScanWriter:
        """Continue a stopped raster scan in its own file.

        Sets ``first_missing`` (plan index to resume from), ``last_done`` (the
        record before it, or None), ``lab_start_s`` and ``points_written``.

        Raises
        ------
        ScanFileError
            The file is not a raster scan the writer can continue (nothing written).
        """
        def sizes(f: h5py.File) -> dict[str, int]:
            nx, ny = f[f"{DATA}/x_um"].shape[0], f[f"{DATA}/y_um"].shape[0]
            return {"nx": nx, "ny": ny, "points_total": nx * ny}

        def attach(self: ScanWriter) -> None:
            x_um, y_um = self.file[f"{DATA}/x_um"][()], self.file[f"{DATA}/y_um"][()]
            order = _text(self.file[SCAN].attrs.get("order", "row"))
            self.grid = RasterGrid(float(x_um[0]), float(x_um[-1]), x_um.size,
                                   float(y_um[0]), float(y_um[-1]), y_um.size, order)

        return cls._reopened(path, sizes, attach)

    def image_so_far(self) -> np.ndarray:
        """The ``X_V`` grid as written (NaN where not measured)."""
        return self.signal_so_far()

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
        self.write_record(point.index, (
            point.index, point.ix, point.iy, point.x_um, point.y_um, x_um, y_um,
            reading.x_V, reading.y_V, int(reading.status), t_lab_s, t_wall_s, 1),
            (point.iy, point.ix), reading.x_V)
