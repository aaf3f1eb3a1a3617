"""Write a raster scan to one HDF5 file, NeXus-shaped, flushed after every point.

The per-point path is the hot loop of every scan, so it uses h5py's
low-level API with pre-built dataspaces: one record write, one pixel write
and one flush per point (~0.1 ms here). Layout: ``docs/scanfile.md``.
"""

from __future__ import annotations

import datetime as _dt
import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from imager import __version__
from imager.devices.interfaces import LockInReading
from imager.plans.raster import RasterGrid, RasterPoint

FORMAT_VERSION = 1

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


EVENT_DTYPE = np.dtype([("t_wall_s", "<f8"), ("t_lab_s", "<f8"), ("index", "<i8"),
                        ("kind", "S32"), ("message", "S256")])


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def utc_now_iso() -> str:
    """Current UTC time, ISO 8601 with seconds."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def scan_file_name(recipe_name: str, when: _dt.datetime | None = None) -> str:
    """``YYYYmmdd-HHMMSS_<recipe>.h5``: files sort by date and say what they hold."""
    when = when or _dt.datetime.now()
    return f"{when:%Y%m%d-%H%M%S}_{recipe_name}.h5"


def _attr_value(value: Any) -> Any:
    """A value HDF5 can store as an attribute (JSON text for anything nested or mixed)."""
    if value is None:
        return ""
    if isinstance(value, str | bool | int | float | np.generic):
        return value
    if isinstance(value, list | tuple):
        array = np.asarray(value)
        if array.dtype.kind in "biuf" or array.dtype.kind == "U":
            return array if array.dtype.kind != "U" else array.astype("S")
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufS":
        return value
    return json.dumps(value, default=str)


def _set_attrs(obj: h5py.HLObject, values: Mapping[str, Any]) -> None:
    for key, value in values.items():
        obj.attrs[key] = _attr_value(value)


def write_header(
    f: h5py.File,
    kind: str,
    recipe_text: str,
    instruments: Mapping[str, Mapping[str, Any]],
    lab: Mapping[str, Any],
) -> h5py.Group:
    """Write what every mirimager file starts with; returns ``/entry``.

    Root and entry attributes (format version, kind, ``exit_status="running"``,
    start time), program name and version, the recipe text, the lab
    description and one group of settings per instrument.
    """
    _set_attrs(
        f,
        {
            "NX_class": "NXroot",
            "default": "entry",
            "mirimager_format_version": FORMAT_VERSION,
            "creator": f"mirimager {__version__}",
            "HDF5_Version": h5py.version.hdf5_version,
            "h5py_version": h5py.version.version,
        },
    )
    entry = f.create_group("entry")
    _set_attrs(
        entry,
        {
            "NX_class": "NXentry",
            "kind": kind,
            "exit_status": "running",
            "error_message": "",
            "start_time": utc_now_iso(),
            "end_time": "",
            "default": "data",
        },
    )
    entry.create_dataset("program_name", data="mirimager").attrs["version"] = __version__
    entry.create_dataset("recipe", data=recipe_text).attrs["format"] = "toml"
    lab_group = entry.create_group("lab")
    _set_attrs(lab_group, {"NX_class": "NXcollection", **lab})
    instrument = entry.create_group("instrument")
    instrument.attrs["NX_class"] = "NXinstrument"
    for name, settings in instruments.items():
        group = instrument.create_group(name)
        _set_attrs(group, {"NX_class": "NXcollection", **settings})
    return entry


def close_entry(f: h5py.File, exit_status: str, error_message: str = "") -> None:
    """Record exit status, error text and end time in ``/entry``."""
    if exit_status not in ("success", "abort", "fail"):
        raise ValueError(f"exit_status must be success, abort or fail, got {exit_status!r}")
    entry = f["entry"]
    entry.attrs["exit_status"] = exit_status
    entry.attrs["error_message"] = error_message
    entry.attrs["end_time"] = utc_now_iso()


class ElementWriter:
    """Write single elements of a dataset through h5py's low-level API.

    The per-point path of every scan: pre-built dataspaces make one element
    write cost a few microseconds instead of the high-level API's ~50.
    """

    def __init__(self, dataset: h5py.Dataset) -> None:
        self.dataset = dataset
        ndim = max(dataset.ndim, 1)
        self.buffer = np.zeros((1,) * ndim, dtype=dataset.dtype)
        self._mem = h5py.h5s.create_simple((1,) * ndim)
        self._file = dataset.id.get_space()
        self._count = (1,) * ndim

    def write(self, index: tuple[int, ...]) -> None:
        """Write ``self.buffer`` (fill it first) at ``index``."""
        self._file.select_hyperslab(index, self._count)
        self.dataset.id.write(self._mem, self._file, self.buffer)


def add_calibration(entry: h5py.Group, calibration: Mapping[str, Any] | None) -> None:
    """Store a responsivity (from a calibration file) as ``/entry/calibration``."""
    if calibration is not None:
        group = entry.create_group("calibration")
        _set_attrs(group, {"NX_class": "NXcollection", **calibration})


class FileWriter:
    """Base of the scan writers: creates the file (never overwriting), closes it with a status.

    ``reopen`` continues a stopped scan in the same file (``mirimager resume``).
    """

    def __init__(self, path: str | Path, *, reopen: bool = False) -> None:
        self.path = Path(path)
        self.closed = False
        if reopen:
            self.file = h5py.File(self.path, "r+")
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Default (earliest) format on purpose: newer superblocks carry "open for write"
        # flags that make a file killed mid-scan unreadable without h5clear.
        self.file = h5py.File(self.path, "x")
        self.points_written = 0

    @contextmanager
    def _closed_on_error(self) -> Iterator[None]:
        """Close the file if building or reopening it fails (then re-raise)."""
        try:
            yield
        except BaseException:
            self.file.close()
            raise

    @classmethod
    def _reopened(cls, path: str | Path, attach: Callable[[Any], None] | None = None):
        """Open a stopped scan's file to continue it (``mirimager resume``).

        Sets ``lab_start_s``, the points table and its writer, the ``X_V``
        dataset (``_x_V``), then ``first_missing``, ``last_done`` and
        ``points_written``; ``attach(self)`` reads what a subclass needs more.
        The file is closed again if any of it fails.
        """
        self = cls.__new__(cls)
        FileWriter.__init__(self, path, reopen=True)
        with self._closed_on_error():
            scan = self.file["entry/scan"]
            self.lab_start_s = float(scan.attrs.get("lab_start_s", 0.0))
            self._points, self._x_V = scan["points"], self.file["entry/data/X_V"]
            if attach is not None:
                attach(self)
            self._resume_points(self._points)
        self._points_out = ElementWriter(self._points)
        return self

    def _resume_points(self, points: h5py.Dataset) -> None:
        """Mark the entry running again and find where the stopped scan left off."""
        entry = self.file["entry"]
        history = json.loads(entry.attrs.get("resumed", "[]") or "[]")
        history.append({"at": utc_now_iso(), "previous_status": _text(entry.attrs["exit_status"]),
                        "previous_error": _text(entry.attrs.get("error_message", ""))})
        _set_attrs(entry, {"resumed": json.dumps(history), "exit_status": "running",
                           "error_message": "", "end_time": ""})
        done = points.fields("done")[()].astype(bool)
        self.points_written = int(done.sum())
        missing = np.flatnonzero(~done)
        self.first_missing = int(missing[0]) if missing.size else int(done.size)
        self.last_done = (points[self.first_missing - 1] if self.first_missing > 0 else None)
        self.file.flush()

    def log_event(self, kind: str, message: str, index: int = -1,
                  t_lab_s: float = float("nan")) -> None:
        """Append to the scan's event log ``/entry/events`` (faults, retries, re-ranges)."""
        entry = self.file["entry"]
        if "events" not in entry:
            entry.create_dataset("events", shape=(0,), maxshape=(None,), chunks=(64,),
                                 dtype=EVENT_DTYPE)
        events = entry["events"]
        n = events.shape[0]
        events.resize((n + 1,))
        events[n] = (time.time(), t_lab_s, index, kind.encode()[:32],
                     message.encode("utf-8", "replace")[:256])
        self.file.flush()

    def close(self, exit_status: str, error_message: str = "") -> None:
        """Record the exit status and end time, then close the file."""
        if self.closed:
            return
        close_entry(self.file, exit_status, error_message)
        self.file.close()
        self.closed = True


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
        super().__init__(path)
        self.grid = grid
        self.lab_start_s = float(lab_start_s)
        with self._closed_on_error():
            self._build(recipe_text, dwell_s, instruments, lab, truth_V, chart)
            add_calibration(self.file["entry"], calibration)
            self.file.flush()
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

    def _build(self, recipe_text, dwell_s, instruments, lab, truth_V, chart) -> None:
        f, grid = self.file, self.grid
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
        f.flush()

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
