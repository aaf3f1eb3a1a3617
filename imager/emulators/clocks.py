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

from stages.clock import WallClock

__all__ = ["VirtualClockFollower", "WallClock"]


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
