"""What every mirimager HDF5 file shares: root and entry attributes, settings, helpers.

Used by the scan writers (:mod:`imager.storage.writer`,
:mod:`imager.storage.single_pixel`) and the calibration run. Layout: ``docs/scanfile.md``.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping
from typing import Any

import h5py
import numpy as np

from imager import __version__

FORMAT_VERSION = 1


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def utc_now_iso() -> str:
    """Current UTC time, ISO 8601 with seconds."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


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

    The per-point path of every scan: the dataspaces and the memory type are
    built once, so one element write costs a few tens of microseconds. (Without
    a memory type, ``DatasetID.write`` converts the buffer's dtype to an HDF5
    type on every call: ~80 us for a 13-field compound record.) The memory
    type is the one h5py would build for the buffer itself, so the bytes on
    disk are the same.
    """

    def __init__(self, dataset: h5py.Dataset) -> None:
        self.dataset = dataset
        ndim = max(dataset.ndim, 1)
        self.buffer = np.zeros((1,) * ndim, dtype=dataset.dtype)
        self._mem = h5py.h5s.create_simple((1,) * ndim)
        self._file = dataset.id.get_space()
        self._count = (1,) * ndim
        self._mtype = h5py.h5t.py_create(self.buffer.dtype)
        self._write = dataset.id.write

    def write(self, index: tuple[int, ...]) -> None:
        """Write ``self.buffer`` (fill it first) at ``index``."""
        self._file.select_hyperslab(index, self._count)
        self._write(self._mem, self._file, self.buffer, self._mtype)


def add_calibration(entry: h5py.Group, calibration: Mapping[str, Any] | None) -> None:
    """Store a responsivity (from a calibration file) as ``/entry/calibration``."""
    if calibration is not None:
        group = entry.create_group("calibration")
        _set_attrs(group, {"NX_class": "NXcollection", **calibration})
