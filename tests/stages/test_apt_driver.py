"""AptStage over the real thorlabs-apt-device, against the APT emulator on a pty.

No test depends on how fast the machine is: the host waits for replies, readiness
is polled with a generous bound (:data:`PATIENCE_S`), a move that must still be
under way is slow (minutes) or held back by the emulator's lock, and a count is
taken after a fresh status round trip (all earlier commands handled by then).
"""

import math
import os
import threading
import time

import pytest

pytest.importorskip("thorlabs_apt_device")

from stages import Stage, StageError, TravelLimitError, XYStage  # noqa: E402
from stages.apt import AptController, AptStage  # noqa: E402
from stages.apt.emulator import AptEmulator  # noqa: E402
from stages.apt.protocol import MsgId  # noqa: E402
from stages.simulated import StageDynamics  # noqa: E402

FAST = StageDynamics(velocity_um_per_s=20000.0, acceleration_um_per_s2=200000.0, settle_s=0.01)
#: 10 um/s: a move of a few mm takes minutes, so it is surely still under way when a test
#: looks at it, whatever the load on the machine.
CRAWL = StageDynamics(velocity_um_per_s=10.0)
#: Bound of every wait for something that must happen (a reply, a settled move, a thread end).
PATIENCE_S = 60.0


def wait_for(predicate, what, timeout_s=PATIENCE_S):
    """Poll ``predicate()`` until it is true; fail naming ``what`` after ``timeout_s``."""
    end = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"{what}: not within {timeout_s:g} s")
        time.sleep(0.005)


class Rig:
    def __init__(self):
        self.emulators, self.closables, self.locks = [], [], {}

    def emulator(self, controller="KDC101", stages="MTS25-Z8", **kw):
        kw.setdefault("dynamics", FAST)
        lock = kw.setdefault("lock", threading.RLock())
        emu = AptEmulator(controller, stages, **kw).start()
        self.emulators.append(emu)
        self.locks[emu.port] = lock
        return emu

    def held(self, emu):
        """The emulator's lock: while a test holds it, the controller handles nothing."""
        return self.locks[emu.port]

    def stage(self, emu, name="x", **kw):
        st = AptStage.connect(name, emu.port, emu.controller.name,
                              emu.axes[0].stage_model.name, connect_timeout_s=PATIENCE_S, **kw)
        self.closables.append(st)
        return st

    def controller(self, emu, **kw):
        ctl = AptController(emu.port, emu.controller.name, connect_timeout_s=PATIENCE_S, **kw)
        self.closables.append(ctl)
        return ctl

    def close(self):
        for c in reversed(self.closables):
            c.close()
        for emu in self.emulators:
            emu.close()


def open_fds():
    return set(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else set()


@pytest.fixture
def rig():
    before, fds = set(threading.enumerate()), open_fds()
    r = Rig()
    yield r
    r.close()

    def leaked():
        return [t for t in threading.enumerate() if t not in before and t.is_alive()]

    wait_for(lambda: not leaked(), f"threads still running after close: {leaked()}")
    assert open_fds() <= fds  # every pty, pipe and serial port closed


def count_handled(emu, axis, msg_id):
    """How many ``msg_id`` frames the emulator has handled, once it has handled every
    command queued so far: the fresh status read is queued after them, and its replies
    come only after the emulator has read everything written before it."""
    axis.read_status(fresh=True, timeout_s=PATIENCE_S)
    return emu.count(msg_id)


def wait_moving(emu, bay=0):
    """Wait until the emulated controller has started the move it was sent."""
    wait_for(lambda: emu.axes[bay].busy, "the emulator never started the move")


def test_connect_identify_and_settings(rig):
    emu = rig.emulator()
    x = rig.stage(emu)
    assert isinstance(x, Stage)
    info = x.controller.hardware_info(timeout_s=PATIENCE_S)
    assert (info.model, info.serial_number, info.n_channels) == ("KDC101", 27000001, 1)
    x.controller.identify()
    assert count_handled(emu, x, MsgId.MOD_IDENTIFY) == 1
    s = x.settings()
    assert s["controller"] == "KDC101" and s["serial_port"] == emu.port
    assert s["stage_model"] == "MTS25-Z8" and s["counts_per_um"] == pytest.approx(34.55496)
    assert s["velocity_um_per_s"] == pytest.approx(20000.0, rel=1e-6)
    assert s["acceleration_um_per_s2"] == pytest.approx(200000.0, rel=1e-3)
    assert (s["travel_min_um"], s["travel_max_um"], s["homed"]) == (0.0, 25000.0, False)
    assert all(isinstance(v, float | int | str | bool) for v in s.values())
    assert "MTS25-Z8" in repr(x)


def test_explicit_port_required_and_dead_port_reported(rig):
    with pytest.raises(ValueError, match="explicit device path"):
        AptController("", "KDC101")
    with pytest.raises(StageError, match="cannot open /nonexistent/tty"):
        AptController("/nonexistent/tty", "KDC101")


def test_never_homes_unasked_and_refuses_unhomed_moves(rig):
    emu = rig.emulator(start_um=7000.0)
    x = rig.stage(emu)
    with pytest.raises(StageError, match="x: not homed"):
        x.move_to(100.0)
    assert count_handled(emu, x, MsgId.MOT_MOVE_HOME) == 0
    assert emu.count(MsgId.MOT_MOVE_ABSOLUTE) == 0
    assert emu.axes[0].stage.position_at(time.monotonic()) == 7000.0


def test_home_move_wait_settled_and_read_back_within_one_count(rig):
    emu = rig.emulator(start_um=3000.0)
    x = rig.stage(emu)
    x.home()
    assert x.position_um() == 0.0 and x.read_status().homed and x.settings()["homed"]
    one_count = 1.0 / x.counts_per_um
    for target in (1000.0, 1010.0, 1010.5, 998.25):
        with rig.held(emu):  # the controller handles nothing: the move cannot have ended
            x.move_to(target)  # returns at once, before the controller has even seen it
            assert x.is_moving()
        x.wait_settled(timeout_s=PATIENCE_S)
        assert not x.is_moving()
        assert abs(x.position_um() - target) <= one_count / 2 + 1e-9
        asked = time.monotonic()
        fresh = x.read_status(fresh=True, timeout_s=PATIENCE_S)
        # fresh: both replies arrived after the request was made, not a cached status
        assert fresh.position_um == x.position_um() and fresh.age_s <= time.monotonic() - asked
        physical = emu.axes[0].stage.position_at(time.monotonic())
        assert abs(physical - target) <= one_count
    x.wait_settled()  # nothing pending: returns at once


def test_move_to_where_the_axis_is_sends_nothing(rig):
    """A raster row moves x only: y's move to its own position costs no APT command."""
    ex, ey = rig.emulator(start_um=1000.0), rig.emulator(start_um=2000.0)
    x, y = rig.stage(ex, "x", require_homed=False), rig.stage(ey, "y", require_homed=False)
    xy = XYStage(x, y)
    xy.move_to(1000.0, 2000.0)  # nothing settled yet: both are sent
    xy.wait_settled(PATIENCE_S)
    moves_y = count_handled(ey, y, MsgId.MOT_MOVE_ABSOLUTE)
    assert moves_y == 1
    for col in range(1, 4):  # one row: x steps, y stays
        xy.move_to(1000.0 + 10.0 * col, 2000.0)
        xy.wait_settled(PATIENCE_S)
    assert count_handled(ey, y, MsgId.MOT_MOVE_ABSOLUTE) == moves_y
    assert count_handled(ex, x, MsgId.MOT_MOVE_ABSOLUTE) == 4
    assert xy.position_um() == pytest.approx((1030.0, 2000.0), abs=0.05)
    y.move_to(2000.0)  # a repeat while nothing is pending, then a move under way repeated
    y.move_to(2100.0)
    y.move_to(2100.0)
    y.wait_settled(PATIENCE_S)
    assert count_handled(ey, y, MsgId.MOT_MOVE_ABSOLUTE) == moves_y + 1

    ez = rig.emulator(dynamics=CRAWL, start_um=0.0)  # 3 mm at 10 um/s: 300 s
    z = rig.stage(ez, "z", require_homed=False)
    z.move_to(3000.0)
    wait_moving(ez)
    z.stop()
    with pytest.raises(StageError, match="stopped short"):
        z.wait_settled(PATIENCE_S)
    z.move_to(3000.0)  # stopped short of it: the same target is sent again
    assert count_handled(ez, z, MsgId.MOT_MOVE_ABSOLUTE) == 2
    z.stop()


def test_travel_limits_refused_before_any_bytes(rig):
    emu = rig.emulator()
    x = rig.stage(emu, require_homed=False, travel_um=(1000.0, 5000.0))
    assert x.travel_um == (1000.0, 5000.0)
    for bad in (999.9, 5000.1, math.nan, math.inf):
        with pytest.raises(TravelLimitError, match="x: .* outside travel"):
            x.move_to(bad)
    assert count_handled(emu, x, MsgId.MOT_MOVE_ABSOLUTE) == 0
    with pytest.raises(ValueError, match="within the MTS25-Z8 travel"):
        AptStage("y", x.controller, "MTS25-Z8", travel_um=(0.0, 26000.0))


def test_unhomed_moves_use_the_power_on_counter_when_allowed(rig):
    emu = rig.emulator(start_um=5000.0)
    x = rig.stage(emu, require_homed=False)
    x.move_to(100.0)
    x.wait_settled(PATIENCE_S)
    assert x.position_um() == pytest.approx(100.0, abs=0.05)
    assert emu.axes[0].stage.position_at(time.monotonic()) == pytest.approx(5100.0, abs=0.05)


def test_timeout_names_the_axis_then_stop_is_reported(rig):
    emu = rig.emulator(dynamics=CRAWL, start_um=0.0)  # 5 mm at 10 um/s: 500 s
    x = rig.stage(emu, name="stage_x", require_homed=False)
    x.move_to(5000.0)
    t0 = time.monotonic()
    with pytest.raises(StageError, match=r"stage_x: not settled within 0.3 s \(target 5000"):
        x.wait_settled(timeout_s=0.3)
    assert time.monotonic() - t0 >= 0.3  # it waited its timeout (load only adds to it)
    assert x.is_moving()
    x.stop()
    with pytest.raises(StageError, match="stage_x: move stopped short of the target"):
        x.wait_settled(timeout_s=PATIENCE_S)


def test_velocity_setting_reaches_the_controller(rig):
    emu = rig.emulator()
    x = rig.stage(emu, require_homed=False, velocity_um_per_s=5000.0,
                  acceleration_um_per_s2=50000.0)
    x.move_to(10.0)
    x.wait_settled(PATIENCE_S)
    dyn = emu.axes[0].stage.dynamics
    assert dyn.velocity_um_per_s == pytest.approx(5000.0, rel=1e-6)
    assert dyn.acceleration_um_per_s2 == pytest.approx(50000.0, rel=1e-3)
    assert x.settings()["velocity_um_per_s"] == pytest.approx(5000.0, rel=1e-6)


# ----------------------------------------------------------------------- faults
def test_motion_error_is_raised_with_the_axis_name(rig):
    emu = rig.emulator(dynamics=CRAWL, start_um=0.0)  # 3 mm at 10 um/s: 300 s
    x = rig.stage(emu, require_homed=False)
    x.move_to(3000.0)
    wait_moving(emu)
    emu.inject_motion_error()  # during the move
    with pytest.raises(StageError, match=r"x: motion error .* during move \(target 3000"):
        x.wait_settled(PATIENCE_S)
    # the controller halts the axis: it reports moving until it is at rest (a few ms)
    wait_for(lambda: not x.is_moving(), "the axis never came to rest after the error")
    assert x.read_status().motion_error
    x.move_to(10.0)  # a new move clears the error on the controller
    x.wait_settled(PATIENCE_S)
    assert not x.read_status(fresh=True, timeout_s=PATIENCE_S).motion_error


def test_limit_switch_stops_the_move(rig):
    emu = rig.emulator(dynamics=CRAWL, start_um=0.0)
    x = rig.stage(emu, require_homed=False)
    x.move_to(3000.0)
    wait_moving(emu)
    emu.trigger_limit_switch(forward=True)  # during the move
    with pytest.raises(StageError, match="x: forward limit switch hit: move stopped short "
                       r"of the target \(target 3000.0\d+ um\); at .*forward limit"):
        x.wait_settled(PATIENCE_S)
    wait_for(lambda: not x.is_moving(), "the axis never came to rest at the switch")
    assert x.read_status().forward_limit
    x.move_to(10.0)  # a move away clears the switch on the controller
    x.wait_settled(PATIENCE_S)
    assert not x.read_status(fresh=True, timeout_s=PATIENCE_S).forward_limit


def test_lost_move_completed_still_settles_from_status_updates(rig):
    emu = rig.emulator()
    x = rig.stage(emu, require_homed=False)
    emu.drop_replies(1, msg_ids=[MsgId.MOT_MOVE_COMPLETED])
    x.move_to(500.0)
    x.wait_settled(PATIENCE_S)
    assert x.position_um() == pytest.approx(500.0, abs=0.05)
    assert emu.sent_counts[MsgId.MOT_MOVE_COMPLETED] == 0


@pytest.mark.filterwarnings("ignore::UserWarning")  # the library warns per skipped byte
def test_garbled_replies_are_skipped_by_the_library(rig):
    emu = rig.emulator()
    x = rig.stage(emu, require_homed=False)
    with rig.held(emu):
        emu.garble_replies(3)
        sent = sum(emu.sent_counts.values())  # garbled frames count as sent
    wait_for(lambda: sum(emu.sent_counts.values()) >= sent + 3,
             "three replies (status polls) garbled")
    x.move_to(250.0)
    x.wait_settled(PATIENCE_S)
    assert x.read_status(fresh=True, timeout_s=PATIENCE_S).position_um == pytest.approx(
        250.0, abs=0.05)


def test_homing_done_before_the_command_mark_still_counts(rig, monkeypatch):
    """The caller's thread may lose the CPU between queueing a command and its mark
    (a loaded machine): a fast homing is then over, MOVE_HOMED included, before the
    mark. Simulated by holding the mark back until MOVE_HOMED has arrived."""
    emu = rig.emulator(start_um=100.0)
    x = rig.stage(emu)
    ctl, mark = x.controller, x.controller.mark

    def homed_then_status():
        with ctl.log.cond:
            statuses, events = ctl.log.since(x.bay, 0)
            homed = [e.seq for e in events if e.kind == "homed"]
            return bool(homed) and any(s.seq > homed[0] for s in statuses)

    def late_mark(timeout_s=2.0):
        wait_for(homed_then_status, "MOVE_HOMED and a status update decoded")
        return mark(timeout_s)

    monkeypatch.setattr(ctl, "mark", late_mark)
    x.home(timeout_s=PATIENCE_S)
    assert x.read_status(fresh=True, timeout_s=PATIENCE_S).homed
    assert x.position_um() == 0.0


# --------------------------------------------------------------------- two axes
def test_two_axes_on_two_single_channel_controllers(rig):
    ex, ey = rig.emulator(start_um=100.0), rig.emulator("TDC001", "Z825B", start_um=200.0)
    x, y = rig.stage(ex, "x"), rig.stage(ey, "y")
    xy = XYStage(x, y)
    xy.home()
    xy.move_to(1200.0, 2300.0)
    xy.wait_settled(PATIENCE_S)
    assert xy.position_um() == pytest.approx((1200.0, 2300.0), abs=0.05)
    assert y.controller.hardware_info().model == "TDC001"


@pytest.mark.parametrize("controller,stages", [("BSC202", ("NRT100", "NRT150")),
                                               ("BBD202", ("MLS203-X", "MLS203-Y"))])
def test_two_axes_on_the_bays_of_one_controller(rig, controller, stages):
    emu = rig.emulator(controller, list(stages), start_um=[50.0, 80.0])
    ctl = rig.controller(emu)
    x, y = ctl.axis("x", stages[0], bay=0), ctl.axis("y", stages[1], bay=1)
    y.home()
    assert x.read_status(fresh=True, timeout_s=PATIENCE_S).homed is False
    assert y.read_status().homed
    x.home()
    x.move_to(1500.0)
    y.move_to(700.0)
    XYStage(x, y).wait_settled(PATIENCE_S)
    now = time.monotonic()
    assert [a.stage.position_at(now) for a in emu.axes] == pytest.approx([1500.0, 700.0],
                                                                         abs=0.01)
    assert (x.position_um(), y.position_um()) == pytest.approx((1500.0, 700.0), abs=0.01)
    assert ctl.hardware_info().n_channels == 2
    if controller == "BBD202":  # status streamed after HW_START_UPDATEMSGS to each bay
        assert emu.count(MsgId.HW_START_UPDATEMSGS) == 2
        assert ctl.serial_read_timeout_s == 0.01
    else:  # polled with MOT_REQ_STATUSUPDATE, answered as MOT_GET_STATUSUPDATE
        assert emu.count(MsgId.MOT_REQ_STATUSUPDATE) > 0
    with pytest.raises(ValueError, match="bay 2 not in 0..1"):
        ctl.axis("z", stages[0], bay=2)


def test_malformed_frame_does_not_stop_status_updates(rig, caplog):
    emu = rig.emulator()
    x = rig.stage(emu, require_homed=False)
    # a DC status update without its data packet: the library's parser raises on it
    emu.inject_raw(bytes([0x91, 0x04, 0x01, 0x00, 0x01, 0x50]))
    x.move_to(300.0)
    x.wait_settled(PATIENCE_S)
    assert x.read_status().position_um == pytest.approx(300.0, abs=0.05)
    assert "malformed frame skipped" in caplog.text


def test_closed_controller_refuses_commands(rig):
    emu = rig.emulator()
    x = rig.stage(emu, require_homed=False)
    x.close()
    x.close()  # idempotent
    with pytest.raises(StageError, match="is closed"):
        x.move_to(10.0)
    with pytest.raises(StageError, match="is closed"):
        x.read_status(fresh=True)
