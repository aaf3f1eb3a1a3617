"""A virtual clock: lab time that advances only when told to.

The simulated lab runs on this clock so that a scan which "takes" hours of lab
time costs seconds of wall time: ``sleep`` advances the clock at once instead of
waiting.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable


class VirtualClock:
    """Lab time in seconds that advances only through :meth:`sleep` / :meth:`advance_to`.

    Satisfies :class:`stages.interface.Clock`.

    Parameters
    ----------
    start_s : float, optional
        Initial reading of the clock, seconds (default 0).
    """

    __slots__ = ("_t_s", "_due", "_order")

    def __init__(self, start_s: float = 0.0) -> None:
        if not math.isfinite(start_s):
            raise ValueError(f"start_s must be finite, got {start_s!r}")
        self._t_s = float(start_s)
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()

    def call_at(self, t_s: float, callback: Callable[[], None]) -> None:
        """Call ``callback()`` when the clock passes lab time ``t_s`` (at once if it has),
        with :meth:`now_s` reading ``t_s`` during the call: a stage's position triggers
        reach the lock-in's buffer at their crossing times."""
        if t_s <= self._t_s:
            callback()
            return
        heapq.heappush(self._due, (float(t_s), next(self._order), callback))

    def _run_to(self, t_s: float) -> None:
        due = self._due
        while due and due[0][0] <= t_s:
            when, _, callback = heapq.heappop(due)
            self._t_s = max(self._t_s, when)
            callback()
        self._t_s = t_s

    def now_s(self) -> float:
        """Current lab time, seconds."""
        return self._t_s

    def sleep(self, dt_s: float) -> None:
        """Let ``dt_s`` seconds of lab time pass (instantly).

        Raises
        ------
        ValueError
            If ``dt_s`` is negative or not finite.
        """
        if not dt_s >= 0.0 or dt_s == math.inf:
            raise ValueError(f"sleep: dt_s must be finite and >= 0, got {dt_s!r}")
        if self._due:
            self._run_to(self._t_s + dt_s)
        else:
            self._t_s += dt_s

    def advance_to(self, t_s: float) -> None:
        """Set the clock to ``t_s``, which must not lie in the past.

        Raises
        ------
        ValueError
            If ``t_s`` is earlier than :meth:`now_s` or not finite.
        """
        if not math.isfinite(t_s) or t_s < self._t_s:
            raise ValueError(
                f"advance_to: t_s must be finite and >= now ({self._t_s!r} s), got {t_s!r}"
            )
        if self._due:
            self._run_to(float(t_s))
        else:
            self._t_s = float(t_s)

    def __repr__(self) -> str:
        return f"VirtualClock(now_s={self._t_s!r})"
