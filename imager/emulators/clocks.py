"""The clock of a simulated backend behind an emulator: wall time.

A wire-level emulator answers real clients, which wait in real (wall) time, so
the simulated lock-in behind it must see wall time too: give it a
:class:`WallClock` (``now_s`` is seconds since the clock was made, ``sleep``
really sleeps) instead of a ``VirtualClock``, as
:func:`imager.emulators.bench.start_emulated_bench` does. (An emulator also
takes a ``before_command`` hook, called before each command line, for a backend
kept on a clock of its own.)
"""

from __future__ import annotations

from stages.clock import WallClock

__all__ = ["WallClock"]
