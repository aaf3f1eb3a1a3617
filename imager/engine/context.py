"""What one run carries (:class:`ScanContext`) and what it tells its sinks.

Sinks subscribe to a run: the file writer, the progress bar, a live image, an
event log. A sink is any object with some of these methods (:class:`Sink`
gives them all as no-ops):

``open(run)``            the run starts (:class:`RunStart`): create the file, show a bar
``point(event)``         one reading (:class:`PointEvent`), in plan order
``log_event(kind, message, index, t_lab_s)``   a fault handled, a pause, a stop
``record_setting(device, attribute, value, index, t_lab_s)``   a setting the run changed
``data(name, payload)``  a plan's own document (a calibration sweep row, a fit, a fly line)
``progress(points_done, t_lab_s)``  points completed by such a document
``close(status, error)`` the run ended: ``"success"``, ``"abort"`` or ``"fail"``
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imager.devices.interfaces import LockInReading
from imager.engine.faults import FaultPolicy
from imager.engine.stop import StopRequest

SINK_METHODS = ("open", "point", "log_event", "record_setting", "data", "progress", "close")


class Sink:
    """Base for sinks: every method does nothing; override what you need."""

    def open(self, run: RunStart) -> None:
        """The run starts."""

    def point(self, event: PointEvent) -> None:
        """One reading arrived."""

    def log_event(self, kind: str, message: str, index: int = -1,
                  t_lab_s: float = math.nan) -> None:
        """An event of the run's log."""

    def record_setting(self, device: str, attribute: str, value: Any, index: int = -1,
                       t_lab_s: float = math.nan) -> None:
        """The run changed a setting."""

    def data(self, name: str, payload: Any) -> None:
        """A document of the plan's own."""

    def progress(self, points_done: int, t_lab_s: float) -> None:
        """Points were completed by a document (not one reading each)."""

    def close(self, status: str, error: str) -> None:
        """The run ended."""


@dataclass(frozen=True)
class RunStart:
    """What the sinks learn when a run opens (from the plan's ``Open`` and the lab).

    ``describe`` is the kind's own part (grid, basis, dwell ...); ``instruments``
    and ``lab`` are the devices' and the lab's settings for the file header;
    ``truth_V`` and ``chart`` come from a simulated lab's hooks (else None).
    """

    kind: str
    name: str
    points_total: int
    points_done: int
    lab_start_s: float
    recipe_text: str
    describe: dict
    instruments: dict
    lab: dict
    truth_V: np.ndarray | None = None
    chart: Any = None


@dataclass(slots=True)
class PointEvent:
    """One reading: where it goes in the file (``at``, ``head``), what was read, when;
    ``reference``: the MIR reference channel's reading taken with it (None: no channel)."""

    index: int
    at: tuple | None
    head: tuple
    reading: LockInReading
    x_um: float
    y_um: float
    t_lab_s: float
    t_wall_s: float
    points_done: int
    reference: LockInReading | None = None


@dataclass
class ScanContext:
    """State of one run: the lab and its capabilities, the sinks, the stop request,
    the fault policy, the lab start time and the counters. The fault handling logs
    through it (:meth:`log_event`, :meth:`record_setting`) to every sink."""

    lab: Any
    caps: Any
    sinks: tuple
    policy: FaultPolicy
    stop: StopRequest
    lab_start_s: float = 0.0
    opened: bool = False
    run: RunStart | None = None
    points_done: int = 0
    monitor: Any = None
    stream_start_s: float = 0.0
    finally_steps: list = field(default_factory=list)
    _fanout: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in SINK_METHODS:
            self._fanout[name] = tuple(m for m in (getattr(s, name, None) for s in self.sinks)
                                       if m is not None)

    def emit(self, name: str, *args: Any) -> None:
        """Call ``name(*args)`` on every sink that has it."""
        for method in self._fanout[name]:
            method(*args)

    def lab_time_s(self) -> float:
        """Lab seconds since the run opened."""
        return self.lab.clock.now_s() - self.lab_start_s

    def log_event(self, kind: str, message: str, index: int = -1,
                  t_lab_s: float = math.nan) -> None:
        for method in self._fanout["log_event"]:
            method(kind, message, index, t_lab_s)

    def record_setting(self, device: str, attribute: str, value: Any, index: int = -1,
                       t_lab_s: float = math.nan) -> None:
        for method in self._fanout["record_setting"]:
            method(device, attribute, value, index, t_lab_s)


@dataclass
class RunResult:
    """How a run ended: ``status`` (success, abort, fail), the stop or error text, the
    points done, lab and wall time, the noise-free truth (simulated labs) and what
    the plan returned (``value``; None when it was stopped)."""

    status: str
    error: str
    points_done: int
    lab_start_s: float
    lab_time_s: float
    wall_time_s: float
    truth_V: np.ndarray | None = None
    value: Any = None
