"""Progress bar with points done, an ETA in *lab* time, and the scan's pauses (tqdm).

``tqdm.auto``: a widget in Jupyter, a text line in a terminal. Its sink
(:class:`imager.engine.sinks.ProgressSink`) hands the bar every event of the run's
log (:meth:`LabProgress.on_event`), so a pause (reference unlocked, MIR power
drop) shows on the line with what it waits for, and its end with how long it lasted.
"""

from __future__ import annotations

import math
import sys
from typing import IO

from tqdm.auto import tqdm

PAUSE_KINDS = frozenset({"unlock", "power_drop"})
"""Events that start a pause (the engine waits for the instrument)."""
RESUMED_BY = {"relock": "reference locked again", "power_ok": "MIR power back"}
"""Events that end a pause, and what ended it."""


def format_duration(seconds: float) -> str:
    """``h:mm:ss`` (or ``m:ss`` under an hour)."""
    seconds = max(0.0, float(seconds))
    h, rest = divmod(int(round(seconds)), 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class LabProgress:
    """Progress of a scan; the ETA extrapolates lab time per point.

    Parameters
    ----------
    total : int
        Points in the scan.
    done : int
        Points already done (when resuming).
    enabled : bool
        False gives a silent, near-free object (benchmarks, tests).
    desc : str
        Label in front of the bar (the recipe's name).
    file : text stream, optional
        Where a text bar goes (default: ``sys.stderr``).

    Attributes
    ----------
    note : str
        What the line says besides the counts: ``"PAUSED: ..."`` during a
        pause, ``"resumed after ..."`` after one, the last fault handled
        (re-range, retry), or "" (kept up to date when disabled too).
    """

    REFRESH_EVERY = 64

    def __init__(self, total: int, done: int = 0, enabled: bool = True, desc: str = "scan",
                 file: IO[str] | None = None) -> None:
        self.total = total
        self.start_done = done
        self.note = ""
        self._times = ""
        self._paused_at_s: float | None = None
        self._bar = None
        if enabled:
            self._bar = tqdm(
                total=total, initial=done, desc=desc, unit="pt",
                file=file if file is not None else sys.stderr,
                dynamic_ncols=True, mininterval=0.25,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} pts "
                "[wall {elapsed}{postfix}]",
            )

    @property
    def paused(self) -> bool:
        """True between a pause event and the event that ends it."""
        return self._paused_at_s is not None

    def update(self, done: int, lab_elapsed_s: float) -> None:
        """Record that ``done`` points are complete after ``lab_elapsed_s`` of lab time."""
        bar = self._bar
        if bar is None:
            return
        bar.n = done
        new = done - self.start_done
        if new % self.REFRESH_EVERY == 1 or done == self.total:
            eta = lab_elapsed_s / new * (self.total - done) if new > 0 else 0.0
            self._times = f"lab {format_duration(lab_elapsed_s)}, ETA lab {format_duration(eta)}"
            if not self.paused:
                self.note = ""  # a fault handled is old news after REFRESH_EVERY points
            self._show(refresh=False)
        bar.update(0)

    def on_event(self, kind: str, message: str, index: int = -1,
                 t_lab_s: float = math.nan) -> None:
        """Show an event of the run's log (the engine's ``log_event``, via ProgressSink).

        A pause (``unlock``, ``power_drop`` "pausing") shows ``PAUSED:`` and the
        message (what it waits for, and how long at most) until the event that
        ends it (``relock``, ``power_ok``) shows ``resumed after N s``. Other
        events (re-range, retry) show as they come. The line is redrawn at once.
        """
        if kind in PAUSE_KINDS and "pausing" in message:
            self._paused_at_s = t_lab_s
            self.note = f"PAUSED: {message}"
        elif kind in RESUMED_BY:
            start, self._paused_at_s = self._paused_at_s, None
            waited = t_lab_s - start if start is not None else math.nan
            self.note = (f"resumed after {waited:.1f} s ({RESUMED_BY[kind]})"
                         if math.isfinite(waited) else f"resumed: {message}")
        else:
            if kind in PAUSE_KINDS or kind == "stop":
                self._paused_at_s = None
            where = f" at point {index}" if index >= 0 else ""
            self.note = f"{kind}{where}: {message}"
        if self._bar is not None:
            self._show(refresh=True)

    def _show(self, refresh: bool) -> None:
        parts = [p for p in (self._times, self.note) if p]
        self._bar.set_postfix_str(", ".join(parts), refresh=refresh)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
