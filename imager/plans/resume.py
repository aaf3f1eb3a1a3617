"""Resuming a stopped scan: what the plan needs from its file, and the steps that replay it.

A stopped scan continues in its own file from its first missing point. Before
that, every setting the engine changed while measuring the points done (a
re-ranged lock-in ...) is applied again, in order, and the last two points
done are replayed: each is put back (stage position, pattern), the stage
settles and the lab catches up with the lab time of its reading
(:class:`~imager.plans.steps.CatchUp`). On the simulated lab the resumed
points then equal an uninterrupted scan's to ~1e-15 V.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from imager.plans.steps import CatchUp, Restore, WaitSettled

Plan = Generator[Any, Any, Any]
"""A plan: a generator of steps (:mod:`imager.plans.steps`) that receives their replies."""


@dataclass(frozen=True)
class ResumeFrom:
    """Where a stopped scan's file left off (from the file sink's reopened writer).

    Attributes
    ----------
    first_missing : int
        Plan index to measure next.
    points_done : int
        Points already in the file.
    lab_start_s : float
        Lab time at which the scan first opened.
    changes : sequence of SettingChange
        Setting changes to apply again, in order.
    recent_done : sequence of records
        The last (up to two) ``/entry/scan/points`` records before ``first_missing``.
    where : str
        The file, for error messages.
    """

    first_missing: int
    points_done: int
    lab_start_s: float
    changes: Sequence[Any]
    recent_done: Sequence[Any]
    where: str = "the scan file"
    previous_blocks: Sequence[Any] = ()
    """Scans written in blocks (fly lines, runs of patterns): the ``/entry/lines`` rows of
    the (up to two) blocks before the first incomplete one, oldest first."""
    state: Mapping[str, Any] = field(default_factory=dict)
    """What the kind's writer keeps for its plan (an adaptive scan: the coefficients
    chosen so far and the readings)."""

    def replay(self, put_back: Callable[[Any], tuple]) -> Plan:
        """Restore the settings, then replay the recent points (``put_back(record)``
        gives the steps that re-create a point's conditions)."""
        yield Restore(self.changes, self.where)
        for record in self.recent_done:
            yield from put_back(record)
            yield WaitSettled()
            yield CatchUp(self.lab_start_s + float(record["t_lab_s"]))

    def open_args(self) -> dict[str, Any]:
        """The :class:`~imager.plans.steps.Open` arguments of the resumed run."""
        return {"points_done": self.points_done, "lab_start_s": self.lab_start_s}
