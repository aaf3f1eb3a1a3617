"""The wall clock: real time for drivers and wire-level emulators."""

from __future__ import annotations

import time


class WallClock:
    """Real time, satisfying :class:`stages.interface.Clock`.

    ``now_s`` is :func:`time.monotonic` (never jumps with the system clock) and
    ``sleep`` is :func:`time.sleep`. The APT emulator drives its
    :class:`~stages.simulated.SimulatedStage` axes on this clock, so emulated
    moves take as long in wall time as the simulated trajectory says.
    """

    __slots__ = ()

    def now_s(self) -> float:
        """Seconds since an arbitrary origin (monotonic)."""
        return time.monotonic()

    def sleep(self, dt_s: float) -> None:
        """Block for ``dt_s`` seconds (negative values sleep 0 s)."""
        if dt_s > 0.0:
            time.sleep(dt_s)

    def __repr__(self) -> str:
        return "WallClock()"
