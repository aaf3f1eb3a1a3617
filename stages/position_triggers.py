"""Position triggers of a simulated axis: scheduled at move start, fired lazily or on a clock.

:class:`TriggerSchedule` holds the trigger positions of one axis and, for its
current :class:`~stages.trajectory.Trajectory`, the exact crossing times. The
callbacks in :attr:`TriggerSchedule.outputs` run once per crossing, in time
order, with the crossing time as argument: whenever :meth:`TriggerSchedule.fire_due`
is called (the simulated stage calls it whenever it is asked anything), and
at the crossing times themselves on a clock that offers ``call_at(t_s, callback)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from stages.interface import Clock
from stages.trajectory import Trajectory

DIRECTIONS = {"both": 0, "forward": 1, "reverse": -1}
#: Pulse widths accepted, s: those of a K-Cube's position triggers (1 us to 1 s).
PULSE_WIDTH_RANGE_S = (1e-6, 1.0)


class TriggerSchedule:
    """Trigger positions of one axis and the crossings of its current trajectory.

    Parameters
    ----------
    name : str
        Axis name (for error messages).
    clock : Clock
        The axis' clock; if it has ``call_at(t_s, callback)`` every crossing is
        scheduled on it.
    """

    def __init__(self, name: str, clock: Clock) -> None:
        self.name = name
        self._clock = clock
        self.outputs: list[Callable[[float], None]] = []
        self.positions_um: tuple[float, ...] = ()
        self.direction = 0  # +1 forward moves only, -1 reverse only, 0 both
        self.crossings: list[tuple[float, float]] = []
        self._fired = 0
        self._generation = 0
        self._call_at = getattr(clock, "call_at", None)

    def configure(self, start_um: float, interval_um: float, count: int,
                  direction: str = "both", pulse_width_s: float = 1e-5) -> None:
        """Trigger positions ``start_um + k * interval_um``, ``k < count`` (validated).

        Raises
        ------
        ValueError
            One-line message naming the parameter and its allowed range.
        """
        if not math.isfinite(start_um):
            raise ValueError(f"{self.name}: start_um must be finite, got {start_um!r}")
        if not (math.isfinite(interval_um) and interval_um > 0.0):
            raise ValueError(f"{self.name}: interval_um must be > 0, got {interval_um!r}")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"{self.name}: count must be an integer >= 0, got {count!r}")
        if direction not in DIRECTIONS:
            raise ValueError(f"{self.name}: direction must be one of "
                             f"{', '.join(DIRECTIONS)}, got {direction!r}")
        lo, hi = PULSE_WIDTH_RANGE_S
        if not (math.isfinite(pulse_width_s) and lo <= pulse_width_s <= hi):
            raise ValueError(f"{self.name}: pulse_width_s must be in [{lo:g}, {hi:g}] s, "
                             f"got {pulse_width_s!r}")
        self.positions_um = tuple(start_um + k * interval_um for k in range(count))
        self.direction = DIRECTIONS[direction]

    def schedule(self, traj: Trajectory, after_s: float) -> None:
        """Crossings of ``traj`` at or after ``after_s`` replace the previous ones."""
        d = traj.direction
        wanted = bool(self.positions_um) and d != 0 and self.direction in (0, d)
        crossings = traj.crossing_times_s(self.positions_um) if wanted else []
        self.crossings = [c for c in crossings if c[0] >= after_s]
        self._fired = 0
        self._generation += 1
        if self._call_at is not None:
            generation = self._generation
            for t_s, _ in self.crossings:
                self._call_at(t_s, lambda g=generation, t=t_s: self._on_clock(g, t))

    def _on_clock(self, generation: int, t_s: float) -> None:
        if generation == self._generation:  # not a crossing of a replaced trajectory
            self.fire_due(t_s)

    def fire_due(self, now_s: float | None = None) -> int:
        """Run the outputs for every crossing up to ``now_s`` (default: now) not yet fired.

        Returns the number of crossings fired; each callback gets the exact crossing time.
        """
        now = self._clock.now_s() if now_s is None else now_s
        n = 0
        while self._fired < len(self.crossings) and self.crossings[self._fired][0] <= now:
            t_s = self.crossings[self._fired][0]
            self._fired += 1  # before the callbacks: they may ask the stage anything
            n += 1
            for callback in list(self.outputs):
                callback(t_s)
        return n
