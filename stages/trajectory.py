"""Piecewise constant-acceleration trajectories of one axis, and when they cross positions.

A :class:`Trajectory` is what a servo controller's profile generator produces
for one command: from rest at ``start_um`` at ``start_s``, a few segments of
constant acceleration (accelerate, cruise, decelerate; or run at constant
velocity up to a travel limit; or decelerate from the current velocity for a
profiled stop), then rest at ``end_um`` from ``end_s`` on. Every trajectory
built here moves in one direction only, so each position is crossed at most
once and :meth:`Trajectory.crossing_times_s` can give the exact time of each
crossing when the move starts: a position-triggered output (a K-Cube's
trigger port, a simulated stage's ``trigger_outputs``) is scheduled, never
polled.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Segment:
    """Constant acceleration from ``t0_s`` to ``t1_s``.

    Attributes
    ----------
    t0_s, t1_s : float
        Start and end, clock seconds.
    p0_um : float
        Position at ``t0_s``.
    v0_um_per_s : float
        Velocity at ``t0_s`` (signed).
    a_um_per_s2 : float
        Acceleration (signed).
    """

    t0_s: float
    t1_s: float
    p0_um: float
    v0_um_per_s: float
    a_um_per_s2: float

    def position(self, t_s: float) -> float:
        """Position at ``t_s`` (extrapolated outside the segment)."""
        dt = t_s - self.t0_s
        return self.p0_um + self.v0_um_per_s * dt + 0.5 * self.a_um_per_s2 * dt * dt

    def velocity(self, t_s: float) -> float:
        """Velocity at ``t_s``."""
        return self.v0_um_per_s + self.a_um_per_s2 * (t_s - self.t0_s)


class Trajectory:
    """Motion of one axis from rest at ``start_um`` (time ``start_s``) to rest at the end.

    Parameters
    ----------
    start_s, start_um : float
        Where and when the motion starts; before ``start_s`` the axis is at ``start_um``.
    segments : iterable of Segment
        Contiguous segments from ``start_s`` on; none means the axis stays at rest.
    end_um : float, optional
        Exact rest position after the last segment (default: where it ends,
        with the rounding of the arithmetic).
    """

    __slots__ = ("start_s", "start_um", "segments", "_t0s", "end_s", "end_um")

    def __init__(self, start_s: float, start_um: float, segments: Iterable[Segment] = (),
                 end_um: float | None = None) -> None:
        self.start_s = float(start_s)
        self.start_um = float(start_um)
        self.segments = tuple(s for s in segments if s.t1_s > s.t0_s)
        self._t0s = [s.t0_s for s in self.segments]
        last = self.segments[-1] if self.segments else None
        self.end_s = last.t1_s if last else self.start_s
        if end_um is not None:
            self.end_um = float(end_um)
        else:
            self.end_um = last.position(last.t1_s) if last else self.start_um

    # ---------------------------------------------------------------- builders
    @classmethod
    def rest(cls, t_s: float, position_um: float) -> Trajectory:
        """At rest at ``position_um``."""
        return cls(t_s, position_um)

    @classmethod
    def point_to_point(cls, t_s: float, p0_um: float, p1_um: float, v_um_per_s: float,
                       a_um_per_s2: float) -> Trajectory:
        """Trapezoidal move from rest to rest (a triangle when ``v`` is never reached)."""
        d = abs(p1_um - p0_um)
        sign = 1.0 if p1_um >= p0_um else -1.0
        if d == 0.0:
            return cls.rest(t_s, p1_um)
        v, a = v_um_per_s, a_um_per_s2
        if d * a <= v * v:
            t_acc, v_peak, t_cruise = math.sqrt(d / a), math.sqrt(d * a), 0.0
        else:
            t_acc, v_peak = v / a, v
            t_cruise = (d - v * t_acc) / v
        t1, t2 = t_s + t_acc, t_s + t_acc + t_cruise
        s1 = 0.5 * a * t_acc * t_acc
        segs = [Segment(t_s, t1, p0_um, 0.0, sign * a),
                Segment(t1, t2, p0_um + sign * s1, sign * v_peak, 0.0),
                Segment(t2, t2 + t_acc, p1_um - sign * s1, sign * v_peak, -sign * a)]
        return cls(t_s, p0_um, segs, end_um=p1_um)

    @classmethod
    def run_to_limit(cls, t_s: float, p0_um: float, limit_um: float, v_um_per_s: float,
                     a_um_per_s2: float) -> Trajectory:
        """Accelerate towards ``limit_um``, cruise at ``v`` and stop there at once.

        A velocity move: nothing but a stop command or the travel limit (its
        limit switch) ends it, so it does not slow down before the limit.
        """
        d = abs(limit_um - p0_um)
        if d == 0.0:
            return cls.rest(t_s, p0_um)
        sign = 1.0 if limit_um >= p0_um else -1.0
        v, a = v_um_per_s, a_um_per_s2
        t_acc = min(v / a, math.sqrt(2.0 * d / a))
        v_top = a * t_acc
        s_acc = 0.5 * a * t_acc * t_acc
        t1 = t_s + t_acc
        segs = [Segment(t_s, t1, p0_um, 0.0, sign * a)]
        if d > s_acc:
            segs.append(Segment(t1, t1 + (d - s_acc) / v_top, p0_um + sign * s_acc,
                                sign * v_top, 0.0))
        return cls(t_s, p0_um, segs, end_um=limit_um)

    def stopping(self, t_s: float, a_um_per_s2: float) -> Trajectory:
        """A profiled stop: from this trajectory at ``t_s``, decelerate at ``a`` to rest."""
        p, v = self.position_at(t_s), self.velocity_at(t_s)
        seg = self._segment(t_s)
        if v == 0.0 or seg is None:
            return self.rest(t_s, p)
        if seg.a_um_per_s2 * v < 0.0 and abs(seg.a_um_per_s2) >= a_um_per_s2:
            # already decelerating at least as hard: the rest of the profile is the stop
            i = self.segments.index(seg)
            rest = [Segment(t_s, seg.t1_s, p, v, seg.a_um_per_s2), *self.segments[i + 1:]]
            return Trajectory(t_s, p, rest, end_um=self.end_um)
        return Trajectory(t_s, p, [Segment(t_s, t_s + abs(v) / a_um_per_s2, p, v,
                                           -math.copysign(a_um_per_s2, v))])

    # ----------------------------------------------------------------- queries
    def _segment(self, t_s: float) -> Segment | None:
        if not self.segments or t_s <= self.start_s or t_s >= self.end_s:
            return None
        return self.segments[max(bisect.bisect_right(self._t0s, t_s) - 1, 0)]

    def position_at(self, t_s: float) -> float:
        """Exact position at clock time ``t_s``, um."""
        if t_s >= self.end_s:
            return self.end_um
        seg = self._segment(t_s)
        return self.start_um if seg is None else seg.position(t_s)

    def velocity_at(self, t_s: float) -> float:
        """Velocity at clock time ``t_s``, um/s (0 outside the motion)."""
        seg = self._segment(t_s)
        return 0.0 if seg is None else seg.velocity(t_s)

    @property
    def direction(self) -> int:
        """+1 moving towards larger positions, -1 towards smaller, 0 at rest."""
        if self.end_um > self.start_um:
            return 1
        return -1 if self.end_um < self.start_um else 0

    def crossing_times_s(self, positions_um: Iterable[float]) -> list[tuple[float, float]]:
        """``(t_s, position_um)`` of every position this trajectory crosses, in time order.

        A position counts when it lies beyond the start, in the direction of
        motion, and not beyond the end (the end position itself counts): the
        axis passes or reaches it. Positions behind the start, or in a
        trajectory at rest, are never crossed.
        """
        d = self.direction
        if d == 0:
            return []
        span = d * (self.end_um - self.start_um)
        tol = 1e-9 * max(1.0, abs(self.end_um), abs(self.start_um))
        seg_s = [d * (s.p0_um - self.start_um) for s in self.segments]
        out = []
        for x in positions_um:
            s = d * (x - self.start_um)
            if not (0.0 < s <= span + tol):
                continue
            i = max(bisect.bisect_left(seg_s, s) - 1, 0)
            seg = self.segments[i]
            delta = max(s - seg_s[i], 0.0)
            v0, a = d * seg.v0_um_per_s, d * seg.a_um_per_s2
            denom = v0 + math.sqrt(max(v0 * v0 + 2.0 * a * delta, 0.0))
            dt = 2.0 * delta / denom if denom > 0.0 else 0.0
            out.append((float(min(seg.t0_s + dt, seg.t1_s)), float(x)))
        out.sort()
        return out

    def __repr__(self) -> str:
        return (f"Trajectory({self.start_um:g} um at {self.start_s:g} s -> {self.end_um:g} um "
                f"at {self.end_s:g} s, {len(self.segments)} segments)")
