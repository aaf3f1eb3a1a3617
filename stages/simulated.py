"""A simulated single-axis stage with trapezoidal motion on any clock.

The stage follows the velocity profile a DC-servo controller such as the
Thorlabs KDC101 generates: constant acceleration up to the maximum velocity,
cruise, constant deceleration (a triangle if the move is too short to reach
the maximum velocity), then a short settle time. ``move_to`` only records the
trajectory; positions are evaluated from it at the clock's current time, so
on a virtual clock nothing ever waits in wall time.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from stages.interface import Clock, StageError, TravelLimitError


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
        ``clock.sleep`` (instant on a virtual clock).
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
        self._check_travel(start_um)
        self._listeners: list[Callable[[], None]] = []
        self.homed = False
        # Current trajectory: from _p0_um at _t0_s to _p1_um, ending at _t_end_s.
        self._p0_um = float(start_um)
        self._p1_um = float(start_um)
        self._t0_s = clock.now_s()
        self._t_end_s = self._t0_s
        self._t_acc_s = 0.0
        self._t_cruise_end_s = 0.0
        self._v_peak_um_per_s = 0.0
        self._dir = 1.0
        self._settled_at_s = self._t0_s

    # ----------------------------------------------------------------- helpers
    @property
    def travel_um(self) -> tuple[float, float]:
        """Soft travel limits ``(min_um, max_um)``."""
        return self._travel_um

    @property
    def target_um(self) -> float:
        """Target of the current (or last) move."""
        return self._p1_um

    @property
    def move_end_s(self) -> float:
        """Clock time at which the current trajectory ends (settle excluded)."""
        return self._t_end_s

    @property
    def settled_at_s(self) -> float:
        """Clock time at which the axis counts as settled (move end + settle)."""
        return self._settled_at_s

    def _check_travel(self, position_um: float) -> None:
        lo, hi = self._travel_um
        if not lo <= position_um <= hi:
            raise TravelLimitError(
                f"{self.name}: {position_um!r} um is outside travel [{lo:g}, {hi:g}] um"
            )

    def add_move_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` right before any new move replaces the trajectory.

        The simulated lock-in uses this to integrate its filter up to "now"
        along the old trajectory.
        """
        self._listeners.append(callback)

    def _start_move(self, target_um: float) -> None:
        for callback in self._listeners:
            callback()
        now = self._clock.now_s()
        p0 = self.position_at(now)
        dist = target_um - p0
        d = abs(dist)
        v = self.dynamics.velocity_um_per_s
        a = self.dynamics.acceleration_um_per_s2
        if d * a <= v * v:
            t_acc = math.sqrt(d / a)
            v_peak = a * t_acc
            t_cruise = 0.0
        else:
            t_acc = v / a
            v_peak = v
            t_cruise = (d - v * t_acc) / v
        self._p0_um = p0
        self._p1_um = float(target_um)
        self._dir = 1.0 if dist >= 0.0 else -1.0
        self._t0_s = now
        self._t_acc_s = t_acc
        self._v_peak_um_per_s = v_peak
        self._t_cruise_end_s = now + t_acc + t_cruise
        self._t_end_s = now + 2.0 * t_acc + t_cruise
        self._settled_at_s = self._t_end_s + self.dynamics.settle_s

    # --------------------------------------------------------------- interface
    def move_to(self, position_um: float) -> None:
        """Start an absolute move to ``position_um`` and return at once.

        A move to the current target is a no-op (the settle timer is not
        restarted).

        Raises
        ------
        TravelLimitError
            If ``position_um`` is outside :attr:`travel_um` (nothing changes).
        """
        self._check_travel(position_um)
        if position_um == self._p1_um:
            return
        self._start_move(position_um)

    def position_at(self, t_s: float) -> float:
        """Exact (unquantised) trajectory position at clock time ``t_s``, um.

        Valid for ``t_s`` at or after the start of the current move; earlier
        times return the move's start position.
        """
        if t_s >= self._t_end_s:
            return self._p1_um
        tau = t_s - self._t0_s
        if tau <= 0.0:
            return self._p0_um
        a = self.dynamics.acceleration_um_per_s2
        t_acc = self._t_acc_s
        if tau <= t_acc:
            s = 0.5 * a * tau * tau
        elif t_s <= self._t_cruise_end_s:
            s = 0.5 * a * t_acc * t_acc + self._v_peak_um_per_s * (tau - t_acc)
        else:
            rem = self._t_end_s - t_s
            return self._p1_um - self._dir * 0.5 * a * rem * rem
        return self._p0_um + self._dir * s

    def position_um(self) -> float:
        """Encoder read-back now: trajectory position rounded to the encoder step."""
        enc = self.dynamics.encoder_um
        return round(self.position_at(self._clock.now_s()) / enc) * enc

    def is_moving(self) -> bool:
        """True while the axis is moving or settling."""
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
            return
        if dt > timeout_s:
            self._clock.sleep(max(timeout_s, 0.0))
            raise StageError(
                f"{self.name}: not settled within {timeout_s:g} s "
                f"({dt:.3f} s still needed to reach {self._p1_um:g} um)"
            )
        self._clock.sleep(dt)

    def home(self) -> None:
        """Move to the travel minimum (blocking, advances the clock) and mark homed."""
        target = self._travel_um[0]
        if target != self._p1_um or self.is_moving():
            self._start_move(target)
        self._clock.sleep(max(self._settled_at_s - self._clock.now_s(), 0.0))
        self.homed = True

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
            f"SimulatedStage(name={self.name!r}, target_um={self._p1_um!r}, "
            f"travel_um={self._travel_um!r})"
        )
