"""The per-wavelength logs and truth tables of a spectral raster file, read and checked.

Helpers of :func:`reconstruction.spectral.cube.load_cube`: the MIR power and
blank-spot logs (averaged per wavelength), optional arrays of a given shape and
the chart's materials. Each raises a one-line `ScanFileError` naming the dataset.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import h5py
import numpy as np

from .. import schema
from ..errors import ScanFileError
from ..hdf5_read import _attrs
from ..schema_spectral import (
    BLANK,
    BLANK_DTYPE,
    MATERIAL_TRANSMISSION,
    MATERIALS,
    POWER,
    POWER_DTYPE,
)

#: Most materials a chart's truth may name.
MAX_MATERIALS = 1000


def _fail(path: Path, message: str) -> ScanFileError:
    return ScanFileError(f"{path}: {message}")


def _log_table(f: h5py.File, path: Path, where: str, dtype: np.dtype, what: str,
               wavelength: np.ndarray, limit: int) -> np.ndarray | None:
    """The rows of a per-wavelength log (None if absent); at most ``limit`` rows (one per
    reading, a resumed scan's repeats and a margin)."""
    table = schema.member(f, where, path)
    if table is None:
        return None
    problem = schema.table_problem(table, where, dtype.names, what)
    if problem is not None:
        raise _fail(path, problem)
    if table.shape[0] > limit:
        raise _fail(path, f"{where} has {table.shape[0]} rows, more than the scan can have "
                    f"made ({limit})")
    rows = table[()]
    nw = wavelength.size
    bad = (rows["iw"] < 0) | (rows["iw"] >= nw)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise _fail(path, f"{where} row {k} has iw = {rows['iw'][k]}, outside 0..{nw - 1}")
    return rows


def _per_wavelength(iw: np.ndarray, values: np.ndarray, nw: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Mean and its standard error of the finite ``values`` at each ``iw``."""
    mean, sem = np.full(nw, np.nan), np.full(nw, np.nan)
    for k in range(nw):
        v = values[(iw == k) & np.isfinite(values)]
        if v.size:
            mean[k] = v.mean()
            sem[k] = v.std(ddof=1) / math.sqrt(v.size) if v.size > 1 else 0.0
    return mean, sem


def _power(f: h5py.File, path: Path, wavelength: np.ndarray, limit: int
           ) -> tuple[np.ndarray, np.ndarray]:
    rows = _log_table(f, path, POWER, POWER_DTYPE, "a table of MIR power per wavelength",
                      wavelength, limit)
    if rows is None:
        nan = np.full(wavelength.size, np.nan)
        return nan, nan.copy()
    return _per_wavelength(rows["iw"], rows["power_mW"].astype(float), wavelength.size)


def _blank(f: h5py.File, path: Path, wavelength: np.ndarray, limit: int
           ) -> tuple[np.ndarray | None, np.ndarray | None, tuple[float, float] | None]:
    rows = _log_table(f, path, BLANK, BLANK_DTYPE, "a table of blank-spot readings",
                      wavelength, limit)
    if rows is None or rows.size == 0:
        return None, None, None
    X, _ = _per_wavelength(rows["iw"], rows["X_V"].astype(float), wavelength.size)
    Y, _ = _per_wavelength(rows["iw"], rows["Y_V"].astype(float), wavelength.size)
    return X, Y, (float(rows["x_um"][0]), float(rows["y_um"][0]))


def _optional_array(f: h5py.File, where: str, shape: tuple[int, ...], path: Path
                    ) -> np.ndarray | None:
    ds = schema.member(f, where, path)
    if ds is None:
        return None
    if not isinstance(ds, h5py.Dataset) or ds.dtype.kind not in "iuf" or ds.shape != shape:
        got = f"shape {ds.shape}" if isinstance(ds, h5py.Dataset) else "a group"
        raise _fail(path, f"{where} is {got}, expected numbers of shape {shape}")
    return np.asarray(ds[()], dtype=float)


def _materials(f: h5py.File, path: Path, shape: tuple[int, int, int]
               ) -> tuple[np.ndarray | None, tuple[str, ...], np.ndarray | None]:
    nw, ny, nx = shape
    material_T = None
    ds = schema.member(f, MATERIAL_TRANSMISSION, path)
    if ds is not None:
        if not isinstance(ds, h5py.Dataset) or ds.dtype.kind not in "iuf" or ds.ndim != 2 \
                or ds.shape[1] != nw or not 0 < ds.shape[0] <= MAX_MATERIALS:
            got = ds.shape if isinstance(ds, h5py.Dataset) else "a group"
            raise _fail(path, f"{MATERIAL_TRANSMISSION} is {got}, expected numbers of shape "
                        f"(materials, {nw})")
        material_T = np.asarray(ds[()], dtype=float)
    ds = schema.member(f, MATERIALS, path)
    if ds is None:
        return None, (), material_T
    if not isinstance(ds, h5py.Dataset) or ds.dtype.kind not in "iu" or ds.shape != (ny, nx):
        got = f"{ds.shape} {ds.dtype}" if isinstance(ds, h5py.Dataset) else "a group"
        raise _fail(path, f"{MATERIALS} is {got}, expected integers of shape {(ny, nx)}")
    labels = np.asarray(ds[()]).astype(np.int16)
    raw = _attrs(ds).get("names")
    try:
        names = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        names = None
    if not (isinstance(names, list) and names and all(isinstance(n, str) for n in names)):
        raise _fail(path, f"{MATERIALS} attribute names is {raw!r}, not a JSON list of "
                    "material names")
    if material_T is not None and material_T.shape[0] != len(names):
        raise _fail(path, f"{MATERIAL_TRANSMISSION} has {material_T.shape[0]} materials but "
                    f"{MATERIALS} names {len(names)}")
    if labels.size and (labels.min() < -1 or labels.max() >= len(names)):
        raise _fail(path, f"{MATERIALS} has labels outside 0..{len(names) - 1}")
    return labels, tuple(names), material_T
