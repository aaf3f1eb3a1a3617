"""Read a spectral raster scan file (``kind = "spectral"``) into a :class:`SpectralCube`.

The layout is declared in :mod:`reconstruction.schema_spectral`: the cube
``/entry/data/X_V[iw, iy, ix]`` with axes ``wavelength_um``, ``y_um``, ``x_um``, the
points table (one record per reading, ``Y_V`` included), the MIR power measured at each
wavelength and, when the recipe names one, the readings at a blank (sample-free) spot.
As :func:`reconstruction.scanfile.load_raster`, the reader is read-only, tolerant of a
file still being written or cut off by ``kill -9`` (only records flagged ``done`` count;
every other reading is NaN), and checks every dataset it uses, raising a one-line
`ScanFileError` naming the dataset at fault.

Examples
--------
>>> cube = load_cube("spectral.h5")                       # doctest: +SKIP
>>> cube.X_V.shape, cube.wavelength_um                     # doctest: +SKIP
((19, 64, 64), array([6.8, 6.9, ...]))
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from .. import schema
from ..hdf5_read import _attrs, _axis, _count, _optional_group, _read_text, _settings
from ..schema_spectral import (
    KIND,
    TRANSMISSION,
    WAVELENGTH,
)
from .cube_tables import _blank, _fail, _materials, _optional_array, _power

__all__ = ["SpectralCube", "load_cube"]

#: Fields of the points table the cube is assembled from.
POINT_FIELDS = ("iw", "ix", "iy", "wavelength_um", "X_V", "Y_V", "done")


@dataclass
class SpectralCube:
    """A spectral raster scan read from a file.

    Attributes
    ----------
    X_V, Y_V : ndarray of float, shape (nw, ny, nx)
        Lock-in X (the signal) and Y (the quadrature, noise) per wavelength and grid
        point, volts; NaN where not measured.
    measured : ndarray of bool, shape (nw, ny, nx)
        True where a done record exists.
    wavelength_um : ndarray, shape (nw,)
        MIR wavelength of each image of the cube (distinct, in the scan's order).
    x_um, y_um : ndarray, shapes (nx,) and (ny,)
        Pixel-centre coordinates.
    power_mW : ndarray, shape (nw,)
        MIR power measured at each wavelength (the mean of its rows in
        ``/entry/spectral/power``); NaN where none was measured.
    power_sem_mW : ndarray, shape (nw,)
        Standard error of that mean (0 with one row, NaN with none).
    blank_X_V, blank_Y_V : ndarray, shape (nw,), or None
        Reading at the blank (sample-free) spot per wavelength (mean of its rows; NaN
        where none); None when the file has no blank readings.
    blank_xy_um : tuple of float or None
        Where the blank spot is (of its first row).
    truth_V : ndarray (nw, ny, nx) or None
        Noise-free settled lock-in X (simulated scans).
    transmission : ndarray (nw, ny, nx) or None
        The chart's transmittance at each grid point (simulated scans).
    labels : ndarray of int16 (ny, nx) or None
        The chart's material at each grid point, an index into `material_names`.
    material_names : tuple of str
        Names of the chart's materials (empty if the file stores none).
    material_transmission : ndarray (nmat, nw) or None
        Transmittance of each material at the scan's wavelengths.
    calibration : dict or None
        Attributes of ``/entry/calibration`` (a responsivity, as for raster files).
    exit_status : str
        ``"running"`` (also a killed scan), ``"success"``, ``"abort"`` or ``"fail"``.
    order : {"image", "point"}
        Loop order: an image per wavelength, or every wavelength at each point.
    dwell_s : float
        Dwell per reading (NaN if not recorded).
    points_done, points_total : int
        Readings done, and in the plan.
    path : Path
    attrs, scan_attrs : dict
        Attributes of ``/entry`` and ``/entry/scan``.
    settings : dict
        Device name -> its settings in ``/entry/instrument``.
    recipe_toml, lab
        The recipe as given and ``/entry/lab`` (``mirimager resume``).
    """

    X_V: np.ndarray
    Y_V: np.ndarray
    measured: np.ndarray
    wavelength_um: np.ndarray
    x_um: np.ndarray
    y_um: np.ndarray
    power_mW: np.ndarray
    power_sem_mW: np.ndarray
    blank_X_V: np.ndarray | None
    blank_Y_V: np.ndarray | None
    blank_xy_um: tuple[float, float] | None
    exit_status: str
    order: str
    dwell_s: float
    points_done: int
    points_total: int
    path: Path
    truth_V: np.ndarray | None = None
    transmission: np.ndarray | None = None
    labels: np.ndarray | None = None
    material_names: tuple[str, ...] = ()
    material_transmission: np.ndarray | None = None
    calibration: dict[str, Any] | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    scan_attrs: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    recipe_toml: str = ""
    lab: dict[str, Any] = field(default_factory=dict)

    kind = KIND

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(nw, ny, nx)``."""
        return self.X_V.shape  # type: ignore[return-value]

    @property
    def complete(self) -> bool:
        """True when every reading of the cube has been made."""
        return bool(self.measured.all())

    @property
    def pixel_size_um(self) -> tuple[float, float]:
        """``(dx_um, dy_um)``, absolute mean pitches; NaN along an axis of length 1."""
        return _pitch(self.x_um), _pitch(self.y_um)

    def __repr__(self) -> str:
        nw, ny, nx = self.shape
        return (f"SpectralCube({self.path.name}: {nw} wavelengths "
                f"{self.wavelength_um.min():g}-{self.wavelength_um.max():g} um x {ny}x{nx}, "
                f"{self.points_done}/{self.points_total} readings, {self.exit_status})")


def _pitch(axis_um: np.ndarray) -> float:
    if axis_um.size < 2:
        return float("nan")
    return float(abs(axis_um[-1] - axis_um[0]) / (axis_um.size - 1))


def load_cube(path: str | os.PathLike[str]) -> SpectralCube:
    """Read a spectral raster scan file.

    Parameters
    ----------
    path : str or path-like
        The HDF5 file (layout of :mod:`reconstruction.schema_spectral`). It may still be
        open for writing in another process, or cut off after its last flush.

    Returns
    -------
    SpectralCube
        The cube assembled from the done records of ``/entry/scan/points``, NaN where
        not measured, with the power, blank, truth and calibration the file holds.

    Raises
    ------
    ScanFileError
        One line naming the file and the dataset or attribute at fault: missing, not
        HDF5, not a mirimager file, a newer format, not a spectral scan, or a part that
        is malformed (axes that disagree with the grid, wavelengths that are not
        distinct positive numbers, a points table without the fields it needs or with
        indices outside the grid, a record whose wavelength is not its image's, power or
        blank tables of the wrong form, truth arrays of the wrong shape).
    """
    from ..scanfile import read_scan_file

    return read_scan_file(path, _read)


def _wavelengths(data: h5py.Group, path: Path) -> np.ndarray:
    name = WAVELENGTH.rsplit("/", 1)[1]
    ds = schema.member(data, name, path)
    where = WAVELENGTH
    if not isinstance(ds, h5py.Dataset):
        raise _fail(path, f"{where} is missing")
    if ds.dtype.kind not in "iuf" or ds.ndim != 1 or ds.shape[0] == 0:
        raise _fail(path, f"{where} is not a 1-D list of numbers (shape {ds.shape}, "
                    f"dtype {ds.dtype})")
    values = np.asarray(ds[()], dtype=float)
    if not (np.isfinite(values).all() and (values > 0).all()):
        raise _fail(path, f"{where} has values that are not finite positive numbers")
    if np.unique(values).size != values.size:
        raise _fail(path, f"{where} has repeated wavelengths")
    return values


def _read(f: h5py.File, path: Path) -> SpectralCube:
    entry = schema.check_root(f, path)
    attrs = _attrs(entry)
    kind = str(attrs.get("kind", ""))
    if kind != KIND:
        raise _fail(path, f"scan kind is {kind!r}, not a {KIND!r} scan")
    scan_grp = schema.member(f, schema.SCAN, path)
    data = schema.member(f, schema.DATA, path)
    if not isinstance(scan_grp, h5py.Group):
        raise _fail(path, f"{schema.SCAN} group is missing")
    if not isinstance(data, h5py.Group):
        raise _fail(path, f"{schema.DATA} group is missing")
    scan_attrs = _attrs(scan_grp)
    wavelength = _wavelengths(data, path)
    x_um, y_um = _axis(data, "x_um", path), _axis(data, "y_um", path)
    nw = _count(scan_attrs, "nw", wavelength.size, path)
    ny = _count(scan_attrs, "ny", y_um.size, path)
    nx = _count(scan_attrs, "nx", x_um.size, path)
    for name, count, axis in (("nw", nw, WAVELENGTH), ("ny", ny, f"{schema.DATA}/y_um"),
                              ("nx", nx, f"{schema.DATA}/x_um")):
        size = {"nw": wavelength, "ny": y_um, "nx": x_um}[name].size
        if count != size:
            raise _fail(path, f"{axis} has {size} values but {schema.SCAN} says {name} = "
                        f"{count}")
    order = str(scan_attrs.get("order", "image"))
    if order not in ("image", "point"):
        raise _fail(path, f"{schema.SCAN} attribute order is {order!r}, not 'image' or 'point'")
    dwell = scan_attrs.get("dwell_s", math.nan)
    dwell_s = float(dwell) if isinstance(dwell, int | float) and not isinstance(dwell, bool) \
        else math.nan
    signal = schema.member(f, schema.SIGNAL, path)
    if not isinstance(signal, h5py.Dataset):
        raise _fail(path, f"{schema.SIGNAL} is missing")
    if signal.shape != (nw, ny, nx) or signal.dtype.kind != "f":
        raise _fail(path, f"{schema.SIGNAL} has shape {signal.shape} ({signal.dtype}), "
                    f"expected float {(nw, ny, nx)}")

    records, total = _points(f, path, scan_attrs, nw * ny * nx)
    X, Y, measured = _assemble(records, wavelength, (nw, ny, nx), path)
    limit = 2 * total + 1000  # rows a log can hold: a reading's worth, resumes, margin
    power, power_sem = _power(f, path, wavelength, limit)
    blank_X, blank_Y, blank_xy = _blank(f, path, wavelength, limit)
    truth = _optional_array(f, schema.TRUTH, (nw, ny, nx), path)
    transmission = _optional_array(f, TRANSMISSION, (nw, ny, nx), path)
    labels, names, material_T = _materials(f, path, (nw, ny, nx))
    return SpectralCube(
        X_V=X, Y_V=Y, measured=measured, wavelength_um=wavelength, x_um=x_um, y_um=y_um,
        power_mW=power, power_sem_mW=power_sem, blank_X_V=blank_X, blank_Y_V=blank_Y,
        blank_xy_um=blank_xy, exit_status=str(attrs.get("exit_status", "unknown")),
        order=order, dwell_s=dwell_s, points_done=int(records.size), points_total=total,
        path=path, truth_V=truth, transmission=transmission, labels=labels,
        material_names=names, material_transmission=material_T,
        calibration=_optional_group(f, schema.CALIBRATION, path), attrs=attrs,
        scan_attrs=scan_attrs, settings=_settings(entry, path),
        recipe_toml=_read_text(recipe) if isinstance(recipe := schema.member(
            f, schema.RECIPE, path), h5py.Dataset) else "",
        lab=_optional_group(f, schema.LAB, path) or {})


def _points(f: h5py.File, path: Path, scan_attrs: dict[str, Any], cells: int
            ) -> tuple[np.ndarray, int]:
    """The done records of the points table (one record per cell of the cube), and the
    plan's number of readings."""
    table = schema.member(f, schema.POINTS, path)
    if table is None:
        raise _fail(path, f"{schema.POINTS} is missing")
    problem = schema.table_problem(table, schema.POINTS, POINT_FIELDS,
                                   "a table of spectral readings")
    if problem is not None:
        raise _fail(path, problem)
    total = table.shape[0]
    if total != cells:
        raise _fail(path, f"{schema.POINTS} has {total} records, not one per reading of the "
                    f"cube ({cells})")
    if "points_total" in scan_attrs:
        declared = _count(scan_attrs, "points_total", 0, path)
        if declared != total:
            raise _fail(path, f"{schema.POINTS} has {total} records but {schema.SCAN} "
                        f"points_total is {declared}")
    records = table[()]
    return records[records["done"] != 0], int(total)


def _assemble(records: np.ndarray, wavelength: np.ndarray, shape: tuple[int, int, int],
              path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    nw, ny, nx = shape
    iw, iy, ix = (records[n].astype(np.int64) for n in ("iw", "iy", "ix"))
    bad = (iw < 0) | (iw >= nw) | (iy < 0) | (iy >= ny) | (ix < 0) | (ix >= nx)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise _fail(path, f"{schema.POINTS} record {k} (done) has (iw, iy, ix) = "
                    f"({iw[k]}, {iy[k]}, {ix[k]}), outside the {nw}x{ny}x{nx} cube")
    # A record's wavelength must be nearer its own image's than any other (read-back
    # wavelengths may differ slightly from the set ones).
    tolerance = 0.5 * float(np.min(np.diff(np.sort(wavelength)))) if nw > 1 else \
        0.05 * float(wavelength[0])
    off = ~(np.abs(records["wavelength_um"] - wavelength[iw]) < tolerance)
    if off.any():
        k = int(np.flatnonzero(off)[0])
        raise _fail(path, f"{schema.POINTS} record {k} (done) is at "
                    f"{records['wavelength_um'][k]:g} um but its iw = {iw[k]} is the image "
                    f"at {wavelength[iw[k]]:g} um")
    X, Y = np.full(shape, np.nan), np.full(shape, np.nan)
    measured = np.zeros(shape, dtype=bool)
    flat = (iw * ny + iy) * nx + ix  # the last record of a reading counts
    X.ravel()[flat] = records["X_V"]
    Y.ravel()[flat] = records["Y_V"]
    measured.ravel()[flat] = True
    return X, Y, measured
