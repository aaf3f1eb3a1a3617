"""Validated reads of the HDF5 objects in a scan file (``docs/scanfile.md``), shared by the
raster, single-pixel and event-log readers.

Each helper turns an h5py object into plain Python or NumPy values, or raises a one-line
`ScanFileError` naming the file and the part that is wrong. Opening a file (no locking,
bounded retries) is :func:`reconstruction.scanfile.read_scan_file`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from .errors import ScanFileError
from .schema import INSTRUMENT, LAYOUT_VERSION, check_root, member

__all__ = ["SUPPORTED_FORMAT_VERSION", "ScanFileError"]

#: Newest scan-file format version this reader understands (`schema.LAYOUT_VERSION`).
SUPPORTED_FORMAT_VERSION = LAYOUT_VERSION

_check_root = check_root

#: How HDF5 fails on a file that another process is flushing (OSError, KeyError or
#: RuntimeError with one of these): the file is shorter than its superblock says, an
#: object lies beyond the end of file the reader saw, a local heap (a group's names) is
#: mid-update. Found by reading files ~30 000 times while a writer process flushed points,
#: events and setting changes into them, stopped and reopened them
#: (``tests/imager/test_storage_schema.py`` reads such files while they are written).
#: These also describe a truncated file: one that keeps failing is reported as such.
FLUSH_SIGNATURES = ("truncated file", "addr overflow", "adjustment for EOA",
                    "bad heap free list", "free block size is zero")


def during_flush(exc: BaseException) -> bool:
    """Whether ``exc`` is how HDF5 fails on a file caught mid-flush (`FLUSH_SIGNATURES`)."""
    return isinstance(exc, OSError | KeyError | RuntimeError) \
        and any(s in str(exc) for s in FLUSH_SIGNATURES)


def _text(value: str | bytes) -> str:
    """A name or string from HDF5 as printable text: bytes that are not UTF-8 (which h5py
    returns as ``bytes``, or as a ``str`` with surrogate escapes) become ``\\xNN``."""
    if isinstance(value, str):
        if value.isascii() or value.isprintable():  # fast path: no surrogate escapes
            return value
        try:
            value = value.encode("utf-8", errors="surrogateescape")
        except UnicodeEncodeError:  # a lone surrogate that is no escaped byte
            value = value.encode("utf-8", errors="surrogatepass")
    return value.decode("utf-8", errors="backslashreplace")


def _py(value: Any) -> Any:
    """HDF5 attribute value -> plain Python (str, int, float, bool, list); text that is not
    UTF-8 is shown with backslash escapes (see `_text`)."""
    if isinstance(value, bytes | str):
        return _text(value)
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "SOU":
            return [_py(v) for v in value.tolist()]
        return value.tolist() if value.ndim else value.item()
    if isinstance(value, np.generic):
        return _py(value.item())
    return value



def _attrs(obj: h5py.HLObject) -> dict[str, Any]:
    return {_text(k): _py(v) for k, v in obj.attrs.items()}


def _attrs_no_class(obj: h5py.HLObject) -> dict[str, Any]:
    d = _attrs(obj)
    d.pop("NX_class", None)
    return d


def _read_text(ds: h5py.Dataset) -> str:
    value = ds[()]
    if isinstance(value, np.ndarray):  # 1-element or char array
        value = value.ravel()[0] if value.size else b""
    return str(_py(value))


def _is_count(value: Any) -> bool:
    """Whether ``value`` is a non-negative whole number (int, or float like 6.0)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return False
    return value >= 0


def _count(attrs: dict[str, Any], key: str, default: int, path: Path) -> int:
    """A non-negative integer attribute of ``/entry/scan`` (``default`` if absent)."""
    value = attrs.get(key, default)
    if not _is_count(value):
        raise ScanFileError(f"{path}: /entry/scan attribute {key} is {value!r}, "
                            "not a non-negative integer")
    return int(value)


def _axis(data_grp: h5py.Group, name: str, path: Path, size: int | None = None) -> np.ndarray:
    """``/entry/data/<name>``: pixel-centre coordinates, 1-D, finite and strictly monotonic
    (and of length ``size`` if given); else a ScanFileError naming file and dataset."""
    where = f"{path}: /entry/data/{name}"
    ds = member(data_grp, name, path)
    if not isinstance(ds, h5py.Dataset):
        raise ScanFileError(f"{where} is missing")
    if ds.dtype.kind not in "iuf":
        raise ScanFileError(f"{where} is not numeric (dtype {ds.dtype})")
    if ds.ndim != 1:
        raise ScanFileError(f"{where} has shape {ds.shape}, expected one dimension")
    if size is not None and ds.shape[0] != size:
        raise ScanFileError(f"{where} has {ds.shape[0]} values, expected {size}")
    axis = np.asarray(ds[...], dtype=float)
    if axis.size == 0:
        raise ScanFileError(f"{where} is empty")
    if not np.isfinite(axis).all():
        raise ScanFileError(f"{where} has values that are not finite")
    with np.errstate(over="ignore"):
        steps = np.diff(axis)
    if not (np.isfinite(steps).all() and ((steps > 0).all() or (steps < 0).all())):
        raise ScanFileError(f"{where} is not strictly monotonic (or its span overflows)")
    return axis


_REQUIRED_FIELDS = ("ix", "iy", "X_V")


def _done_points(records: np.ndarray, path: Path) -> np.ndarray:
    names = records.dtype.names or ()
    missing = [n for n in _REQUIRED_FIELDS if n not in names]
    if missing:
        raise ScanFileError(f"{path}: scan/points lacks field(s) {', '.join(missing)}")
    if "done" in names:
        return records[records["done"] != 0]
    return records[np.isfinite(records["X_V"])]


def _settings(entry: h5py.Group, path: Path) -> dict[str, dict[str, Any]]:
    inst = member(entry, INSTRUMENT, path)
    if not isinstance(inst, h5py.Group):
        return {}
    out: dict[str, dict[str, Any]] = {}
    for name in inst:
        obj = member(inst, name, path)
        if obj is None:  # listed, then gone: a writer changed the group meanwhile
            raise OSError(f"{INSTRUMENT}/{_text(name)} vanished while read")
        out[_text(name)] = _attrs_no_class(obj)
    return out


def _optional_group(f: h5py.File, name: str, path: Path) -> dict[str, Any] | None:
    """Attributes (without NX_class) of the group at ``name``; None if absent or not a
    group."""
    group = member(f, name, path)
    return _attrs_no_class(group) if isinstance(group, h5py.Group) else None
