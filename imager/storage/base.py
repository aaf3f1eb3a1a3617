"""The base of every mirimager file writer: atomic creation, event and setting logs.

Every file (raster, single-pixel, calibration) is created by :class:`FileWriter`
through :func:`create_exclusive`: the header is built under a hidden temporary
name in the same folder and linked to the final name only when it is complete
and flushed, so a kill at any moment leaves no file or a readable one, and an
existing file is never overwritten. Layout: ``docs/scanfile.md``.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from imager.storage.header import (
    ElementWriter,
    _set_attrs,
    _text,
    close_entry,
    utc_now_iso,
)

EVENT_DTYPE = np.dtype([("t_wall_s", "<f8"), ("t_lab_s", "<f8"), ("index", "<i8"),
                        ("kind", "S32"), ("message", "S256")])

SETTING_DTYPE = np.dtype([("t_wall_s", "<f8"), ("t_lab_s", "<f8"), ("index", "<i8"),
                          ("device", "S32"), ("attribute", "S64"), ("value", "S64")])
"""One row of ``/entry/settings_changes``: a device setting the engine changed (JSON value)."""

EventListener = Callable[[str, str, int, float], None]
"""``listener(kind, message, index, t_lab_s)``, called after each event is written."""


@dataclass(frozen=True)
class SettingChange:
    """A device setting the engine changed during a scan (``/entry/settings_changes``)."""

    index: int
    """Plan point being measured when it changed (-1: before any point)."""
    device: str
    """The lab's attribute naming the device (``lockin``, ``source``, ...)."""
    attribute: str
    value: Any
    t_lab_s: float


def partial_name(path: str | Path) -> Path:
    """Hidden temporary name beside ``path`` for building its header.

    ``.NAME.partial-PID-XXXXXXXX``: the process id and a random token, so
    processes and threads creating the same name never share a temporary.
    """
    path = Path(path)
    return path.with_name(f".{path.name}.partial-{os.getpid()}-{secrets.token_hex(4)}")


def _exists_error(path: Path) -> FileExistsError:
    return FileExistsError(errno.EEXIST, "file exists; scan files are never overwritten",
                           str(path))


def create_exclusive(path: str | Path, build: Callable[[h5py.File], None]) -> h5py.File:
    """Create the HDF5 file ``path`` atomically, never overwriting; returns it open.

    ``build(f)`` writes the header into a new file under :func:`partial_name`
    in the same folder; it is flushed and then hard-linked to ``path`` (a link
    fails if the name exists, so nothing is ever overwritten, even by a
    racing process) and the temporary name is removed. The open file is the
    linked one: later writes go to ``path``. Until the link, ``path`` does
    not exist; after it, it holds a complete header: a kill at any moment
    leaves no file or a readable one. A kill before the link may leave the
    hidden temporary (a header, never any measured point), which can be
    deleted. On any error (also Ctrl-C) the temporary is removed and the
    error propagates.

    Raises
    ------
    FileExistsError
        ``path`` exists (``filename`` is ``path``).
    """
    path = Path(path)
    if os.path.lexists(path):
        raise _exists_error(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = partial_name(path)
    f = None
    try:
        # Default (earliest) format on purpose: newer superblocks carry "open for write"
        # flags that make a file killed mid-scan unreadable without h5clear.
        f = h5py.File(temp, "x")
        build(f)
        f.flush()
        try:
            os.link(temp, path)
        except FileExistsError:
            raise _exists_error(path) from None
        except OSError as exc:  # a file system without hard links (FAT, some shares)
            f.close()
            os.unlink(temp)
            return _create_in_place(path, build, exc)
        os.unlink(temp)
        return f
    except BaseException:
        if f is not None and f.id.valid:
            f.close()
        with suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def _create_in_place(path: Path, build: Callable[[h5py.File], None],
                     link_error: OSError) -> h5py.File:
    """Fallback where hard links fail: create ``path`` exclusively, build, flush.

    Still never overwrites; a kill while the header is built may leave an
    unreadable file there.
    """
    try:
        f = h5py.File(path, "x")
    except FileExistsError:
        raise _exists_error(path) from None
    try:
        build(f)
        f.flush()
    except BaseException:
        f.close()
        with suppress(FileNotFoundError):
            os.unlink(path)
        raise
    return f


class FileWriter:
    """Base of the file writers: creates the file atomically, logs events and setting
    changes, closes it with a status.

    Parameters
    ----------
    path : path
        The file; with ``build``, a new one (never overwritten: FileExistsError).
    reopen : bool
        Open an existing file to continue it (use :meth:`_reopened`).
    build : callable, optional
        ``build(f)`` writes the header of a new file (see :func:`create_exclusive`).

    Attributes
    ----------
    event_listener : callable or None
        ``listener(kind, message, index, t_lab_s)`` called after each event is
        written (the progress bar shows pauses with it).
    """

    event_listener: EventListener | None = None

    def __init__(self, path: str | Path, *, reopen: bool = False,
                 build: Callable[[h5py.File], None] | None = None) -> None:
        self.path = Path(path)
        self.closed = False
        if reopen:
            self.file = h5py.File(self.path, "r+")
            return
        self.points_written = 0
        self.file = create_exclusive(self.path, build or (lambda f: None))

    @contextmanager
    def _closed_on_error(self) -> Iterator[None]:
        """Close the file if reopening it fails (then re-raise)."""
        try:
            yield
        except BaseException:
            self.file.close()
            raise

    @classmethod
    def _reopened(cls, path: str | Path, attach: Callable[[Any], None] | None = None):
        """Open a stopped scan's file to continue it (``mirimager resume``).

        Sets ``lab_start_s``, the points table and its writer, the ``X_V``
        dataset (``_x_V``), then ``first_missing``, ``last_done`` (the record
        before it, or None), ``recent_done`` (the last two records done, oldest
        first), ``points_written`` and ``settings_to_restore`` (the setting
        changes made while measuring the points done); ``attach(self)`` reads
        what a subclass needs more. The file is closed again if any of it fails.
        """
        self = cls.__new__(cls)
        FileWriter.__init__(self, path, reopen=True)
        with self._closed_on_error():
            scan = self.file["entry/scan"]
            self.lab_start_s = float(scan.attrs.get("lab_start_s", 0.0))
            self._points, self._x_V = scan["points"], self.file["entry/data/X_V"]
            if attach is not None:
                attach(self)
            changes = self.settings_changes()
            self._resume_points(self._points)
            self.settings_to_restore = [c for c in changes if c.index < self.first_missing]
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
        self.recent_done = points[max(0, self.first_missing - 2):self.first_missing]
        self.file.flush()

    def _append(self, name: str, dtype: np.dtype, row: tuple) -> None:
        """Append one row to the log table ``/entry/<name>`` (created on first use), flush."""
        entry = self.file["entry"]
        if name not in entry:
            entry.create_dataset(name, shape=(0,), maxshape=(None,), chunks=(64,), dtype=dtype)
        table = entry[name]
        n = table.shape[0]
        table.resize((n + 1,))
        table[n] = row
        self.file.flush()

    def log_event(self, kind: str, message: str, index: int = -1,
                  t_lab_s: float = float("nan")) -> None:
        """Append to the scan's event log ``/entry/events`` (faults, retries, re-ranges),
        then tell the :attr:`event_listener`."""
        self._append("events", EVENT_DTYPE, (time.time(), t_lab_s, index, kind.encode()[:32],
                                             message.encode("utf-8", "replace")[:256]))
        if self.event_listener is not None:
            try:
                self.event_listener(kind, message, index, t_lab_s)
            except Exception:  # noqa: BLE001 - a display never stops a scan (event is saved)
                self.event_listener = None

    def record_setting(self, device: str, attribute: str, value: Any, index: int = -1,
                       t_lab_s: float = float("nan")) -> None:
        """Record that the engine set ``device.attribute = value`` (``/entry/settings_changes``).

        ``mirimager resume`` applies these again, in order, before continuing.
        """
        text = json.dumps(value.item() if isinstance(value, np.generic) else value)
        if len(text.encode()) > SETTING_DTYPE["value"].itemsize:
            raise ValueError(f"setting {device}.{attribute}: value {text} too long to record")
        self._append("settings_changes", SETTING_DTYPE,
                     (time.time(), t_lab_s, index, device.encode(), attribute.encode(),
                      text.encode()))

    def settings_changes(self) -> list[SettingChange]:
        """The setting changes recorded in the file, in order (see :meth:`record_setting`).

        Raises
        ------
        ScanFileError
            ``/entry/settings_changes`` is not such a table.
        """
        from reconstruction.errors import ScanFileError

        table = self.file["entry"].get("settings_changes")
        if table is None:
            return []
        where = f"{self.path}: /entry/settings_changes"
        names = SETTING_DTYPE.names
        if not isinstance(table, h5py.Dataset) or table.dtype.names is None \
                or not set(names) <= set(table.dtype.names) or table.ndim != 1:
            raise ScanFileError(f"{where} is not a table of setting changes ({', '.join(names)})")
        out = []
        for row, record in enumerate(table[()]):
            try:
                value = json.loads(_text(record["value"]))
                change = SettingChange(int(record["index"]), _text(record["device"]),
                                       _text(record["attribute"]), value,
                                       float(record["t_lab_s"]))
            except (TypeError, ValueError, UnicodeDecodeError) as exc:
                raise ScanFileError(f"{where} row {row} is unreadable ({exc})") from None
            if not (change.device.isidentifier() and change.attribute.isidentifier()):
                raise ScanFileError(f"{where} row {row} names {change.device!r}."
                                    f"{change.attribute!r}, not a device setting")
            out.append(change)
        return out

    def close(self, exit_status: str, error_message: str = "") -> None:
        """Record the exit status and end time, then close the file."""
        if self.closed:
            return
        if exit_status not in ("success", "abort", "fail"):
            raise ValueError(f"exit_status must be success, abort or fail, got {exit_status!r}")
        try:
            close_entry(self.file, exit_status, error_message)
        finally:
            self.file.close()
            self.closed = True
