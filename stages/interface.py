"""The single-axis stage interface every motion driver implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


class StageError(RuntimeError):
    """A stage could not do what was asked (motion error, timeout, not homed)."""


class TravelLimitError(StageError, ValueError):
    """A commanded position lies outside the configured soft travel limits."""


@runtime_checkable
class Clock(Protocol):
    """Where time comes from: the wall clock on hardware, a virtual one in the twin."""

    def now_s(self) -> float:
        """Seconds since an arbitrary origin."""
        ...

    def sleep(self, dt_s: float) -> None:
        """Let ``dt_s`` seconds pass."""
        ...


@runtime_checkable
class Stage(Protocol):
    """One linear axis, positions in micrometres.

    ``move_to`` starts a move and returns at once; ``wait_settled`` blocks
    until the axis has arrived and settled. Positions outside ``travel_um``
    raise :class:`TravelLimitError` before anything moves.
    """

    name: str

    @property
    def travel_um(self) -> tuple[float, float]:
        """Soft travel limits ``(min_um, max_um)``."""
        ...

    def move_to(self, position_um: float) -> None:
        """Start an absolute move to ``position_um``."""
        ...

    def position_um(self) -> float:
        """Read-back position now."""
        ...

    def is_moving(self) -> bool:
        """True while the axis is moving or settling."""
        ...

    def wait_settled(self, timeout_s: float = 60.0) -> None:
        """Block until the move (and settle time) is over; raise StageError on timeout."""
        ...

    def home(self) -> None:
        """Run the homing sequence (blocking). Only ever on explicit request."""
        ...

    def settings(self) -> dict[str, float | int | str | bool]:
        """Every setting worth recording in a scan file."""
        ...
