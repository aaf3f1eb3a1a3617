"""Simulated stage on the lab's virtual clock: velocity moves, stops and position triggers.

Crossing times are checked against the trapezoid worked out here by hand
(accelerate at a from rest, cruise at v), not against the stage's own formulas.
"""

import math

import pytest

from imager.sim import VirtualClock
from stages import FlyStage, SimulatedStage, StageDynamics
from stages.trajectory import Trajectory

DYN = StageDynamics(velocity_um_per_s=1000.0, acceleration_um_per_s2=4000.0, settle_s=0.05)


def make(start_um=0.0, clock=None):
    clock = clock or VirtualClock()
    return clock, SimulatedStage("stage_x", clock, start_um=start_um, dynamics=DYN)


def crossing_time(s_um, d_um=math.inf, v=DYN.velocity_um_per_s, a=DYN.acceleration_um_per_s2):
    """Time to cover ``s_um`` of a ``d_um`` move from rest to rest (long enough to reach v):
    accelerate at a up to v, cruise, decelerate at a."""
    s_acc = v * v / (2 * a)
    if s_um > d_um - s_acc:
        return d_um / v + v / a - math.sqrt(2 * (d_um - s_um) / a)
    return math.sqrt(2 * s_um / a) if s_um <= s_acc else v / a + (s_um - s_acc) / v


class LazyClock:
    """A virtual clock without ``call_at``: triggers can only fire lazily."""

    def __init__(self) -> None:
        self._clock = VirtualClock()

    def now_s(self) -> float:
        return self._clock.now_s()

    def sleep(self, dt_s: float) -> None:
        self._clock.sleep(dt_s)

    def advance_to(self, t_s: float) -> None:
        self._clock.advance_to(t_s)


def test_on_the_virtual_clock_triggers_fire_at_their_crossing_times():
    clock, stage = make(1000.0)
    seen = []
    stage.trigger_outputs.append(lambda t_s: seen.append((t_s, clock.now_s())))
    stage.configure_position_triggers(1050.0, 100.0, 6)
    stage.move_to(2000.0)
    expected = [crossing_time(50.0 + 100.0 * k) for k in range(6)]
    clock.advance_to(expected[2] + 1e-9)  # nobody asks the stage: the clock fires them
    assert [t for t, _ in seen] == pytest.approx(expected[:3], abs=1e-12)
    assert [now for _, now in seen] == pytest.approx(expected[:3], abs=1e-12)
    stage.wait_settled()
    assert [t for t, _ in seen] == pytest.approx(expected, abs=1e-12)


def test_triggers_fire_at_the_crossing_times_in_order_lazily():
    clock, stage = make(1000.0, LazyClock())
    fired = []
    stage.trigger_outputs.append(fired.append)
    stage.configure_position_triggers(1050.0, 100.0, 6)  # 1050 (accelerating) ... 1550
    clock.sleep(2.0)
    stage.move_to(2000.0)
    expected = [2.0 + crossing_time(50.0 + 100.0 * k) for k in range(6)]
    assert stage.trigger_times_s() == pytest.approx(expected, abs=1e-12)
    assert [p for _, p in stage.trigger_crossings()] == pytest.approx(
        [1050.0 + 100.0 * k for k in range(6)])
    assert fired == []  # nothing has happened yet: the clock has not moved
    clock.advance_to(expected[2] + 1e-9)
    assert fired == []  # lazily: only when the stage is asked
    stage.position_um()
    assert fired == pytest.approx(expected[:3], abs=1e-12)
    stage.wait_settled()
    assert fired == pytest.approx(expected, abs=1e-12)
    stage.move_to(1000.0)  # back: the same positions, last first
    t0 = clock.now_s()
    back = [t0 + crossing_time(2000.0 - p, 1000.0) for p in (1550.0, 1450.0, 1350.0, 1250.0,
                                                              1150.0, 1050.0)]
    stage.wait_settled()
    assert fired[6:] == pytest.approx(back, abs=1e-9)


def test_direction_filter_and_turning_triggers_off():
    clock, stage = make(0.0)
    fired = []
    stage.trigger_outputs.append(fired.append)
    stage.configure_position_triggers(100.0, 10.0, 5, direction="reverse")
    stage.move_to(500.0)
    stage.wait_settled()
    assert fired == [] and stage.trigger_times_s() == []
    stage.move_to(0.0)
    stage.wait_settled()
    assert len(fired) == 5 and fired == sorted(fired)
    stage.configure_position_triggers(100.0, 10.0, 0)
    stage.move_to(500.0)
    stage.wait_settled()
    assert len(fired) == 5


def test_a_stop_cancels_the_crossings_it_no_longer_reaches():
    clock, stage = make(0.0)
    fired = []
    stage.trigger_outputs.append(fired.append)
    stage.configure_position_triggers(100.0, 100.0, 20)  # 100 ... 2000 um
    stage.move_to(5000.0)
    t_stop = crossing_time(1020.0)  # cruising, just past 1000 um
    clock.advance_to(t_stop)
    stage.stop()  # profiled: decelerates over v^2 / 2a = 125 um
    end = stage.target_um
    assert end == pytest.approx(1020.0 + 125.0)
    stage.wait_settled()
    assert len(fired) == 11  # 100 ... 1100 um: the last one during the deceleration
    assert fired[-1] > t_stop
    assert stage.position_um() == pytest.approx(end, abs=DYN.encoder_um)


def test_velocity_move_runs_to_the_limit_at_the_cruise_velocity_and_stops():
    clock, stage = make(1000.0)
    assert isinstance(stage, FlyStage)
    stage.velocity_um_per_s = 500.0
    stage.move_at_velocity("forward")
    clock.advance_to(2.0)
    assert stage.is_moving()
    t_acc = 500.0 / DYN.acceleration_um_per_s2
    assert stage.position_at(2.0) == pytest.approx(1000.0 + 500.0 * (2.0 - t_acc / 2))
    assert stage.velocity_at(2.0) == pytest.approx(500.0)
    stage.stop(immediate=True)
    here = stage.position_um()
    clock.sleep(1.0)
    assert stage.position_um() == here and not stage.is_moving()
    stage.move_at_velocity(-1)
    stage.wait_settled(timeout_s=1e6)
    assert stage.position_um() == 0.0  # ran into the travel minimum
    with pytest.raises(ValueError, match="stage_x: direction must be"):
        stage.move_at_velocity(0)


class EventClock(VirtualClock):
    """A virtual clock with ``call_at``: sleeping runs each due callback at its own time."""

    __slots__ = ("_events",)

    def __init__(self) -> None:
        super().__init__()
        self._events = []

    def call_at(self, t_s, callback):
        self._events.append((t_s, callback))

    def sleep(self, dt_s):
        end = self.now_s() + dt_s
        while due := sorted((e for e in self._events if e[0] <= end), key=lambda e: e[0]):
            t_s, callback = due[0]
            self._events.remove(due[0])
            super().advance_to(max(t_s, self.now_s()))
            callback()
        super().advance_to(end)


def test_a_clock_with_call_at_runs_each_trigger_at_its_time():
    clock = EventClock()
    _, stage = make(0.0, clock)
    seen = []
    stage.trigger_outputs.append(lambda t: seen.append((t, clock.now_s())))
    stage.configure_position_triggers(200.0, 200.0, 4)
    stage.move_to(1000.0)
    stage.wait_settled()
    assert len(seen) == 4
    assert all(t == now for t, now in seen)  # the clock stood at each crossing
    stage.move_to(0.0)
    clock.sleep(crossing_time(450.0))  # stop half-way: the crossings not reached never fire
    stage.stop(immediate=True)
    stage.wait_settled()
    clock.sleep(10.0)
    assert len(seen) == 4 + 2  # 800 and 600 um


@pytest.mark.parametrize("args, field", [
    ((float("nan"), 1.0, 3), "start_um"), ((0.0, 0.0, 3), "interval_um"),
    ((0.0, 1.0, -1), "count"), ((0.0, 1.0, 2.5), "count")])
def test_trigger_configuration_errors_are_one_line(args, field):
    _, stage = make()
    with pytest.raises(ValueError, match=f"^stage_x: {field} must be") as err:
        stage.configure_position_triggers(*args)
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="direction must be one of both, forward, reverse"):
        stage.configure_position_triggers(0.0, 1.0, 1, direction="up")


def test_trajectory_crossings_match_positions():
    traj = Trajectory.point_to_point(3.0, 500.0, 100.0, 1000.0, 4000.0)
    got = traj.crossing_times_s([600.0, 500.0, 400.0, 100.0, 50.0, 300.0])
    assert [p for _, p in got] == [400.0, 300.0, 100.0]  # not behind the start, not past the end
    assert all(traj.position_at(t) == pytest.approx(p, abs=1e-9) for t, p in got)
    assert got[-1][0] == pytest.approx(traj.end_s)
