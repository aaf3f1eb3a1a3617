"""The steps a plan yields: what to do, never how. :func:`imager.engine.run_plan` does it.

A plan is a generator of these small records (like the messages a bluesky
plan yields to its RunEngine). The engine answers some of them: ``x = yield
Get("pump", "power_mW")`` gives the value, ``reading = yield Read(...)`` the
lock-in reading. Devices are named by the lab attribute that holds them
(``"stage"``, ``"lockin"``, ``"source"``, ``"pump"``, ``"projector"``,
``"temperature"``, ...).

Step                 What the engine does
-------------------  ------------------------------------------------------------
``Configure``        applies a recipe's instrument settings (one-line errors)
``CheckTravel``      refuses a stage position outside the travel, before anything moves
``Move``             commands the stage (an axis already there is not commanded)
``WaitSettled``      waits until the stage reports it has settled
``Set`` / ``Get``    sets / reads a device attribute (``record=True``: logged in the file,
                     so a resumed scan sets it again)
``Call``             calls a device method, returns its result (photometer, recorder ...)
``Dwell``            lets lab time pass (the lock-in settles)
``BeginPoint``       starts point ``index`` (the simulated lab seeds its noise)
``Open``             opens the run: sinks create the file, the progress bar appears
``Read``             reads the lock-in through the fault policy; emits a point
``Emit``             hands a plan's own document (a fit, a sweep row) to the sinks
``Checkpoint``       ends the plan here if a stop was requested (file marked ``abort``)
``Restore``          applies setting changes recorded in a stopped scan (resume)
``CatchUp``          brings the lab to where a stopped scan was at a lab time (resume)
``Finally``          registers steps the engine runs when the plan ends, however it ends
``Now``              replies the lab clock's time (absolute, s)
``MeasurePower``     reads the MIR power meter, makes it the power watch's reference
``StartStream``      starts the lock-in's buffer (fixed rate, or one sample per trigger)
``StopStream``       stops it; replies the samples recorded (``StreamData``, lab times)
``Track``            waits for the stage to settle, polling its position; replies the
                     timestamped read-backs (fly scans)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Configure:
    """Apply a validated recipe's instrument settings (``imager.lab.apply_settings``)."""

    recipe: Any


@dataclass(frozen=True, slots=True)
class CheckTravel:
    """Refuse (``StageError``) a position outside the stage's travel."""

    x_um: float
    y_um: float


@dataclass(frozen=True, slots=True)
class Move:
    """Command the stage to ``(x_um, y_um)``; follow with :class:`WaitSettled`."""

    x_um: float
    y_um: float


@dataclass(frozen=True, slots=True)
class WaitSettled:
    """Wait until the stage has settled; replies ``None``."""


@dataclass(frozen=True, slots=True)
class Position:
    """Replies the stage's measured position ``(x_um, y_um)`` (encoders)."""


@dataclass(frozen=True, slots=True)
class Set:
    """``lab.<device>.<attribute> = value``; replies the value the device reports.

    ``record``: store the change in the scan file's settings log
    (``/entry/settings_changes``), so that a resumed scan applies it again.
    """

    device: str
    attribute: str
    value: Any
    record: bool = False


@dataclass(frozen=True, slots=True)
class Get:
    """Replies ``lab.<device>.<attribute>``."""

    device: str
    attribute: str


@dataclass(frozen=True, slots=True)
class Call:
    """Replies ``lab.<device>.<method>(*args, **kwargs)``; ``optional``: a device
    without the method is skipped (replies ``None``)."""

    device: str
    method: str
    args: tuple = ()
    optional: bool = False
    kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Dwell:
    """Let ``seconds`` of lab time pass (``lab.clock.sleep``)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class BeginPoint:
    """Point ``index`` starts: a simulated lab seeds its per-point noise (hardware: nothing)."""

    index: int


@dataclass(frozen=True, slots=True)
class Open:
    """Open the run: the engine starts the lab clock of the scan and tells the sinks;
    replies the scan's lab start time (absolute lab clock, s).

    Parameters
    ----------
    kind : str
        The file kind (``"raster"``, ``"single_pixel"``, ``"calibration"``): which
        layout of :mod:`reconstruction.schema` the file sink writes.
    points_total : int
        Readings the plan will emit (progress bar, file tables).
    describe : mapping
        What the kind's file needs besides the lab (grid, basis, dwell ...).
    recipe_text : str
        The recipe as given, stored verbatim.
    name : str
        Shown in front of the progress bar.
    truth : callable, optional
        ``truth(sim) -> ndarray``: the noise-free expected signal, asked of a
        simulated lab's hooks (:class:`imager.lab.SimHooks`); hardware: none.
    points_done, lab_start_s
        For a resumed scan: points already in the file and its lab start time.
    """

    kind: str
    points_total: int
    describe: dict = field(default_factory=dict)
    recipe_text: str = ""
    name: str = "scan"
    truth: Callable[[Any], Any] | None = None
    points_done: int = 0
    lab_start_s: float | None = None


@dataclass(frozen=True, slots=True)
class Read:
    """Read the lock-in for point ``index``; replies the :class:`LockInReading`.

    Parameters
    ----------
    index : int
        Plan index of the point (event log, noise seed, file row).
    settle_s : float
        Lab time to wait before measuring again after a fault (re-range, relock).
    at : tuple of int, optional
        Where the reading goes in the file's signal array (and a live image);
        ``None``: the reading is not a row of the points table (calibration).
    head : tuple, optional
        The kind's leading fields of the points record (``(index, ix, iy, x_set,
        y_set)`` for a raster); the engine appends position, reading and times.
    position_um : (x, y), optional
        The stage position to record; default: read from the stage after the reading.
    checked : bool
        Ride out faults with the fault policy (re-range, retries, relock, MIR
        power); ``False``: one plain read.
    """

    index: int
    settle_s: float = 0.0
    at: tuple | None = None
    head: tuple = ()
    position_um: tuple[float, float] | None = None
    checked: bool = True


@dataclass(frozen=True, slots=True)
class Emit:
    """Hand the sinks a document of the plan's own (``sink.data(name, payload)``).

    ``points``: readings the document completes (a fly-scan line's pixels); they
    count as done points (``sink.progress(points_done, t_lab_s)``).
    """

    name: str
    payload: Any = None
    points: int = 0


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """If a stop was requested, the plan ends here (the run ends as ``abort``)."""


@dataclass(frozen=True, slots=True)
class Restore:
    """Apply recorded setting changes (``SettingChange``) in order, before a resume."""

    changes: Sequence[Any]
    where: str = "the scan file"


@dataclass(frozen=True, slots=True)
class CatchUp:
    """Resume: wait until the lab is where a stopped scan was at absolute lab time
    ``lab_time_s`` (a simulated clock jumps there; real time waits for the lock-in)."""

    lab_time_s: float


@dataclass(frozen=True, slots=True)
class Finally:
    """Steps to run when the plan ends, however it ends (best effort, in order)."""

    steps: tuple


@dataclass(frozen=True, slots=True)
class Now:
    """Replies ``lab.clock.now_s()`` (absolute lab time, s)."""


@dataclass(frozen=True, slots=True)
class MeasurePower:
    """Read the lab's MIR power meter (corrected for the source's wavelength) and make it
    the reference the power watch compares with (the power changes when the source
    tunes); replies the power in mW, NaN for a lab without a meter."""


@dataclass(frozen=True, slots=True)
class StartStream:
    """Clear the lock-in's buffer and record X, Y at ``rate_Hz`` (one of its
    ``stream_rates_Hz``), or with ``None`` one sample per trigger pulse."""

    rate_Hz: float | None


@dataclass(frozen=True, slots=True)
class StopStream:
    """Stop the buffer; replies every sample recorded since the start (``StreamData``)."""


@dataclass(frozen=True, slots=True)
class Track:
    """Wait until the stage has settled, reading its position every ``poll_s`` of lab
    time (a controller's status rate, ~10 Hz); replies ``(t_s, x_um, y_um)`` arrays."""

    poll_s: float = 0.1


STEP_TYPES = (Configure, CheckTravel, Move, WaitSettled, Position, Set, Get, Call, Dwell,
              BeginPoint, Open, Read, Emit, Checkpoint, Restore, CatchUp, Finally, Now, StartStream,
              StopStream, Track, MeasurePower)
