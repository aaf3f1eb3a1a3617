"""Fly-scan motion over APT: velocity moves, jogs, stops and K-Cube position triggers.

thorlabs-apt-device (and our AptStage over it) against the APT emulator on a pty.
The emulator runs on a :class:`ManualClock` that only the test advances, so every
position is an exact function of the time the test set: positions read back are
awaited (generous bound, :data:`PATIENCE_S`), never sampled in a wall-clock window.
"""

import os
import select
import time
import tty

import pytest

tad = pytest.importorskip("thorlabs_apt_device")

from thorlabs_apt_device.protocol.parsing import id_to_func  # noqa: E402

from stages import FlyStage, StageError, TravelLimitError  # noqa: E402
from stages.apt import STAGE_MODELS, AptController  # noqa: E402
from stages.apt import payloads as D  # noqa: E402
from stages.apt import protocol as P  # noqa: E402
from stages.apt.emulator import AptEmulator  # noqa: E402
from stages.simulated import StageDynamics  # noqa: E402

M, S = P.MsgId, P.StatusBits
PATIENCE_S = 60.0
DYN = StageDynamics(velocity_um_per_s=2000.0, acceleration_um_per_s2=30000.0, settle_s=0.01)


class ManualClock:
    """Emulator time that stands still until the test moves it."""

    def __init__(self) -> None:
        self.t_s = 0.0

    def now_s(self) -> float:
        return self.t_s

    def sleep(self, dt_s: float) -> None:
        self.t_s += dt_s


def wait_for(predicate, what, timeout_s=PATIENCE_S):
    end = time.monotonic() + timeout_s
    while not (got := predicate()):
        assert time.monotonic() < end, f"{what}: not within {timeout_s:g} s"
        time.sleep(0.005)
    return got


@pytest.fixture
def lab():
    made = []

    def make(controller="KDC101", start_um=1000.0, **kw):
        clock = ManualClock()
        emu = AptEmulator(controller, "MTS25-Z8", dynamics=DYN, start_um=start_um,
                          counter_zero_at_power_on=False, homed=True, clock=clock, **kw).start()
        made.append(emu)
        ctl = AptController(emu.port, controller, connect_timeout_s=PATIENCE_S)
        made.append(ctl)
        return emu, clock, ctl

    yield make
    for thing in reversed(made):
        thing.close()


def handled(emu, ctl, msg_id):
    """Count of ``msg_id`` handled once everything queued before is handled."""
    ctl.axis("probe", "MTS25-Z8", require_homed=False).read_status(fresh=True,
                                                                    timeout_s=PATIENCE_S)
    return emu.count(msg_id)


def quantised(emu, v_um_per_s, a_um_per_s2):
    """APT units of a profile, and the profile the controller really runs."""
    fam, cpu = emu.controller.scaling, emu.axes[0].cpu
    vel, acc = fam.velocity_to_apt(v_um_per_s, cpu), fam.acceleration_to_apt(a_um_per_s2, cpu)
    return vel, acc, fam.velocity_from_apt(vel, cpu), fam.acceleration_from_apt(acc, cpu)


def status_at(ctl, emu, clock, t_s):
    """Set the emulator's time to ``t_s``; the library's next poll reports that moment."""
    clock.t_s = t_s
    want = emu.axes[0].position_counts(t_s)
    dev = ctl.device
    wait_for(lambda: dev.status["position"] == want, f"library status at {want} counts")
    return want


def test_library_move_velocity_advances_at_the_set_velocity_then_stop(lab):
    emu, clock, ctl = lab()
    dev, cpu = ctl.device, emu.axes[0].cpu
    vel, acc, v, a = quantised(emu, 1500.0, 30000.0)
    dev.set_velocity_params(acceleration=acc, max_velocity=vel)
    wait_for(lambda: dev.velparams["max_velocity"] == vel, "velocity parameters echoed")
    dev.move_velocity(direction="forward")  # the library's forward: increasing counts
    wait_for(lambda: emu.axes[0].busy, "velocity move started")
    t_acc = v / a
    start_counts = round(1000.0 * cpu)
    seen = []
    for k in range(1, 6):  # cruise: every 0.2 s of controller time, exactly v * 0.2 further
        t = t_acc + 0.2 * k
        seen.append(status_at(ctl, emu, clock, t))
        expected_um = 1000.0 + 0.5 * v * t_acc + v * (t - t_acc)
        assert seen[-1] == pytest.approx(expected_um * cpu, abs=1.0)
        assert dev.status["moving_forward"] and not dev.status["moving_reverse"]
    steps = [b - a_ for a_, b in zip([start_counts, *seen], seen, strict=False)][1:]
    assert all(s == pytest.approx(v * 0.2 * cpu, abs=2.0) for s in steps)
    assert dev.status["velocity"] > 0

    t_stop = clock.t_s
    p_stop_um = emu.axes[0].stage.position_at(t_stop)
    dev.stop(immediate=False)  # profiled: decelerates at the set acceleration
    wait_for(lambda: emu.count(M.MOT_MOVE_STOP) == 1, "stop handled")
    clock.t_s = t_stop + v / a / 2  # half-way through the deceleration
    mid = emu.axes[0].stage.position_at(clock.t_s)
    assert p_stop_um < mid < p_stop_um + v * v / (2 * a)
    clock.t_s = t_stop + 1.0
    stopped = wait_for(lambda: ctl.log.since(0, 0)[1], "MOVE_STOPPED")
    assert stopped[-1].kind == "stopped"
    final = stopped[-1].status.position_counts
    assert final == pytest.approx((p_stop_um + v * v / (2 * a)) * cpu, abs=1.0)
    status_at(ctl, emu, clock, clock.t_s + 0.5)
    assert not (dev.status["moving_forward"] or dev.status["moving_reverse"])
    assert dev.status["position"] == final  # at rest where it stopped


def test_immediate_stop_and_reverse_velocity_move_to_the_limit(lab):
    emu, clock, ctl = lab(start_um=300.0)
    dev, cpu = ctl.device, emu.axes[0].cpu
    dev.move_velocity(direction="reverse")
    wait_for(lambda: emu.axes[0].busy, "velocity move started")
    clock.t_s = 0.1
    here = status_at(ctl, emu, clock, 0.1)
    assert here < round(300.0 * cpu)
    assert dev.status["moving_reverse"]
    dev.stop(immediate=True)
    wait_for(lambda: emu.count(M.MOT_MOVE_STOP) == 1, "stop handled")
    clock.t_s = 2.0
    ev = wait_for(lambda: ctl.log.since(0, 0)[1], "MOVE_STOPPED")[-1]
    assert ev.kind == "stopped" and ev.status.position_counts == pytest.approx(here, abs=1)

    dev.move_velocity(direction="reverse")  # now run into the reverse limit
    wait_for(lambda: emu.axes[0].busy, "second velocity move started")
    clock.t_s = 10.0
    ev = wait_for(lambda: [e for e in ctl.log.since(0, 0)[1] if e.seq > ev.seq], "at limit")[-1]
    assert ev.kind == "stopped" and ev.status.position_counts == 0
    assert ev.status.has(S.REVERSE_LIMIT)


def test_library_jog_step_and_continuous_jog(lab):
    emu, clock, ctl = lab()
    dev, cpu = ctl.device, emu.axes[0].cpu
    vel, acc, v, a = quantised(emu, 500.0, 5000.0)
    step = round(250.0 * cpu)
    dev.set_jog_params(size=step, acceleration=acc, max_velocity=vel, continuous=False)
    wait_for(lambda: dev.jogparams["step_size"] == step, "jog parameters echoed")
    dev.move_jog(direction="forward")
    wait_for(lambda: emu.axes[0].busy, "jog started")
    clock.t_s = 0.3  # a 250 um jog at 500 um/s takes 0.6 s: still under way, jogging
    assert emu.axes[0].status(0.3).has(S.JOGGING_FORWARD)
    assert emu.axes[0].stage.velocity_at(0.3) == pytest.approx(v)
    clock.t_s = 5.0
    wait_for(lambda: ctl.log.since(0, 0)[1], "MOVE_COMPLETED")
    assert status_at(ctl, emu, clock, 5.0) == round(1000.0 * cpu) + step

    dev.set_jog_params(size=step, acceleration=acc, max_velocity=vel, continuous=True)
    wait_for(lambda: dev.jogparams["jog_mode"] == 1, "continuous jog echoed")
    dev.move_jog(direction="reverse")
    wait_for(lambda: emu.axes[0].busy, "continuous jog started")
    clock.t_s = 8.0  # 3 s of a jog that only a stop ends: far past one step
    assert emu.axes[0].position_counts(8.0) < round(1000.0 * cpu) + step - 2 * step
    dev.stop()
    wait_for(lambda: emu.count(M.MOT_MOVE_STOP) == 1, "stop handled")
    clock.t_s = 9.0
    assert not emu.axes[0].status(9.0).has(P.MOVING_MASK)


class RawClient:
    def __init__(self, port):
        self.fd = os.open(port, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd)
        self.decoder = P.FrameDecoder(dests={P.HOST})
        self.frames = []

    def request(self, frame, reply_id, timeout_s=PATIENCE_S):
        self.frames.clear()
        os.write(self.fd, P.encode(frame))
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            for f in self.frames:
                if f.msg_id == reply_id:
                    return f
            if select.select([self.fd], [], [], 0.01)[0]:
                self.frames += self.decoder.feed(os.read(self.fd, 4096))
        return None

    def send(self, frame):
        os.write(self.fd, P.encode(frame))


@pytest.mark.parametrize("controller", ["KDC101", "TDC001"])
def test_trigger_messages_round_trip_byte_exactly_on_a_kcube_only(controller):
    emu = AptEmulator(controller, "MTS25-Z8").start()
    c = RawClient(emu.port)
    try:
        dest = P.USB
        io = D.pack_trigioconfig(D.TrigIOConfig(1, P.TrigMode.IN_GPI, P.TrigPolarity.LOW,
                                                P.TrigMode.OUT_POSSTEPS_BOTH, P.TrigPolarity.HIGH))
        pos = D.pack_postrigparams(D.PosTrigParams(1, 41464, 1728, 64, 150053, 1728, 64, 20, 7))
        c.send(P.long(M.MOT_SET_KCUBETRIGIOCONFIG, dest, P.HOST, io))
        c.send(P.long(M.MOT_SET_KCUBEPOSTRIGPARAMS, dest, P.HOST, pos))
        got_io = c.request(P.short(M.MOT_REQ_KCUBETRIGIOCONFIG, dest, P.HOST, 1),
                           M.MOT_GET_KCUBETRIGIOCONFIG, timeout_s=PATIENCE_S if
                           controller == "KDC101" else 0.5)
        if controller == "TDC001":  # no trigger ports: ignored, no reply, still serving
            assert got_io is None
            assert c.request(P.short(M.MOT_REQ_DCSTATUSUPDATE, dest, P.HOST, 1),
                             M.MOT_GET_DCSTATUSUPDATE) is not None
            return
        assert P.encode(got_io) == P.encode(P.long(M.MOT_GET_KCUBETRIGIOCONFIG, P.HOST, P.USB,
                                                   io))
        assert len(got_io.data) == 22
        got = c.request(P.short(M.MOT_REQ_KCUBEPOSTRIGPARAMS, dest, P.HOST, 1),
                        M.MOT_GET_KCUBEPOSTRIGPARAMS)
        assert P.encode(got) == P.encode(P.long(M.MOT_GET_KCUBEPOSTRIGPARAMS, P.HOST, P.USB,
                                                pos))
        assert len(got.data) == 46
        # thorlabs-apt-device sends the 34 bytes without the reserved words: same fields
        short_set = tad.protocol.mot_set_kcubeposttrigparams(
            dest=dest, source=P.HOST, chan_ident=1, start_pos_fwd=-5, interval_fwd=3,
            num_pulses_fwd=2, start_pos_rev=9, interval_rev=4, num_pulses_rev=1, pulse_width=1,
            num_cycles=1)
        os.write(c.fd, short_set)
        got = c.request(P.short(M.MOT_REQ_KCUBEPOSTRIGPARAMS, dest, P.HOST, 1),
                        M.MOT_GET_KCUBEPOSTRIGPARAMS)
        assert got.data == short_set[6:] + bytes(12)
        parsed = id_to_func[M.MOT_GET_KCUBEPOSTRIGPARAMS](P.encode(got))
        assert (parsed["start_pos_fwd"], parsed["interval_fwd"], parsed["num_cycles"]) == (-5, 3, 1)
    finally:
        os.close(c.fd)
        emu.close()


def test_position_triggers_fire_at_the_configured_positions_in_order(lab):
    emu, clock, ctl = lab()
    pulses = []
    emu.axes[0].trigger_outputs.append(pulses.append)
    x = ctl.axis("x", "MTS25-Z8")
    positions = x.configure_position_triggers(1200.0, 50.0, 8, 2e-5, cycles=1)
    assert positions[0] == pytest.approx(1200.0, abs=0.02) and len(positions) == 8
    x.velocity_um_per_s = 1000.0
    traj = emu.axes[0].stage

    def run(target_um):
        x.move_to(target_um)
        wait_for(lambda: emu.axes[0].busy, "move started")
        clock.t_s += 10.0
        x.wait_settled(PATIENCE_S)
        return traj.trajectory

    fwd = run(2000.0)
    assert len(pulses) == 8
    assert pulses == sorted(pulses)
    assert [fwd.position_at(t) for t in pulses] == pytest.approx(list(positions), abs=1e-6)
    assert all(fwd.velocity_at(t) == pytest.approx(x.velocity_um_per_s) for t in pulses)
    rev = run(1000.0)  # reverse: the same positions, last first
    assert len(pulses) == 16
    assert [rev.position_at(t) for t in pulses[8:]] == pytest.approx(positions[::-1], abs=1e-6)
    run(2000.0)  # cycles=1: a forward and a reverse pass, then the port is quiet
    assert len(pulses) == 16
    x.configure_position_triggers(1200.0, 50.0, 8, 2e-5, direction="reverse", cycles=1)
    run(1000.0)  # re-armed, reverse only
    assert len(pulses) == 24
    run(2000.0)
    assert len(pulses) == 24
    s = x.settings()
    assert s["trigger_count"] == 8 and s["trigger_direction"] == "reverse"


def test_active_low_pulses_rise_one_pulse_width_after_the_crossing(lab):
    emu, clock, ctl = lab()
    pulses = []
    emu.axes[0].trigger_outputs.append(pulses.append)
    cpu = emu.axes[0].cpu
    io = D.pack_trigioconfig(D.TrigIOConfig(1, P.TrigMode.OUT_POSSTEPS_FWD, P.TrigPolarity.LOW,
                                            0, 1))
    pos = D.pack_postrigparams(D.PosTrigParams(1, round(1500 * cpu), round(100 * cpu), 3, 0, 0,
                                               0, 5000, 1))
    for msg, data in ((M.MOT_SET_KCUBETRIGIOCONFIG, io), (M.MOT_SET_KCUBEPOSTRIGPARAMS, pos)):
        ctl.send(P.encode(P.long(msg, P.USB, P.HOST, data)))
    ctl.device.move_absolute(position=round(2000 * cpu))
    wait_for(lambda: emu.axes[0].busy, "move started")
    clock.t_s = 10.0
    wait_for(lambda: len(pulses) == 3, "three pulses")
    traj = emu.axes[0].stage.trajectory
    crossings = [t for t, _ in traj.crossing_times_s(
        [(round(1500 * cpu) + k * round(100 * cpu)) / cpu for k in range(3)])]
    assert pulses == pytest.approx([t + 5000e-6 for t in crossings], abs=1e-9)


def test_aptstage_velocity_property_and_trigger_validation(lab):
    emu, clock, ctl = lab()
    x = ctl.axis("x", "MTS25-Z8")
    assert isinstance(x, FlyStage)
    assert x.max_velocity_um_per_s == STAGE_MODELS["MTS25-Z8"].max_velocity_um_per_s == 2400.0
    before = handled(emu, ctl, M.MOT_SET_VELPARAMS)
    for bad in (5000.0, 0.0, -1.0, float("nan"), float("inf"), True, "1000"):
        with pytest.raises(ValueError) as err:
            x.velocity_um_per_s = bad
        msg = str(err.value)
        assert "\n" not in msg
        assert msg.startswith("x: velocity_um_per_s must be in (0, 2400] um/s (MTS25-Z8), got")
    assert handled(emu, ctl, M.MOT_SET_VELPARAMS) == before  # nothing reached the controller
    x.velocity_um_per_s = 1200.0
    assert x.velocity_um_per_s == pytest.approx(1200.0, rel=1e-6)
    assert handled(emu, ctl, M.MOT_SET_VELPARAMS) == before + 1
    vel = D.unpack_velparams(emu.axes[0].params[M.MOT_GET_VELPARAMS]).max_velocity
    assert vel == emu.controller.scaling.velocity_to_apt(1200.0, emu.axes[0].cpu)

    for kwargs, field in (({"interval_um": 0.0}, "interval_um"), ({"count": 0}, "count"),
                          ({"pulse_width_s": 2.0}, "pulse_width_s"),
                          ({"start_um": 24990.0}, "trigger positions"),
                          ({"direction": "sideways"}, "direction"), ({"port": 3}, "port"),
                          ({"cycles": 0}, "cycles")):
        args = {"start_um": 1000.0, "interval_um": 10.0, "count": 5, "pulse_width_s": 1e-5,
                **kwargs}
        with pytest.raises(ValueError, match=f"^x: {field} ") as err:
            x.configure_position_triggers(**args)
        assert "\n" not in str(err.value)
    assert handled(emu, ctl, M.MOT_SET_KCUBEPOSTRIGPARAMS) == 0

    narrow = ctl.axis("n", "MTS25-Z8", travel_um=(0.0, 20000.0))
    with pytest.raises(TravelLimitError, match="n: a velocity move would run past"):
        narrow.move_at_velocity("forward")
    assert handled(emu, ctl, M.MOT_MOVE_VELOCITY) == 0


def test_aptstage_move_at_velocity_and_stop_then_wait_settled_returns(lab):
    emu, clock, ctl = lab()
    x = ctl.axis("x", "MTS25-Z8")
    x.velocity_um_per_s = 800.0
    x.move_at_velocity("forward")
    wait_for(lambda: emu.axes[0].busy, "velocity move started")
    assert emu.axes[0].stage.trajectory.direction == 1
    clock.t_s = 1.0
    assert x.is_moving()
    x.stop()
    wait_for(lambda: emu.count(M.MOT_MOVE_STOP) == 1, "stop handled")
    clock.t_s = 2.0
    x.wait_settled(PATIENCE_S)  # a stopped velocity move is no failure
    p = emu.axes[0].stage.position_at(2.0)
    assert x.position_um() == pytest.approx(p, abs=0.05)
    assert 1000.0 + 700.0 < p < 1000.0 + 800.0 + 1.0  # ~1 s at 800 um/s


def test_position_triggers_need_a_kcube(lab):
    emu, clock, ctl = lab("TDC001")
    x = ctl.axis("x", "MTS25-Z8")
    with pytest.raises(StageError, match="x: position triggers need a K-Cube"):
        x.configure_position_triggers(1000.0, 10.0, 5, 1e-5)
