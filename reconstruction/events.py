"""The event log of a scan file (``/entry/events``): faults, retries, pauses, stops.

The engine appends one record per event as it happens (``t_wall_s``,
``t_lab_s``, point ``index`` or -1, ``kind``, ``message``; see
``docs/scanfile.md``). :func:`load_events` reads it back, e.g. to see what
happened during an unattended scan (``mirimager info`` prints it).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from .hdf5_read import ScanFileError, _text
from .scanfile import read_scan_file
from .schema import (
    EVENT_DTYPE,
    EVENTS,
    SettingChange,
    check_root,
    member,
    setting_changes,
    table_problem,
)

FIELDS = EVENT_DTYPE.names


@dataclass(frozen=True)
class ScanEvent:
    """One event of a scan's log."""

    t_wall_s: float
    t_lab_s: float
    index: int
    kind: str
    message: str


def load_events(path: str | os.PathLike[str]) -> list[ScanEvent]:
    """Every event of a scan file, oldest first (empty if it has no log).

    Raises
    ------
    ScanFileError
        If the file is not a readable scan file or its log is malformed (one line).
    """
    return read_scan_file(path, _read_events)


def load_setting_changes(path: str | os.PathLike[str]) -> list[SettingChange]:
    """The settings the run changed (``/entry/settings_changes``: a re-ranged lock-in, a
    plan's recorded ``Set``), oldest first; empty if none.

    Raises
    ------
    ScanFileError
        If the file is not a readable scan file or the table is malformed (one line).
    """
    return read_scan_file(path, _read_changes)


def _read_changes(f: h5py.File, path: Path) -> list[SettingChange]:
    check_root(f, path)
    return setting_changes(f, path)


def format_change(change: SettingChange) -> str:
    """One line: ``point 64, lab 25.3 s: pump.power_mW = 0.5``."""
    where = f"point {change.index}" if change.index >= 0 else "before the first point"
    return f"{where}, lab {change.t_lab_s:.1f} s: {change.device}.{change.attribute} = " \
           f"{change.value!r}"


def _read_events(f: h5py.File, path: Path) -> list[ScanEvent]:
    check_root(f, path)
    log = member(f, EVENTS, path)
    if log is None:
        return []
    problem = table_problem(log, EVENTS, FIELDS, "an event log")
    if problem is not None:
        raise ScanFileError(f"{path}: {problem}")
    records = log[()]
    return [ScanEvent(float(r["t_wall_s"]), float(r["t_lab_s"]), int(r["index"]),
                      _text(bytes(r["kind"])), _text(bytes(r["message"]))) for r in records]


def summarize_events(events: list[ScanEvent]) -> str:
    """``"3 (overload x2, read_error x1)"``, or ``"none"``."""
    if not events:
        return "none"
    counts = Counter(e.kind for e in events)
    return f"{len(events)} (" + ", ".join(f"{k} x{n}" for k, n in counts.most_common()) + ")"


def format_event(event: ScanEvent) -> str:
    """One line: ``point 59, lab 4.3 s: overload: ...``."""
    where = f"point {event.index}" if event.index >= 0 else "scan"
    when = f"lab {event.t_lab_s:.1f} s" if np.isfinite(event.t_lab_s) else "lab time ?"
    return f"{where}, {when}: {event.kind}: {event.message}"
