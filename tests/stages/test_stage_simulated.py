import math

import pytest

from imager.sim import VirtualClock
from stages import (
    SimulatedStage,
    Stage,
    StageDynamics,
    StageError,
    TravelLimitError,
    XYStage,
)

DYN = StageDynamics()


def make(start_um=0.0, **kw):
    clock = VirtualClock()
    return clock, SimulatedStage("stage_x", clock, start_um=start_um, **kw)


def test_satisfies_stage_protocol_and_defaults():
    _, stage = make()
    assert isinstance(stage, Stage)
    assert stage.travel_um == (0.0, 25000.0)
    assert DYN.encoder_um == pytest.approx(1e3 / 34554.96)
    s = stage.settings()
    assert s["velocity_um_per_s"] == 2400.0 and s["acceleration_um_per_s2"] == 1500.0
    assert s["homed"] is False


def test_move_returns_at_once_and_long_move_takes_trapezoid_time():
    clock, stage = make()
    stage.move_to(20000.0)
    assert clock.now_s() == 0.0  # returned immediately
    assert stage.is_moving()
    v, a = DYN.velocity_um_per_s, DYN.acceleration_um_per_s2
    expected = 20000.0 / v + v / a  # cruise-limited trapezoid
    assert stage.move_end_s == pytest.approx(expected, rel=1e-12)
    stage.wait_settled()
    assert clock.now_s() == pytest.approx(expected + DYN.settle_s, rel=1e-12)
    assert not stage.is_moving()
    assert stage.position_um() == pytest.approx(20000.0, abs=DYN.encoder_um / 2)


def test_short_move_is_triangular_and_symmetric():
    clock, stage = make(1000.0)
    stage.move_to(1010.0)
    t_end = 2.0 * math.sqrt(10.0 / DYN.acceleration_um_per_s2)
    assert stage.move_end_s == pytest.approx(t_end)
    assert stage.position_at(t_end / 2) == pytest.approx(1005.0)
    assert stage.position_at(t_end / 4) == pytest.approx(1000.0 + 0.5 * 1500.0 * (t_end / 4) ** 2)
    samples = [stage.position_at(t_end * k / 50) for k in range(51)]
    assert all(b >= a for a, b in zip(samples, samples[1:], strict=False))
    clock.sleep(t_end / 2)
    assert stage.is_moving()
    assert stage.position_um() == pytest.approx(1005.0, abs=DYN.encoder_um)


def test_backward_move_position_mid_cruise():
    clock, stage = make(24000.0)
    stage.move_to(4000.0)
    v, a = DYN.velocity_um_per_s, DYN.acceleration_um_per_s2
    t = 5.0  # inside the cruise phase
    expected = 24000.0 - (v * v / (2 * a) + v * (t - v / a))
    assert stage.position_at(t) == pytest.approx(expected)


@pytest.mark.parametrize("target", [25000.001, -0.5, float("nan")])
def test_travel_limit_raises_before_anything_changes(target):
    clock, stage = make(500.0)
    calls = []
    stage.add_move_listener(lambda: calls.append(1))
    with pytest.raises(TravelLimitError, match="outside travel"):
        stage.move_to(target)
    assert calls == []
    assert stage.target_um == 500.0
    assert not stage.is_moving()
    assert stage.position_um() == pytest.approx(500.0, abs=DYN.encoder_um)


def test_read_back_is_quantised_to_the_encoder_step():
    clock, stage = make()
    stage.move_to(100.01)
    stage.wait_settled()
    pos = stage.position_um()
    enc = DYN.encoder_um
    assert pos != 100.01
    assert abs(pos - 100.01) <= enc / 2 + 1e-12
    assert abs(pos / enc - round(pos / enc)) < 1e-6
    assert stage.position_at(clock.now_s()) == 100.01  # the physics sees the exact position


def test_listener_called_before_the_trajectory_is_replaced():
    clock, stage = make()
    seen = []
    stage.add_move_listener(lambda: seen.append((stage.target_um, stage.move_end_s)))
    stage.move_to(50.0)
    assert seen == [(0.0, 0.0)]  # still the old trajectory
    stage.wait_settled()
    stage.move_to(50.0)  # move to the current target: no-op
    assert len(seen) == 1
    stage.move_to(60.0)
    assert seen[-1][0] == 50.0 and len(seen) == 2


def test_noop_move_does_not_restart_settling():
    clock, stage = make()
    stage.move_to(10.0)
    stage.wait_settled()
    t = clock.now_s()
    stage.move_to(10.0)
    assert not stage.is_moving()
    stage.wait_settled()
    assert clock.now_s() == t


def test_wait_settled_timeout_raises_stage_error():
    clock, stage = make()
    stage.move_to(24000.0)
    with pytest.raises(StageError, match="not settled"):
        stage.wait_settled(timeout_s=1.0)
    assert clock.now_s() == pytest.approx(1.0)


def test_home_blocks_and_sets_homed():
    clock, stage = make(3000.0)
    stage.home()
    assert stage.homed and stage.settings()["homed"] is True
    assert stage.position_um() == 0.0
    assert clock.now_s() == pytest.approx(DYN.move_duration_s(3000.0) + DYN.settle_s)


def test_xy_stage_moves_both_axes():
    clock = VirtualClock()
    xy = XYStage(
        SimulatedStage("stage_x", clock, start_um=100.0),
        SimulatedStage("stage_y", clock, start_um=100.0),
    )
    xy.move_to(200.0, 400.0)
    xy.wait_settled()
    x, y = xy.position_um()
    assert x == pytest.approx(200.0, abs=0.02) and y == pytest.approx(400.0, abs=0.02)
    assert clock.now_s() == pytest.approx(DYN.move_duration_s(300.0) + DYN.settle_s)


def test_invalid_dynamics_and_travel():
    with pytest.raises(ValueError):
        StageDynamics(velocity_um_per_s=0.0)
    with pytest.raises(ValueError):
        SimulatedStage("s", VirtualClock(), travel_um=(10.0, 5.0))
    with pytest.raises(TravelLimitError):
        SimulatedStage("s", VirtualClock(), start_um=-1.0)
