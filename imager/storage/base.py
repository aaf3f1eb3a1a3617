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
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from imager.storage.header import (
    ElementWriter,
    _set_attrs,
    _text,
    close_entry,
    create_from,
    utc_now_iso,
)
from reconstruction.errors import ScanFileError
from reconstruction.schema import (  # noqa: F401 - EVENT_DTYPE, SETTING_DTYPE re-exported
    ENTRY,
    EVENT_DTYPE,
    LOGS,
    SCAN,
    SETTING_DTYPE,
    DatasetSpec,
    Layout,
    SettingChange,
    resume_problem,
    setting_changes,
)


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
    """

    layout: Layout | None = None
    """The kind's layout (:mod:`reconstruction.schema`): its points table and signal are
    what :meth:`write_record` writes and :meth:`_reopened` continues."""

    def __init__(self, path: str | Path, *, reopen: bool = False,
                 build: Callable[[h5py.File], None] | None = None) -> None:
        self.path = Path(path)
        self.closed = False
        if reopen:
            self.file = h5py.File(self.path, "r+")
            return
        self.points_written = 0
        self.file = create_exclusive(self.path, build or (lambda f: None))

    @classmethod
    def _reopened(cls, path: str | Path, sizes: Callable[[h5py.File], dict[str, int]],
                  attach: Callable[[Any], None] | None = None):
        """Open a stopped scan's file to continue it (``mirimager resume``).

        First :func:`reconstruction.schema.resume_problem` checks, before anything is
        written, that the file holds the tables of :attr:`layout` with the shapes
        ``sizes(file)`` gives (ScanFileError naming the part at fault, file closed and
        untouched). Then sets ``lab_start_s``, the points table and signal and their
        writers, ``first_missing``, ``last_done`` (the record before it, or None),
        ``recent_done`` (the last two records done, oldest first),
        ``points_written`` and ``settings_to_restore`` (the setting changes made while
        measuring the points done); ``attach(self)`` reads what a subclass needs more.
        """
        self = cls.__new__(cls)
        FileWriter.__init__(self, path, reopen=True)
        try:
            problem = resume_problem(self.file, cls.layout, sizes(self.file), self.path)
            if problem is not None:
                raise ScanFileError(f"{self.path}: {problem}")
            self.lab_start_s = float(self.file[SCAN].attrs.get("lab_start_s", 0.0))
            if attach is not None:
                attach(self)
            changes = setting_changes(self.file, self.path)
            self._open_outputs()
            self._resume_points(self._points)
            self.settings_to_restore = [c for c in changes if c.index < self.first_missing]
        except BaseException:
            self.file.close()
            raise
        return self

    def _resume_points(self, points: h5py.Dataset) -> None:
        """Mark the entry running again and find where the stopped scan left off."""
        entry = self.file[ENTRY]
        history = json.loads(entry.attrs.get("resumed", "[]") or "[]")
        history.append({"at": utc_now_iso(), "previous_status": _text(entry.attrs["exit_status"]),
                        "previous_error": _text(entry.attrs.get("error_message", ""))})
        _set_attrs(entry, {"resumed": json.dumps(history), "exit_status": "running",
                           "error_message": "", "end_time": "",
                           # a stored reconstruction of fewer points is no longer the plot
                           "default": "data"})
        done = points.fields("done")[()].astype(bool)
        self.points_written = int(done.sum())
        missing = np.flatnonzero(~done)
        self.first_missing = int(missing[0]) if missing.size else int(done.size)
        self.last_done = (points[self.first_missing - 1] if self.first_missing > 0 else None)
        self.recent_done = points[max(0, self.first_missing - 2):self.first_missing]
        self.file.flush()

    def _open_outputs(self) -> None:
        """The per-point writers of the layout's points table and signal."""
        self._points = self.file[self.layout.points]
        self._signal = self.file[self.layout.signal]
        self._points_out = ElementWriter(self._points)
        self._signal_out = ElementWriter(self._signal)
        self._signal_first = (0,) * max(self._signal.ndim, 1)

    def write_record(self, index: int, record: tuple, at: tuple[int, ...], value: float) -> None:
        """Write record ``index`` of the points table and ``value`` at ``at`` of the
        signal, then flush: one measurement, on disk before the next begins."""
        self._points_out.buffer[0] = record
        self._points_out.write((index,))
        self._signal_out.buffer[self._signal_first] = value
        self._signal_out.write(at)
        self.file.flush()
        self.points_written += 1

    def write_block(self, block: Any) -> None:
        """Write a :class:`~imager.plans.blocks.StreamBlock` (a fly-scan line, a run of
        single-pixel patterns): its samples to ``/entry/stream``, its row to
        ``/entry/lines``, its points' records and values; flushed once, when all of it
        is written."""
        t_wall = time.time()
        self.append_rows("stream", block.samples, flush=False)
        self.append_rows("lines", np.array([block.line_record(t_wall)], LOGS["lines"].dtype),
                         flush=False)
        refs = [(p.index, p.ref_X_V, np.nan, 0, p.t_lab_s, 1) for p in block.points
                if np.isfinite(p.ref_X_V)]
        if refs:
            self.append_rows("reference", np.array(refs, LOGS["reference"].dtype), flush=False)
        self.write_records([(p.index, (*p.head, p.x_um, p.y_um, p.X_V, p.Y_V, 0, p.t_lab_s,
                                       t_wall, 1), p.at, p.X_V) for p in block.points])

    def block_resume_state(self, block_points: int) -> list:
        """For a scan written in blocks of ``block_points`` points (fly lines, pattern
        runs) being resumed: drop the stream samples and ``/entry/lines`` rows from the
        block of the first missing point on; the rows of the (up to) two blocks before
        it, oldest first."""
        lines = self.file.get(LOGS["lines"].path)
        if lines is None:
            return []
        first = self.first_missing // block_points
        rows = lines[()]
        lines.resize((int((rows["line"] < first).sum()),))
        stream = self.file.get(LOGS["stream"].path)
        if stream is not None:
            stream.resize((int((stream.fields("line")[()] < first).sum()),))
        self.file.flush()
        return [row for line in (first - 2, first - 1) for row in rows[rows["line"] == line][-1:]]

    def signal_so_far(self) -> np.ndarray:
        """The layout's signal as written (NaN where not measured)."""
        return self._signal[()]

    def _append(self, name: str, row: tuple) -> None:
        """Append one row to the log table ``name`` of :data:`reconstruction.schema.LOGS`
        (created on first use), then flush."""
        self.append_rows(name, np.array([row], dtype=LOGS[name].dtype))

    def append_rows(self, name: str | DatasetSpec, rows: np.ndarray, flush: bool = True) -> None:
        """Append ``rows`` (of the table's dtype) to the log table ``name`` of
        :data:`reconstruction.schema.LOGS`, or to the log table a layout declares
        (a ``DatasetSpec``); created on first use."""
        spec = LOGS[name] if isinstance(name, str) else name
        table = self.file.get(spec.path)
        if table is None:
            table = create_from(self.file, spec)
        n = table.shape[0]
        table.resize((n + len(rows),))
        table[n:] = rows
        if flush:
            self.file.flush()

    def write_records(self, records: list[tuple[int, tuple, tuple[int, ...], float]]) -> None:
        """Write several ``(index, record, at, value)`` (see :meth:`write_record`), then
        flush once: a fly-scan line lands on disk whole."""
        for index, record, at, value in records:
            self._points_out.buffer[0] = record
            self._points_out.write((index,))
            self._signal_out.buffer[self._signal_first] = value
            self._signal_out.write(at)
        self.file.flush()
        self.points_written += len(records)

    def log_event(self, kind: str, message: str, index: int = -1,
                  t_lab_s: float = float("nan")) -> None:
        """Append to the scan's event log ``/entry/events`` (faults, retries, re-ranges)."""
        self._append("events", (time.time(), t_lab_s, index, kind.encode()[:32],
                                message.encode("utf-8", "replace")[:256]))

    def record_setting(self, device: str, attribute: str, value: Any, index: int = -1,
                       t_lab_s: float = float("nan")) -> None:
        """Record that the engine set ``device.attribute = value`` (``/entry/settings_changes``).

        ``mirimager resume`` applies these again, in order, before continuing.
        """
        text = json.dumps(value.item() if isinstance(value, np.generic) else value)
        if len(text.encode()) > SETTING_DTYPE["value"].itemsize:
            raise ValueError(f"setting {device}.{attribute}: value {text} too long to record")
        self._append("settings_changes",
                     (time.time(), t_lab_s, index, device.encode(), attribute.encode(),
                      text.encode()))

    def settings_changes(self) -> list[SettingChange]:
        """The setting changes recorded in the file, in order (see :meth:`record_setting`).

        Raises
        ------
        ScanFileError
            ``/entry/settings_changes`` is not such a table.
        """
        return setting_changes(self.file, self.path)

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
