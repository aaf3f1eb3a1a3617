"""What every mirimager HDF5 file shares: root and entry attributes, settings, helpers.

Used by the scan writers (:mod:`imager.storage.writer`,
:mod:`imager.storage.single_pixel`) and the calibration run. The groups and datasets of
each kind are declared in :mod:`reconstruction.schema` and created by :func:`build_layout`
and :func:`create_from`. Layout: ``docs/scanfile.md``.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping
from typing import Any

import h5py
import numpy as np

from imager import __version__
from reconstruction.schema import (
    CHART,
    ENTRY,
    LAYOUT_VERSION,
    VERSION_ATTR,
    DatasetSpec,
    GroupSpec,
    Layout,
)

FORMAT_VERSION = LAYOUT_VERSION


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
            VERSION_ATTR: LAYOUT_VERSION,
            "creator": f"mirimager {__version__}",
            "HDF5_Version": h5py.version.hdf5_version,
            "h5py_version": h5py.version.version,
        },
    )
    entry = f.create_group(ENTRY)
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
    entry = f[ENTRY]
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


def create_from(where: h5py.Group, spec: DatasetSpec, sizes: Mapping[str, int] | None = None,
                data: Any = None, attrs: Mapping[str, Any] | None = None,
                **names: str) -> h5py.Dataset:
    """Create the dataset ``spec`` declares (:mod:`reconstruction.schema`).

    Parameters
    ----------
    where : h5py.Group
        Any group of the file (the declared paths are absolute).
    spec : DatasetSpec
        The declaration: path, dtype, shape rule, chunks, fill value, attributes.
    sizes : mapping, optional
        The sizes ``spec.shape`` names (``{"nx": 64, "ny": 32}``).
    data : array_like, optional
        Its contents (converted to the declared dtype, and checked against the declared
        shape when ``sizes`` are given); without, it is created filled with the fill value.
    attrs : mapping, optional
        Attributes of this file's dataset, besides the declared ones.
    **names
        Values for the ``{...}`` fields of a templated path (``sweep="responsivity"``).
    """
    path = spec.path.format(**names) if names else spec.path
    if spec.log:
        ds = where.create_dataset(path, shape=(0,), maxshape=(None,), chunks=(64,),
                                  dtype=spec.dtype)
    elif data is not None:
        array = np.asarray(data, dtype=spec.dtype)
        if sizes is not None and spec.shape is not None and array.shape != spec.shape_for(sizes):
            raise ValueError(f"{path}: data of shape {array.shape}, declared "
                             f"{spec.shape_for(sizes)}")
        gzip = {"compression": "gzip", "compression_opts": spec.gzip} if spec.gzip else {}
        ds = where.create_dataset(path, data=array, **gzip)
    else:
        shape = spec.shape_for(sizes or {})
        ds = where.create_dataset(path, shape=shape, dtype=spec.dtype, fillvalue=spec.fill,
                                  chunks=spec.chunks(shape) if spec.chunks else None)
    _set_attrs(ds, {**(attrs or {}), **spec.attrs})
    return ds


def build_layout(f: h5py.File, layout: Layout, sizes: Mapping[str, int],
                 attrs: Mapping[str, Mapping[str, Any]],
                 data: Mapping[str, Any]) -> None:
    """Create the groups and datasets of ``layout`` below the header, in its order.

    ``attrs[path]`` are a group's or dataset's own attributes, ``data[path]`` a
    dataset's contents. Optional items are made only when there is something for
    them (an optional group: attributes, or data for a dataset in it); templated
    paths and log tables are left to the writer.
    """
    for item in layout.items:
        if "{" in item.path or getattr(item, "log", False):
            continue
        if isinstance(item, GroupSpec):
            inside = item.path + "/"
            if item.optional and item.path not in attrs \
                    and not any(p.startswith(inside) and d is not None for p, d in data.items()):
                continue
            _set_attrs(f.create_group(item.path),
                       {"NX_class": item.nx_class, **item.attrs, **attrs.get(item.path, {})})
        elif data.get(item.path) is not None or not (item.optional or item.shape is None):
            create_from(f, item, sizes, data.get(item.path), attrs.get(item.path))


def chart_data(chart: Any) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """``(attrs, data)`` of ``/entry/sample/chart`` for :func:`build_layout` (empty
    without a chart): the test chart of a simulated scan, with its name, pixel pitch and
    the stage coordinates of the centre of ``chart[0, 0]``."""
    if chart is None:
        return {}, {}
    return ({CHART: {"name": chart.name, "pixel_um": chart.pixel_um, "x0_um": chart.x0_um,
                     "y0_um": chart.y0_um}}, {CHART: chart.transmission})
