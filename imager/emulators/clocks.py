"""Clocks that let a simulated backend run in wall time behind an emulator.

A wire-level emulator answers real clients, which wait in real (wall) time, so
the simulated lock-in behind it must see wall time too. Two ways are offered:

* :class:`WallClock` -- give it to the backend instead of a ``VirtualClock``
  (``now_s`` is seconds since the clock was made, ``sleep`` really sleeps).
  This is the default used by the emulators' tests and by
  :func:`imager.emulators.lab.start_emulated_lab`.
* :class:`VirtualClockFollower` -- keep a backend on its ``VirtualClock`` and
  pass the follower as the emulator's ``before_command`` hook: before every
  command line the virtual clock is advanced to the wall time elapsed since the
  follower was made (never backwards; lab time already ahead is kept).
"""

from __future__ import annotations

import time
from typing import Protocol


class WallClock:
    """Wall time as a lab clock: ``now_s() = time.monotonic() - t0``.

    Satisfies :class:`stages.interface.Clock`.

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
        """Block for ``dt_s`` seconds of wall time (negative values raise)."""
        if not dt_s >= 0.0:
            raise ValueError(f"sleep: dt_s must be >= 0, got {dt_s!r}")
        time.sleep(dt_s)

    def __repr__(self) -> str:
        return f"WallClock(now_s={self.now_s():.6f})"


class _AdvanceableClock(Protocol):
    def now_s(self) -> float: ...

    def advance_to(self, t_s: float) -> None: ...


class VirtualClockFollower:
    """Advance a virtual clock to wall time on demand (call the instance).

    Parameters
    ----------
    clock : object with ``now_s()`` and ``advance_to(t_s)``
        Typically :class:`imager.sim.clock.VirtualClock`.
    """

    def __init__(self, clock: _AdvanceableClock) -> None:
        self._clock = clock
        self._t0_wall_s = time.monotonic()
        self._t0_lab_s = clock.now_s()

    def __call__(self) -> None:
        """Move the clock to ``t0_lab + (wall now - wall t0)`` if that is ahead of it."""
        target_s = self._t0_lab_s + (time.monotonic() - self._t0_wall_s)
        if target_s > self._clock.now_s():
            self._clock.advance_to(target_s)
