"""Read raster scan files (``docs/scanfile.md``, format version 1) without any hardware import.

The reader is read-only and tolerant of files that are still being written
(the writer flushes after every point) or that were cut off by ``kill -9``:
only records flagged ``done`` are used, every other pixel is NaN.

Examples
--------
>>> scan = load_raster("scan.h5")                       # doctest: +SKIP
>>> scan.image_V.shape, scan.points_done, scan.points_total  # doctest: +SKIP
((64, 64), 1200, 4096)
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from . import schema
from .display import RasterScanDisplay
from .grid import assemble_grid
from .hdf5_read import (
    SUPPORTED_FORMAT_VERSION,
    ScanFileError,
    _attrs,
    _axis,
    _count,
    _done_points,
    _optional_group,
    _read_text,
    _settings,
    during_flush,
)

__all__ = [
    "SUPPORTED_FORMAT_VERSION",
    "ChartData",
    "RasterScan",
    "ScanFileError",
    "assemble_grid",
    "load_raster",
]


@dataclass
class ChartData:
    """The test chart of a simulated scan (``/entry/sample/chart``).

    Attributes
    ----------
    transmission : ndarray, shape (M, N)
        MIR transmission 0..1; axis 0 is y, axis 1 is x.
    pixel_um : float
        Chart pixel pitch, micrometres.
    x0_um, y0_um : float
        Stage coordinates of the centre of ``transmission[0, 0]``.
    name : str
        Chart name.
    """

    transmission: np.ndarray
    pixel_um: float
    x0_um: float
    y0_um: float
    name: str = ""

    @property
    def x_um(self) -> np.ndarray:
        """Stage x coordinate of each chart column centre."""
        return self.x0_um + self.pixel_um * np.arange(self.transmission.shape[1])

    @property
    def y_um(self) -> np.ndarray:
        """Stage y coordinate of each chart row centre."""
        return self.y0_um + self.pixel_um * np.arange(self.transmission.shape[0])


@dataclass
class RasterScan(RasterScanDisplay):
    """A raster scan read from a file.

    Attributes
    ----------
    image_V : ndarray of float, shape (ny, nx)
        Lock-in X per grid pixel, volts; NaN where not measured.
    measured : ndarray of bool, shape (ny, nx)
        True where a done record exists (its value may still be NaN if the
        instrument returned NaN).
    x_um : ndarray, shape (nx,)
        Commanded x position of each column.
    y_um : ndarray, shape (ny,)
        Commanded y position of each row.
    order : {"row", "snake"}
        Scan order; in a snake scan odd rows run towards decreasing ``ix``.
    points : structured ndarray
        The done records of ``/entry/scan/points``, in file (plan) order.
    truth_V : ndarray or None
        Noise-free settled lock-in X on the grid (simulated scans only).
    chart : ChartData or None
        The simulated test chart, if stored.
    exit_status : str
        ``"running"``, ``"success"``, ``"abort"`` or ``"fail"``. A file
        killed while running still says ``"running"``.
    kind : str
        Scan kind (``"raster"``).
    attrs : dict
        Attributes of ``/entry`` (start/end time, error message, ...).
    settings : dict
        Device name -> dict of that device's attributes in ``/entry/instrument``
        (without NX_class).
    recipe_toml : str
        The recipe as TOML text ("" if absent).
    path : Path
        The file read.
    lab : dict
        Attributes of ``/entry/lab`` (simulated/hardware, seed, ...), without NX_class.
    scan_attrs : dict
        Attributes of ``/entry/scan`` (nx, ny, order, dwell_s, points_total).
    calibration : dict or None
        Responsivity stored with the scan (``mirimager scan --calibration``):
        attributes of ``/entry/calibration`` (slope_V_per_W_per_um2, offset_V, ...).
    """

    image_V: np.ndarray
    measured: np.ndarray
    x_um: np.ndarray
    y_um: np.ndarray
    order: str
    points: np.ndarray
    truth_V: np.ndarray | None
    chart: ChartData | None
    exit_status: str
    kind: str
    attrs: dict[str, Any]
    settings: dict[str, dict[str, Any]]
    recipe_toml: str
    path: Path
    lab: dict[str, Any] = field(default_factory=dict)
    scan_attrs: dict[str, Any] = field(default_factory=dict)
    calibration: dict[str, Any] | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """``(ny, nx)``."""
        return self.image_V.shape  # type: ignore[return-value]

    @property
    def points_done(self) -> int:
        """Number of done records."""
        return int(len(self.points))

    @property
    def points_total(self) -> int:
        """Number of plan points (``scan`` attribute ``points_total``, else ny*nx)."""
        total = self.scan_attrs.get("points_total")
        if total is None:
            return int(self.image_V.size)
        return int(total)

    @property
    def complete(self) -> bool:
        """True when every grid pixel has been measured."""
        return bool(self.measured.all())

    @property
    def pixel_um(self) -> float:
        """Pixel pitch in x (micrometres, positive); the y pitch if there is one column.

        NaN for a single-pixel scan. See `pixel_size_um` for both pitches.
        """
        dx, dy = self.pixel_size_um
        if np.isfinite(dx):
            return dx
        return dy

    @property
    def pixel_size_um(self) -> tuple[float, float]:
        """``(dx_um, dy_um)``, absolute mean pitches; NaN along an axis of length 1."""
        return _pitch(self.x_um), _pitch(self.y_um)


def _pitch(axis_um: np.ndarray) -> float:
    if axis_um.size < 2:
        return float("nan")
    return float(abs(axis_um[-1] - axis_um[0]) / (axis_um.size - 1))


# --------------------------------------------------------------------------- reading


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _open(path: Path) -> h5py.File:
    """Open read-only, also while a writer holds the file (no lock, SWMR if needed)."""
    try:
        return h5py.File(path, "r", locking=False)
    except OSError as first:
        if "SWMR" in str(first) or "already open for write" in str(first):
            try:
                return h5py.File(path, "r", locking=False, swmr=True)
            except OSError:
                pass
        raise first


def load_raster(path: str | os.PathLike[str]) -> RasterScan:
    """Read a raster scan file.

    Parameters
    ----------
    path : str or path-like
        The HDF5 scan file (layout of ``docs/scanfile.md``). It may be still
        open for writing in another process, or cut off after its last flush.

    Returns
    -------
    RasterScan
        The image assembled from the done records of ``/entry/scan/points``
        (or, for a file without that table, from ``/entry/data/X_V``), with
        NaN for every pixel not yet measured.

    Raises
    ------
    ScanFileError
        If the file is missing, not HDF5 or truncated, not a mirimager scan,
        of a format version newer than `SUPPORTED_FORMAT_VERSION`, not a raster
        scan, or lacks a required part or has a malformed one (axes that are not
        1-D, finite and strictly monotonic; grid counts that are not whole
        numbers; a broken link in ``/entry/instrument``...).

    Notes
    -----
    The file is opened with HDF5 file locking disabled so that a scan in
    progress can be read. A file written with ``libver="latest"`` outside
    SWMR mode cannot be opened while (or after being killed while) it is
    open for writing; HDF5 reports this and ``h5clear -s`` repairs it.
    """
    return read_scan_file(path, _read)


def read_scan_file(path: str | os.PathLike[str], reader: Callable[[h5py.File, Path], Any]) -> Any:
    """Open a scan file read-only (no locking) and hand it to ``reader(file, path)``;
    every failure is a one-line ScanFileError.

    A file that a running scan is flushing can be caught mid-update: such a read is
    tried again (up to `READ_ATTEMPTS` times, 50-200 ms apart) when it failed the way a
    concurrent flush makes reads fail (`during_flush`), or when the file changed while it
    was read (its size, modification time or inode differ afterwards: e.g. a record read
    half-written). Any other failure is reported at once, as precisely as it is known.
    """
    path = Path(os.fspath(path))
    if not path.exists():
        raise ScanFileError(f"{path}: no such file")
    if path.is_dir():
        raise ScanFileError(f"{path}: is a directory, not a scan file")
    try:
        is_hdf5 = h5py.is_hdf5(path)
    except OSError as exc:
        raise ScanFileError(f"{path}: cannot read file ({_one_line(exc)})") from exc
    if not is_hdf5:
        raise ScanFileError(f"{path}: not an HDF5 file")
    for attempt in range(READ_ATTEMPTS):
        before = _file_state(path)
        try:
            return _open_and_read(path, reader)
        except ScanFileError as exc:
            error, flush = exc, False
        except _READ_ERRORS as exc:
            flush = during_flush(exc)
            what = "unreadable scan file (truncated or corrupt?)" if flush else \
                f"cannot read scan file ({type(exc).__name__})"
            error = ScanFileError(f"{path}: {what}: {_one_line(exc)}")
            error.__cause__ = exc
        if attempt == READ_ATTEMPTS - 1 or not (flush or _file_state(path) != before):
            raise error
        time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover


READ_ATTEMPTS = 5

_READ_ERRORS = (OSError, KeyError, RuntimeError, ValueError, TypeError, IndexError)


def _file_state(path: Path) -> tuple[int, ...] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _open_and_read(path: Path, reader: Callable[[h5py.File, Path], Any]) -> Any:
    try:
        f = _open(path)
    except OSError as exc:
        if "already open for write" in str(exc):
            raise ScanFileError(
                f"{path}: HDF5 marks the file as open for writing (new file format without "
                "SWMR); wait for the scan to end, or if its writer died run 'h5clear -s' on it"
            ) from exc
        raise
    with f:
        return reader(f, path)


def _read(f: h5py.File, path: Path) -> RasterScan:
    entry = schema.check_root(f, path)
    attrs = _attrs(entry)
    kind = str(attrs.get("kind", ""))
    if kind != "raster":
        raise ScanFileError(f"{path}: scan kind is {kind!r}, not a 'raster' scan")

    scan_grp = schema.member(f, schema.SCAN, path)
    data_grp = schema.member(f, schema.DATA, path)
    if not isinstance(data_grp, h5py.Group):
        raise ScanFileError(f"{path}: missing /entry/data group")
    scan_attrs = _attrs(scan_grp) if isinstance(scan_grp, h5py.Group) else {}

    # Grid shape: scan attrs, else the X_V dataset, else the axes.
    x_um = _axis(data_grp, "x_um", path)
    y_um = _axis(data_grp, "y_um", path)
    ny = _count(scan_attrs, "ny", y_um.size, path)
    nx = _count(scan_attrs, "nx", x_um.size, path)
    if (ny, nx) != (y_um.size, x_um.size):
        raise ScanFileError(
            f"{path}: grid is {ny}x{nx} but axes have {y_um.size} y and {x_um.size} x values"
        )
    if "points_total" in scan_attrs:
        _count(scan_attrs, "points_total", 0, path)
    order = str(scan_attrs.get("order", "row"))
    if order not in ("row", "snake"):
        raise ScanFileError(f"{path}: unknown scan order {order!r}")

    points_ds = schema.member(f, schema.POINTS, path)
    if isinstance(points_ds, h5py.Dataset):
        points = _done_points(points_ds[...], path)
        try:
            image, measured = assemble_grid(points["ix"], points["iy"], points["X_V"], (ny, nx))
        except ValueError as exc:
            raise ScanFileError(f"{path}: bad point table: {_one_line(exc)}") from exc
    elif isinstance(image_ds := schema.member(f, schema.SIGNAL, path), h5py.Dataset):
        image = np.asarray(image_ds[...], dtype=float)
        if image.shape != (ny, nx):
            raise ScanFileError(f"{path}: data/X_V has shape {image.shape}, expected {(ny, nx)}")
        measured = np.isfinite(image)
        points = np.zeros(0, dtype=[("index", "i8"), ("ix", "i4"), ("iy", "i4"), ("X_V", "f8")])
    else:
        raise ScanFileError(f"{path}: neither /entry/scan/points nor /entry/data/X_V present")

    truth, truth_ds = None, schema.member(f, schema.TRUTH, path)
    if isinstance(truth_ds, h5py.Dataset):
        truth = np.asarray(truth_ds[...], dtype=float)
        if truth.shape != (ny, nx):
            raise ScanFileError(f"{path}: data/truth has shape {truth.shape}, expected {(ny, nx)}")

    recipe_ds = schema.member(f, schema.RECIPE, path)
    recipe = _read_text(recipe_ds) if isinstance(recipe_ds, h5py.Dataset) else ""
    return RasterScan(
        image_V=image,
        measured=measured,
        x_um=x_um,
        y_um=y_um,
        order=order,
        points=points,
        truth_V=truth,
        chart=_chart(f, path),
        exit_status=str(attrs.get("exit_status", "unknown")),
        kind=kind,
        attrs=attrs,
        settings=_settings(entry, path),
        recipe_toml=recipe,
        path=path,
        lab=_optional_group(f, schema.LAB, path) or {},
        scan_attrs=scan_attrs,
        calibration=_optional_group(f, schema.CALIBRATION, path),
    )


def _chart(f: h5py.File, path: Path) -> ChartData | None:
    ds = schema.member(f, schema.CHART, path)
    if not isinstance(ds, h5py.Dataset):
        return None
    a = _attrs(ds)
    return ChartData(
        transmission=np.asarray(ds[...], dtype=float),
        pixel_um=float(a.get("pixel_um", np.nan)),
        x0_um=float(a.get("x0_um", 0.0)),
        y0_um=float(a.get("y0_um", 0.0)),
        name=str(a.get("name", "")),
    )
