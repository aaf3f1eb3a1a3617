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


@runtime_checkable
class FlyStage(Stage, Protocol):
    """A :class:`Stage` for fly scans: cruise velocity, velocity moves, stops, position triggers.

    Implemented by :class:`~stages.simulated.SimulatedStage` and
    :class:`~stages.apt.AptStage` (position triggers: K-Cubes only).
    """

    max_velocity_um_per_s: float
    velocity_um_per_s: float

    def move_at_velocity(self, direction: int | str) -> None:
        """Run at ``velocity_um_per_s`` (+1/"forward" or -1/"reverse") until stopped."""
        ...

    def stop(self, immediate: bool = False) -> None:
        """Stop: decelerate at the profile's acceleration, or at once if ``immediate``."""
        ...

    def position_sample(self) -> tuple[float, float]:
        """``(position_um, age_s)``: the latest read-back and how long ago the controller
        reported it (a status update arrives ~10 times a second on APT controllers)."""
        ...

    def configure_position_triggers(self, start_um: float, interval_um: float, count: int,
                                    pulse_width_s: float = 1e-5, *,
                                    direction: str = "both") -> tuple[float, ...]:
        """Pulse the trigger output where the axis crosses ``start_um + k * interval_um``."""
        ...
