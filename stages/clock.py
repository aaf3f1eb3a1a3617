"""The wall clock: real time for drivers and wire-level emulators."""

from __future__ import annotations

import time


class WallClock:
    """Real time as a lab clock, satisfying :class:`stages.interface.Clock`.

    ``now_s()`` is :func:`time.monotonic` minus the value at construction
    (plus ``start_s``): it never jumps with the system clock. ``sleep`` blocks
    for real. The APT and lock-in emulators drive their simulated devices on
    this clock, so emulated moves and settling take as long in wall time as
    the simulation says.

    Parameters
    ----------
    start_s : float
        Reading of the clock at construction.
    """

    __slots__ = ("_t0",)

    def __init__(self, start_s: float = 0.0) -> None:
        self._t0 = time.monotonic() - float(start_s)

    def now_s(self) -> float:
        """Seconds since construction (plus ``start_s``)."""
        return time.monotonic() - self._t0

    def sleep(self, dt_s: float) -> None:
        """Block for ``dt_s`` seconds of wall time (negative values raise ValueError)."""
        if not dt_s >= 0.0:
            raise ValueError(f"sleep: dt_s must be >= 0, got {dt_s!r}")
        time.sleep(dt_s)

    def __repr__(self) -> str:
        return f"WallClock(now_s={self.now_s():.6f})"
