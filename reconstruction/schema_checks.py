"""Checks of an open scan file against the schema (:mod:`reconstruction.schema`).

The readers and ``mirimager resume`` use these: :func:`member` and
:func:`check_root` find objects and the entry with one-line errors,
:func:`setting_changes` reads the settings log, :func:`resume_problem` tells
whether a stopped file can be continued. They take open h5py objects; the
schema module re-exports them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import ScanFileError
from .schema import (
    ENTRY,
    LAYOUT_VERSION,
    SCAN,
    SETTING_DTYPE,
    SETTINGS_CHANGES,
    VERSION_ATTR,
    Layout,
    SettingChange,
)

if TYPE_CHECKING:
    import h5py


def member(group: h5py.Group, path: str | bytes, file: str | Path) -> Any:
    """The object at ``path`` (absolute, or relative to ``group``), or None if absent.

    Unlike ``group.get``, which answers None for any failure, only a name that does
    not exist is "absent": a broken soft link or an external link that cannot be
    opened is a `ScanFileError` naming it (``file`` is the file's name for the
    message), and any other error (e.g. a read that a writer's flush broke)
    propagates as h5py raised it.
    """
    import h5py

    from .hdf5_read import _text as as_text

    if isinstance(path, bytes):  # a name that is not UTF-8, as h5py lists it
        obj, names = group, [path]
    else:
        obj, names = group.file if path.startswith("/") else group, path.strip("/").split("/")
    for name in names:
        if not isinstance(obj, h5py.Group):
            return None
        try:
            obj = obj[name]
        except KeyError as exc:
            if "doesn't exist" in str(exc):
                return None
            where = f"{as_text(obj.name).rstrip('/')}/{as_text(name)}"
            link = obj.get(name, getlink=True)
            if isinstance(link, h5py.SoftLink):
                raise ScanFileError(f"{file}: {where} is a broken link "
                                    f"(to {as_text(link.path)})") from None
            if isinstance(link, h5py.ExternalLink):
                raise ScanFileError(f"{file}: {where} is a link to {as_text(link.path)} in "
                                    f"{as_text(link.filename)}, which cannot be opened") from None
            raise
    return obj


def check_root(f: h5py.File, path: str | Path) -> h5py.Group:
    """``/entry`` of a mirimager file of a layout version this reader knows.

    Raises
    ------
    ScanFileError
        Not a mirimager file, or its version is not 1..`LAYOUT_VERSION` (one line).
    """
    import h5py

    from .hdf5_read import _py as as_python

    version = f.attrs.get(VERSION_ATTR)
    entry = member(f, ENTRY, path) if version is not None else None
    if entry is None:
        raise ScanFileError(f"{path}: not a mirimager scan file (no {VERSION_ATTR} attribute "
                            "or /entry group)")
    version = as_python(version)
    if isinstance(version, bool) or not isinstance(version, int | float) \
            or version != int(version):
        raise ScanFileError(f"{path}: invalid {VERSION_ATTR} {version!r}")
    if int(version) > LAYOUT_VERSION:
        raise ScanFileError(f"{path}: scan file format version {int(version)} is newer than "
                            f"supported ({LAYOUT_VERSION}); update mirimager to read it")
    if int(version) < 1:
        raise ScanFileError(f"{path}: invalid {VERSION_ATTR} {int(version)}")
    if not isinstance(entry, h5py.Group):
        raise ScanFileError(f"{path}: {ENTRY} is not a group")
    return entry


def table_problem(table: Any, path: str, fields: tuple[str, ...], what: str) -> str | None:
    """Why ``table`` is not a 1-D record table with ``fields`` (None: it is one)."""
    import h5py

    names = table.dtype.names if isinstance(table, h5py.Dataset) else None
    if not names or not set(fields) <= set(names) or table.ndim != 1:
        return f"{path} is not {what} (1-D records with fields {', '.join(fields)})"
    return None


def setting_changes(f: h5py.File, path: str | Path) -> list[SettingChange]:
    """The rows of ``/entry/settings_changes``, in order (empty if it is absent).

    Raises
    ------
    ScanFileError
        The table or one of its rows is malformed (one line naming it).
    """
    changes, problem = _setting_changes(f, path)
    if problem is not None:
        raise ScanFileError(f"{path}: {problem}")
    return changes


def _setting_changes(f: h5py.File, path: str | Path) -> tuple[list[SettingChange], str | None]:
    table = member(f, SETTINGS_CHANGES, path)
    if table is None:
        return [], None
    problem = table_problem(table, SETTINGS_CHANGES, SETTING_DTYPE.names,
                            "a table of setting changes")
    if problem is not None:
        return [], problem
    out = []
    for row, record in enumerate(table[()]):
        try:
            change = SettingChange(int(record["index"]), bytes(record["device"]).decode(),
                                   bytes(record["attribute"]).decode(),
                                   json.loads(bytes(record["value"]).decode()),
                                   float(record["t_lab_s"]))
        except (TypeError, ValueError, UnicodeDecodeError) as exc:
            return [], f"{SETTINGS_CHANGES} row {row} is unreadable ({exc})"
        if not (change.device.isidentifier() and change.attribute.isidentifier()):
            return [], (f"{SETTINGS_CHANGES} row {row} names {change.device!r}."
                        f"{change.attribute!r}, not a device setting")
        out.append(change)
    return out, None


def resume_problem(f: h5py.File, layout: Layout, sizes: Mapping[str, int],
                   path: str | Path = "") -> str | None:
    """What stops a writer from continuing this stopped file (None: nothing).

    Checked before anything is written: the kind, ``exit_status``, the points table
    and signal of ``layout`` with the shapes ``sizes`` give, ``lab_start_s``, the
    ``resumed`` history, the last record done and ``/entry/settings_changes``. The
    answer is one line naming the dataset or attribute at fault.
    """
    import h5py

    from .hdf5_read import _py

    entry = f[ENTRY]
    kind = _py(entry.attrs.get("kind", ""))
    points_spec, signal_spec = layout[layout.points], layout[layout.signal]
    total, shape = points_spec.shape_for(sizes)[0], signal_spec.shape_for(sizes)
    points, image = member(f, layout.points, path), member(f, layout.signal, path)
    scan = member(f, SCAN, path)
    lab_start = scan.attrs.get("lab_start_s", 0.0) if isinstance(scan, h5py.Group) else 0.0
    if kind != layout.kind:
        return f"{ENTRY} kind is {kind!r}, not {layout.kind!r}"
    if "exit_status" not in entry.attrs:
        return f"{ENTRY} has no exit_status attribute"
    if not isinstance(points, h5py.Dataset) or points.dtype != points_spec.dtype \
            or points.shape != (total,):
        return f"{layout.points} is not the {total}-record table of the recipe's plan"
    if not isinstance(image, h5py.Dataset) or image.dtype.kind != "f" or image.shape != shape:
        return f"{layout.signal} is not a float array of shape {shape}"
    if isinstance(lab_start, bool) or not isinstance(lab_start, int | float | np.number) \
            or not math.isfinite(float(lab_start)):
        return f"{SCAN} attribute lab_start_s is {lab_start!r}, not a number"
    try:
        history = json.loads(entry.attrs.get("resumed", "[]") or "[]")
    except (TypeError, ValueError):
        history = None
    if not isinstance(history, list):
        return f"{ENTRY} attribute resumed is not a JSON list"
    done = points.fields("done")[()].astype(bool)
    first_missing = int(np.argmin(done)) if not done.all() else done.size
    if first_missing > 0:
        last = points[first_missing - 1]
        bad = [n for n in layout.resume_fields if not np.isfinite(last[n])]
        if bad:
            return (f"{layout.points}[{first_missing - 1}] (the last point done) has "
                    f"{', '.join(bad)} not finite")
    return _setting_changes(f, path)[1]
