"""A simulated single-axis stage with trapezoidal motion on any clock.

The stage follows the velocity profile a DC-servo controller such as the
Thorlabs KDC101 generates: constant acceleration up to the maximum velocity,
cruise, constant deceleration (a triangle if the move is too short to reach
the maximum velocity), then a short settle time. ``move_to`` only records the
trajectory (a :class:`~stages.trajectory.Trajectory`); positions are evaluated
from it at the clock's current time, so on a virtual clock nothing ever waits
in wall time. A velocity move (:meth:`SimulatedStage.move_at_velocity`) runs to
a travel limit unless :meth:`SimulatedStage.stop` ends it; position triggers
(:meth:`SimulatedStage.configure_position_triggers`) fire at the crossing times
the trajectory gives.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from stages.interface import Clock, StageError, TravelLimitError
from stages.position_triggers import TriggerSchedule
from stages.trajectory import Trajectory


@dataclass
class StageDynamics:
    """Motion parameters of one axis.

    Attributes
    ----------
    velocity_um_per_s : float
        Maximum (cruise) velocity. 2.4 mm/s is the specified maximum velocity of
        the Thorlabs MTS25-Z8 stage; the Z8-series actuator manual quotes
        2.6 mm/s and recommends <= 2.3 mm/s for a fully controlled profile.
    acceleration_um_per_s2 : float
        Acceleration and deceleration. 1.5 mm/s^2 is the controller's default
        for Z8-series actuators (Thorlabs APT/Kinesis settings for the Z825B;
        typical value, not a measured one).
    settle_s : float
        Extra time after the trajectory ends before the axis counts as settled
        (servo ring-down). Chosen: 50 ms, a few periods of the KDC101 PID loop's
        small-move response.
    encoder_um : float
        Read-back quantum. Z8-series actuators: 512 encoder counts per motor
        revolution x 67.49016:1 gearhead on a 1.0 mm pitch lead screw =
        34554.96 counts/mm (Thorlabs APT communications protocol and Kinesis; the
        nominal "67:1, 34304 counts/mm" of older documents is 0.73 % off), the
        same table as ``stages.apt.models``.
    """

    velocity_um_per_s: float = 2400.0
    acceleration_um_per_s2: float = 1500.0
    settle_s: float = 0.05
    encoder_um: float = 1.0 / 34.55496

    def __post_init__(self) -> None:
        for name in ("velocity_um_per_s", "acceleration_um_per_s2", "encoder_um"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f"StageDynamics.{name} must be > 0, got {value!r}")
        if not (math.isfinite(self.settle_s) and self.settle_s >= 0.0):
            raise ValueError(f"StageDynamics.settle_s must be >= 0, got {self.settle_s!r}")

    def move_duration_s(self, distance_um: float) -> float:
        """Duration of a move of ``distance_um`` (from rest to rest), settle excluded."""
        d = abs(distance_um)
        v = self.velocity_um_per_s
        a = self.acceleration_um_per_s2
        if d * a <= v * v:  # triangular profile: never reaches v
            return 2.0 * math.sqrt(d / a)
        return d / v + v / a


class SimulatedStage:
    """One simulated linear axis implementing :class:`stages.interface.Stage`.

    Parameters
    ----------
    name : str
        Axis name, e.g. ``"stage_x"``.
    clock : Clock
        Where time comes from; :meth:`wait_settled` and :meth:`home` call
        ``clock.sleep`` (instant on a virtual clock). A clock with
        ``call_at(t_s, callback)`` (see Notes) gets the trigger crossings.
    travel_um : tuple of float, optional
        Soft travel limits ``(min_um, max_um)``; default the 25 mm of a Z825B.
    dynamics : StageDynamics, optional
        Velocity, acceleration, settle time and encoder step.
    start_um : float, optional
        Initial position (the axis starts at rest, not homed).

    Notes
    -----
    A move commanded while the axis is still moving starts from the current
    position as if the axis had stopped there (the velocity is not carried
    over); the scan engine always waits for the axis to settle first.

    Position triggers fire lazily: the crossings of a move are known when it
    starts (:meth:`trigger_times_s`), and the callbacks of those already
    passed run, in order and with their exact times, whenever the stage is
    next asked anything (position, is_moving, wait_settled, a new move) or
    :meth:`fire_due_triggers` is called. A clock offering ``call_at(t_s,
    callback)`` (run ``callback()`` when lab time reaches ``t_s``) has each
    crossing scheduled on it as well, so the callbacks run at their times.
    """

    def __init__(
        self,
        name: str,
        clock: Clock,
        travel_um: tuple[float, float] = (0.0, 25000.0),
        dynamics: StageDynamics | None = None,
        start_um: float = 0.0,
    ) -> None:
        lo, hi = float(travel_um[0]), float(travel_um[1])
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"{name}: travel_um must be finite with min < max, got {travel_um!r}")
        self.name = name
        self._clock = clock
        self._travel_um = (lo, hi)
        self.dynamics = dynamics if dynamics is not None else StageDynamics()
        self.max_velocity_um_per_s = self.dynamics.velocity_um_per_s
        """The fastest profile the axis takes (``velocity_um_per_s`` may be set up to it)."""
        self._check_travel(start_um)
        self._listeners: list[Callable[[], None]] = []
        self.homed = False
        now = clock.now_s()
        self._traj = Trajectory.rest(now, float(start_um))
        self._target_um = float(start_um)
        self._settled_at_s = now
        self._triggers = TriggerSchedule(name, clock)

    # ----------------------------------------------------------------- helpers
    @property
    def travel_um(self) -> tuple[float, float]:
        """Soft travel limits ``(min_um, max_um)``."""
        return self._travel_um

    @property
    def target_um(self) -> float:
        """Target of the current (or last) move."""
        return self._target_um

    @property
    def move_end_s(self) -> float:
        """Clock time at which the current trajectory ends (settle excluded)."""
        return self._traj.end_s

    @property
    def settled_at_s(self) -> float:
        """Clock time at which the axis counts as settled (move end + settle)."""
        return self._settled_at_s

    @property
    def trajectory(self) -> Trajectory:
        """The current (or last) trajectory."""
        return self._traj

    def _check_travel(self, position_um: float) -> None:
        lo, hi = self._travel_um
        if not lo <= position_um <= hi:
            raise TravelLimitError(
                f"{self.name}: {position_um!r} um is outside travel [{lo:g}, {hi:g}] um"
            )

    @property
    def velocity_um_per_s(self) -> float:
        """Cruise velocity of the next moves (the controller's velocity profile)."""
        return self.dynamics.velocity_um_per_s

    @velocity_um_per_s.setter
    def velocity_um_per_s(self, value: float) -> None:
        if not (math.isfinite(value) and 0.0 < value <= self.max_velocity_um_per_s):
            raise ValueError(f"{self.name}: velocity_um_per_s must be in (0, "
                             f"{self.max_velocity_um_per_s:g}] um/s, got {value!r}")
        self.dynamics = replace(self.dynamics, velocity_um_per_s=float(value))

    def add_move_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` right before any new move replaces the trajectory.

        The simulated lock-in uses this to integrate its filter up to "now"
        along the old trajectory.
        """
        self._listeners.append(callback)

    def _begin(self, traj: Trajectory, target_um: float) -> None:
        """Replace the trajectory (listeners first, crossings passed so far fired)."""
        self.fire_due_triggers()
        for callback in self._listeners:
            callback()
        self._traj = traj
        self._target_um = float(target_um)
        self._settled_at_s = traj.end_s + self.dynamics.settle_s
        self._triggers.schedule(traj, traj.start_s)

    def _start_move(self, target_um: float, velocity_um_per_s: float | None = None,
                    acceleration_um_per_s2: float | None = None) -> None:
        now = self._clock.now_s()
        v = self.dynamics.velocity_um_per_s if velocity_um_per_s is None else velocity_um_per_s
        a = (self.dynamics.acceleration_um_per_s2 if acceleration_um_per_s2 is None
             else acceleration_um_per_s2)
        self._begin(Trajectory.point_to_point(now, self.position_at(now), target_um, v, a),
                    target_um)

    # --------------------------------------------------------------- interface
    def move_to(self, position_um: float, *, velocity_um_per_s: float | None = None,
                acceleration_um_per_s2: float | None = None) -> None:
        """Start an absolute move to ``position_um`` and return at once.

        A move to the current target is a no-op (the settle timer is not
        restarted). ``velocity_um_per_s`` / ``acceleration_um_per_s2`` override
        the dynamics for this move only (a controller's jog profile).

        Raises
        ------
        TravelLimitError
            If ``position_um`` is outside :attr:`travel_um` (nothing changes).
        """
        self._check_travel(position_um)
        if position_um == self._target_um:
            return
        self._start_move(position_um, velocity_um_per_s, acceleration_um_per_s2)

    def move_at_velocity(self, direction: int | str, *, velocity_um_per_s: float | None = None,
                         acceleration_um_per_s2: float | None = None) -> None:
        """Run at the cruise velocity towards a travel limit until :meth:`stop` or the limit.

        Parameters
        ----------
        direction : {+1, -1, "forward", "reverse"}
            Towards the travel maximum (+1, "forward") or minimum.
        velocity_um_per_s, acceleration_um_per_s2 : float, optional
            Override the dynamics for this move only.
        """
        sign = _direction_sign(self.name, direction)
        now = self._clock.now_s()
        v = self.dynamics.velocity_um_per_s if velocity_um_per_s is None else velocity_um_per_s
        a = (self.dynamics.acceleration_um_per_s2 if acceleration_um_per_s2 is None
             else acceleration_um_per_s2)
        limit = self._travel_um[1] if sign > 0 else self._travel_um[0]
        self._begin(Trajectory.run_to_limit(now, self.position_at(now), limit, v, a), limit)

    def stop(self, immediate: bool = False) -> None:
        """Stop the axis: decelerate at the profile's acceleration, or at once if ``immediate``.

        Nothing happens if the axis is not moving. The target becomes the stop position.
        """
        now = self._clock.now_s()
        if now >= self._traj.end_s:
            return
        traj = (Trajectory.rest(now, self.position_at(now)) if immediate
                else self._traj.stopping(now, self.dynamics.acceleration_um_per_s2))
        self._begin(traj, traj.end_um)

    def position_at(self, t_s: float) -> float:
        """Exact (unquantised) trajectory position at clock time ``t_s``, um.

        Valid for ``t_s`` at or after the start of the current move; earlier
        times return the move's start position.
        """
        return self._traj.position_at(t_s)

    def velocity_at(self, t_s: float) -> float:
        """Exact velocity at clock time ``t_s``, um/s (same validity as :meth:`position_at`)."""
        return self._traj.velocity_at(t_s)

    def position_um(self) -> float:
        """Encoder read-back now: trajectory position rounded to the encoder step."""
        self.fire_due_triggers()
        enc = self.dynamics.encoder_um
        return round(self.position_at(self._clock.now_s()) / enc) * enc

    def position_sample(self) -> tuple[float, float]:
        """``(position_um, 0.0)``: the encoder read-back now (never stale)."""
        return self.position_um(), 0.0

    def is_moving(self) -> bool:
        """True while the axis is moving or settling."""
        self.fire_due_triggers()
        return self._clock.now_s() < self._settled_at_s

    def wait_settled(self, timeout_s: float = 60.0) -> None:
        """Advance the clock to the end of the move plus the settle time.

        Raises
        ------
        StageError
            If settling would take longer than ``timeout_s``; the clock then
            advances by ``timeout_s`` (the time a real wait would have cost).
        """
        dt = self._settled_at_s - self._clock.now_s()
        if dt <= 0.0:
            self.fire_due_triggers()
            return
        if dt > timeout_s:
            self._clock.sleep(max(timeout_s, 0.0))
            self.fire_due_triggers()
            raise StageError(
                f"{self.name}: not settled within {timeout_s:g} s "
                f"({dt:.3f} s still needed to reach {self._target_um:g} um)"
            )
        self._clock.sleep(dt)
        self.fire_due_triggers()

    def home(self) -> None:
        """Move to the travel minimum (blocking, advances the clock) and mark homed."""
        target = self._travel_um[0]
        if target != self._target_um or self.is_moving():
            self._start_move(target)
        self._clock.sleep(max(self._settled_at_s - self._clock.now_s(), 0.0))
        self.fire_due_triggers()
        self.homed = True

    # --------------------------------------------------------- position triggers
    @property
    def trigger_outputs(self) -> list[Callable[[float], None]]:
        """Callables run as ``callback(t_s)`` at each trigger crossing (append to connect)."""
        return self._triggers.outputs

    def configure_position_triggers(self, start_um: float, interval_um: float, count: int,
                                    pulse_width_s: float = 1e-5, *,
                                    direction: str = "both") -> tuple[float, ...]:
        """Fire :attr:`trigger_outputs` where the axis crosses ``start_um + k * interval_um``.

        Applies at once, to the rest of a move under way too. The signature is
        that of :meth:`stages.apt.AptStage.configure_position_triggers`.

        Parameters
        ----------
        start_um : float
            First trigger position.
        interval_um : float
            Spacing, > 0.
        count : int
            Number of positions, >= 0 (0 turns the triggers off).
        pulse_width_s : float
            Checked like a K-Cube's (1e-6 to 1 s); the callbacks get the crossing time.
        direction : {"both", "forward", "reverse"}
            Which moves fire: towards larger positions, smaller, or both.

        Returns
        -------
        tuple of float
            The trigger positions, um.

        Raises
        ------
        ValueError
            One-line message naming the parameter and its allowed range.
        """
        self._triggers.configure(start_um, interval_um, count, direction, pulse_width_s)
        self._triggers.fire_due()
        self._triggers.schedule(self._traj, self._clock.now_s())
        return self._triggers.positions_um

    def trigger_times_s(self) -> list[float]:
        """Clock times of the current move's trigger crossings (passed or still to come)."""
        return [t for t, _ in self._triggers.crossings]

    def trigger_crossings(self) -> list[tuple[float, float]]:
        """``(t_s, position_um)`` of the current move's trigger crossings, in time order."""
        return list(self._triggers.crossings)

    def fire_due_triggers(self, now_s: float | None = None) -> int:
        """Call :attr:`trigger_outputs` for every crossing up to ``now_s`` not yet fired.

        Returns the number of crossings fired (each callback gets its exact time).
        """
        return self._triggers.fire_due(now_s)

    def settings(self) -> dict[str, float | int | str | bool]:
        """Every setting worth recording in a scan file."""
        d = self.dynamics
        return {
            "kind": "simulated",
            "name": self.name,
            "travel_min_um": self._travel_um[0],
            "travel_max_um": self._travel_um[1],
            "velocity_um_per_s": d.velocity_um_per_s,
            "acceleration_um_per_s2": d.acceleration_um_per_s2,
            "settle_s": d.settle_s,
            "encoder_um": d.encoder_um,
            "homed": self.homed,
        }

    def __repr__(self) -> str:
        return (
            f"SimulatedStage(name={self.name!r}, target_um={self._target_um!r}, "
            f"travel_um={self._travel_um!r})"
        )


def _direction_sign(name: str, direction: int | str) -> int:
    """+1 / -1 from ``+1``, ``-1``, ``"forward"`` or ``"reverse"`` (else ValueError)."""
    if direction in (1, "forward"):
        return 1
    if direction in (-1, "reverse"):
        return -1
    raise ValueError(f"{name}: direction must be +1, -1, 'forward' or 'reverse', "
                     f"got {direction!r}")
