"""The settle judgement on synthetic reply sequences (no I/O)."""

import pytest

from stages.apt.payloads import MotorStatus
from stages.apt.protocol import StatusBits as S
from stages.apt.settle import LOST_EOM_S, Pending, evaluate
from stages.apt.tracking import Received
from stages.interface import StageError

CPU = 34.55496  # counts per um
ENABLED, HOMED = int(S.ENABLED), int(S.ENABLED | S.HOMED)
MOVING = int(S.ENABLED | S.HOMED | S.MOVING_FORWARD)


class Seq:
    def __init__(self):
        self.n, self.t = 0, 0.0

    def __call__(self, kind, pos, bits=HOMED, dt=0.1):
        self.n += 1
        self.t += dt
        status = None if kind == "homed" else MotorStatus(1, pos, bits)
        return Received(self.n, self.t, kind, status)


def judge(p, statuses, events=(), tol=2):
    return evaluate("x", p, list(statuses), list(events), tol, CPU)


def move(target=1000, start=0, overlapped=False):
    return Pending("move", target, start, 0, overlapped)


def test_stale_updates_before_any_effect_keep_waiting():
    r = Seq()
    stale = [r("status", 0), r("status", 0, HOMED | S.MOTION_ERROR | S.FORWARD_LIMIT)]
    assert judge(move(), stale) is None  # old fault bits on stale updates are not blamed


def test_move_completed_ends_the_wait_and_overlapped_stale_ones_are_ignored():
    r = Seq()
    assert judge(move(), [r("status", 500, MOVING)], [r("completed", 1000)]) is True
    assert judge(move(), [], [r("completed", 999)]) is True  # the controller has the last word
    old = r("completed", 300)  # end of the move that the new one superseded
    assert judge(move(overlapped=True), [], [old]) is None
    assert judge(move(overlapped=True), [], [old, r("completed", 1000)]) is True


def test_stopped_short_and_motion_error_raise_with_the_axis_name():
    r = Seq()
    with pytest.raises(StageError, match=r"x: move stopped short of the target \(target 28.939"):
        judge(move(), [], [r("stopped", 400)])
    with pytest.raises(StageError, match="x: motion error .* during move"):
        judge(move(), [], [r("stopped", 400, HOMED | S.MOTION_ERROR)])
    with pytest.raises(StageError, match="motion error"):
        judge(move(), [r("status", 100, MOVING), r("status", 150, HOMED | S.MOTION_ERROR)])


def test_lost_move_completed_needs_the_axis_parked_on_target():
    r = Seq()
    ups = [r("status", 0), r("status", 500, MOVING), r("status", 1001), r("status", 1000)]
    assert judge(move(), ups) is None  # on target for 0.1 s only
    ups.append(r("status", 1000, dt=LOST_EOM_S))
    assert judge(move(), ups) is True


def test_updates_at_rest_short_of_target_fail_on_a_limit_or_after_three():
    r = Seq()
    ups = [r("status", 500, MOVING), r("status", 600)]
    assert judge(move(), ups) is None
    with pytest.raises(StageError, match="forward limit"):
        judge(move(), ups + [r("status", 600, HOMED | S.FORWARD_LIMIT)])
    with pytest.raises(StageError, match="x: move stopped short"):
        judge(move(), ups + [r("status", 600), r("status", 600)])


def test_move_to_where_the_axis_already_is():
    r = Seq()
    here = [r("status", 1000), r("status", 1001, dt=LOST_EOM_S)]
    assert judge(move(target=1000, start=1000), here) is True


def test_homing_needs_homed_message_then_a_homed_update():
    r = Seq()
    p = Pending("home", 0, 5000, 0, False)
    stale = [r("status", 5000, HOMED)]  # homed from an earlier homing: not evidence
    assert judge(p, stale) is None
    homed = r("homed", 0)
    assert judge(p, stale, [homed]) is None
    assert judge(p, stale + [r("status", 0, HOMED)], [homed]) is True
    ups = [r("status", 4000, ENABLED | S.HOMING | S.MOVING_REVERSE), r("status", 0, HOMED)]
    assert judge(p, ups) is True  # MOVE_HOMED lost: the updates suffice
    with pytest.raises(StageError, match="x: homing stopped short"):
        judge(p, [], [r("stopped", 2000, ENABLED)])
