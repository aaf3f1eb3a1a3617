import pytest

from imager.sim import VirtualClock
from stages import Clock


def test_virtual_clock_is_a_clock_and_starts_at_zero():
    clock = VirtualClock()
    assert isinstance(clock, Clock)
    assert clock.now_s() == 0.0


def test_sleep_advances_without_waiting():
    clock = VirtualClock()
    clock.sleep(3600.0)
    clock.sleep(0.25)
    assert clock.now_s() == 3600.25
    clock.sleep(0.0)
    assert clock.now_s() == 3600.25


@pytest.mark.parametrize("dt", [-1e-9, -1.0, float("nan"), float("inf")])
def test_sleep_rejects_negative_or_non_finite(dt):
    clock = VirtualClock(5.0)
    with pytest.raises(ValueError):
        clock.sleep(dt)
    assert clock.now_s() == 5.0


def test_advance_to_moves_forward_only():
    clock = VirtualClock()
    clock.advance_to(12.5)
    assert clock.now_s() == 12.5
    clock.advance_to(12.5)
    with pytest.raises(ValueError):
        clock.advance_to(12.0)
    assert clock.now_s() == 12.5
