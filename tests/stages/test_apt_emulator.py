"""The APT emulator on its own, driven with raw frames over its pty.

Nothing here depends on how fast the machine is: replies are awaited with a
generous bound (:data:`PATIENCE_S`), a request's reply marks that everything sent
before it was handled, and tests that look at an axis mid-move run the emulator on
a :class:`ManualClock` that only the test advances.
"""

import os
import select
import threading
import time
import tty

import pytest

from stages.apt import payloads as D
from stages.apt import protocol as P
from stages.apt.emulator import AptEmulator
from stages.simulated import StageDynamics

M, S = P.MsgId, P.StatusBits
FAST = StageDynamics(velocity_um_per_s=20000.0, acceleration_um_per_s2=200000.0, settle_s=0.01)
PATIENCE_S = 60.0


class ManualClock:
    """Emulator time that stands still until the test advances it."""

    def __init__(self) -> None:
        self.t_s = 0.0

    def now_s(self) -> float:
        return self.t_s

    def sleep(self, dt_s: float) -> None:
        self.t_s += dt_s


class RawClient:
    """Minimal host side: write frames to the pty, collect decoded replies."""

    def __init__(self, port: str) -> None:
        self.fd = os.open(port, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd)
        self.decoder = P.FrameDecoder(dests={P.HOST})
        self.frames: list[P.Frame] = []

    def send(self, frame: P.Frame) -> None:
        os.write(self.fd, P.encode(frame))

    def collect(self, duration_s: float) -> None:
        end = time.monotonic() + duration_s
        while (left := end - time.monotonic()) > 0:
            if select.select([self.fd], [], [], left)[0]:
                self.frames += self.decoder.feed(os.read(self.fd, 4096))

    def wait_for(self, msg_id: int, timeout_s: float = PATIENCE_S) -> P.Frame:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            for i, f in enumerate(self.frames):
                if f.msg_id == msg_id:
                    return self.frames.pop(i)
            self.collect(0.01)
        raise AssertionError(f"no 0x{msg_id:04x} within {timeout_s} s; got "
                             f"{[f.name for f in self.frames]}")

    def request(self, req: P.Frame, reply_id: int) -> P.Frame:
        self.frames.clear()
        self.send(req)
        return self.wait_for(reply_id)

    def close(self) -> None:
        os.close(self.fd)


@pytest.fixture
def emulated():
    made = []

    def make(controller="KDC101", stages="MTS25-Z8", **kw):
        kw.setdefault("dynamics", FAST)
        emu = AptEmulator(controller, stages, **kw).start()
        client = RawClient(emu.port)
        made.append((emu, client))
        return emu, client

    threads_before = set(threading.enumerate())
    fds = set(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else set()
    yield make
    for emu, client in made:
        client.close()
        emu.close()
    end = time.monotonic() + PATIENCE_S
    while [t for t in threading.enumerate() if t not in threads_before and t.is_alive()]:
        assert time.monotonic() < end, "emulator threads still running after close"
        time.sleep(0.01)
    if fds:
        assert set(os.listdir("/proc/self/fd")) <= fds  # ptys and wake-up pipe closed


def status(client, dest=P.USB, req=M.MOT_REQ_DCSTATUSUPDATE):
    reply = client.request(P.short(req, dest, P.HOST, 1), req + 1)
    unpack = D.unpack_dcstatus if req == M.MOT_REQ_DCSTATUSUPDATE else D.unpack_status
    return reply, unpack(reply.data)


def test_single_channel_info_and_status_come_from_0x50(emulated):
    emu, c = emulated(start_um=1000.0)
    info = c.request(P.short(M.HW_REQ_INFO, P.USB, P.HOST), M.HW_GET_INFO)
    assert (info.source, info.dest) == (P.USB, P.HOST)
    hw = D.unpack_hwinfo(info.data)
    assert (hw.model, hw.serial_number // 1_000_000, hw.n_channels, hw.stage_id) == (
        "KDC101", 27, 1, 7)
    # thorlabs-apt-device addresses a TDC001-style unit as bay 0x21: answered from 0x50 too
    reply, st = status(c, dest=P.BAY0)
    assert reply.source == P.USB
    assert st.position_counts == 0  # counter reads 0 at power-on wherever the stage is
    assert st.has(S.ENABLED | S.CONNECTED) and not st.has(S.HOMED | P.MOVING_MASK)


def test_home_then_move_sends_homed_and_completed_with_status_bits(emulated):
    clock = ManualClock()
    emu, c = emulated(start_um=2000.0, clock=clock)
    c.send(P.short(M.MOT_MOVE_HOME, P.USB, P.HOST, 1))
    _, st = status(c)  # its reply: the homing has started
    assert st.has(S.HOMING | S.MOVING_REVERSE) and not st.has(S.HOMED)
    clock.sleep(1.0)  # 2 mm at FAST: 0.2 s
    homed = c.wait_for(M.MOT_MOVE_HOMED)
    assert (homed.param1, homed.source) == (1, P.USB)
    _, st = status(c)
    assert st.has(S.HOMED) and not st.has(S.HOMING) and st.position_counts == 0
    target = round(1500.0 * emu.axes[0].cpu)
    c.send(P.long(M.MOT_MOVE_ABSOLUTE, P.USB, P.HOST, D.pack_chan_int32(1, target)))
    status(c)  # the move has started
    clock.sleep(0.05)  # of the 0.17 s the move takes
    _, st = status(c)
    assert st.has(S.MOVING_FORWARD) and 0 < st.position_counts < target
    clock.sleep(1.0)
    done = D.unpack_dcstatus(c.wait_for(M.MOT_MOVE_COMPLETED).data)
    assert done.position_counts == target and not done.has(P.MOVING_MASK)
    c.send(P.long(M.MOT_MOVE_RELATIVE, P.USB, P.HOST, D.pack_chan_int32(1, -100)))
    status(c)
    clock.sleep(1.0)
    assert D.unpack_dcstatus(c.wait_for(M.MOT_MOVE_COMPLETED).data).position_counts == (
        target - 100)


def test_bay_system_addresses_motherboard_and_bays(emulated):
    emu, c = emulated("BSC202", ["NRT100", "NRT150"], start_um=[10.0, 20.0])
    info = c.request(P.short(M.HW_REQ_INFO, P.RACK, P.HOST), M.HW_GET_INFO)
    assert info.source == P.RACK and D.unpack_hwinfo(info.data).n_channels == 2
    used = c.request(P.short(M.RACK_REQ_BAYUSED, P.RACK, P.HOST, 1), M.RACK_GET_BAYUSED)
    assert (used.param1, used.param2) == (1, 1)
    for bay in (0, 1):
        reply, _ = status(c, dest=P.bay_address(bay), req=M.MOT_REQ_STATUSUPDATE)
        assert reply.source == P.bay_address(bay)
    c.send(P.long(M.MOT_MOVE_ABSOLUTE, P.bay_address(1), P.HOST, D.pack_chan_int32(1, 40960)))
    done = c.wait_for(M.MOT_MOVE_COMPLETED)
    assert done.source == P.bay_address(1)
    assert D.unpack_status(done.data).position_counts == 40960  # stepper layout
    assert emu.axes[0].position_counts(time.monotonic()) == 0  # bay 0 untouched


def test_parameter_blocks_are_stored_and_velocity_changes_the_motion(emulated):
    emu, c = emulated()
    vp = D.unpack_velparams(c.request(P.short(M.MOT_REQ_VELPARAMS, P.USB, P.HOST, 1),
                                      M.MOT_GET_VELPARAMS).data)
    fam, cpu = emu.controller.scaling, emu.axes[0].cpu
    assert fam.velocity_from_apt(vp.max_velocity, cpu) == pytest.approx(20000.0, rel=1e-6)
    new = D.VelParams(1, 0, fam.acceleration_to_apt(50000.0, cpu),
                      fam.velocity_to_apt(5000.0, cpu))
    c.send(P.long(M.MOT_SET_VELPARAMS, P.USB, P.HOST, D.pack_velparams(new)))
    got = c.request(P.short(M.MOT_REQ_VELPARAMS, P.USB, P.HOST, 1), M.MOT_GET_VELPARAMS)
    assert D.unpack_velparams(got.data) == new
    c.send(P.long(M.MOT_MOVE_RELATIVE, P.USB, P.HOST, D.pack_chan_int32(1, 10)))
    c.wait_for(M.MOT_MOVE_COMPLETED)
    assert emu.axes[0].stage.dynamics.velocity_um_per_s == pytest.approx(5000.0, rel=1e-6)
    for req, get in ((M.MOT_REQ_HOMEPARAMS, M.MOT_GET_HOMEPARAMS),
                     (M.MOT_REQ_JOGPARAMS, M.MOT_GET_JOGPARAMS),
                     (M.MOT_REQ_GENMOVEPARAMS, M.MOT_GET_GENMOVEPARAMS),
                     (M.MOT_REQ_DCPIDPARAMS, M.MOT_GET_DCPIDPARAMS)):
        assert c.request(P.short(req, P.USB, P.HOST, 1), get).chan_ident == 1


def test_disabled_channel_ignores_moves_and_enable_state_is_reported(emulated):
    emu, c = emulated()
    c.send(P.short(M.MOD_SET_CHANENABLESTATE, P.USB, P.HOST, 1, 2))
    got = c.request(P.short(M.MOD_REQ_CHANENABLESTATE, P.USB, P.HOST, 1),
                    M.MOD_GET_CHANENABLESTATE)
    assert got.param2 == 2
    c.send(P.long(M.MOT_MOVE_RELATIVE, P.USB, P.HOST, D.pack_chan_int32(1, 1000)))
    _, st = status(c)
    assert st.position_counts == 0 and not st.has(S.ENABLED | P.MOVING_MASK)


def test_move_beyond_travel_stops_on_the_limit_switch(emulated):
    emu, c = emulated(start_um=24990.0, counter_zero_at_power_on=False)
    c.send(P.long(M.MOT_MOVE_RELATIVE, P.USB, P.HOST, D.pack_chan_int32(1, 10**6)))
    stopped = D.unpack_dcstatus(c.wait_for(M.MOT_MOVE_STOPPED).data)
    assert stopped.has(S.FORWARD_LIMIT)
    assert stopped.position_counts == round(25000.0 * emu.axes[0].cpu)


def test_fault_hooks_motion_error_limit_drop_and_garble(emulated):
    clock = ManualClock()
    emu, c = emulated(start_um=0.0, clock=clock)
    c.send(P.long(M.MOT_MOVE_ABSOLUTE, P.USB, P.HOST, D.pack_chan_int32(1, 500_000)))
    status(c)  # the move has started
    clock.sleep(0.05)  # of the ~0.8 s it takes
    emu.inject_motion_error()
    clock.sleep(1.0)  # past the settle time of the halt
    st = D.unpack_dcstatus(c.wait_for(M.MOT_MOVE_STOPPED).data)
    assert st.has(S.MOTION_ERROR) and 0 < st.position_counts < 500_000
    emu.trigger_limit_switch(forward=False)
    assert status(c)[1].has(S.REVERSE_LIMIT)
    emu.drop_replies(1, msg_ids=[M.MOT_GET_DCSTATUSUPDATE])
    c.frames.clear()
    c.send(P.short(M.MOT_REQ_DCSTATUSUPDATE, P.USB, P.HOST, 1))
    c.send(P.short(M.HW_REQ_INFO, P.USB, P.HOST))  # answered after the request before it
    c.wait_for(M.HW_GET_INFO)
    assert not [f for f in c.frames if f.msg_id == M.MOT_GET_DCSTATUSUPDATE]
    emu.garble_replies(1)
    c.send(P.short(M.HW_REQ_INFO, P.USB, P.HOST))
    c.send(P.short(M.MOT_REQ_DCSTATUSUPDATE, P.USB, P.HOST, 1))
    assert c.wait_for(M.MOT_GET_DCSTATUSUPDATE)  # the next reply still decodes
    assert not [f for f in c.frames if f.msg_id == M.HW_GET_INFO]
    assert c.decoder.discarded_bytes >= 6


def test_unknown_garbled_and_unsupported_input_is_ignored(emulated, caplog):
    emu, c = emulated()
    os.write(c.fd, b"\x00\xff\x12")  # line noise
    c.send(P.short(0x7777, P.USB, P.HOST, 1))  # unknown id
    c.send(P.short(M.MOT_MOVE_JOG, P.USB, P.HOST, 1, 1))  # known, not emulated
    c.send(P.long(M.MOT_MOVE_ABSOLUTE, P.USB, P.HOST, b"\x01"))  # truncated payload
    reply, _ = status(c)
    assert reply.msg_id == M.MOT_GET_DCSTATUSUPDATE
    assert emu.count(0x7777) == 1 and emu.count(M.MOT_MOVE_JOG) == 1
    assert "unsupported message 0x7777" in caplog.text
    assert "malformed MOT_MOVE_ABSOLUTE" in caplog.text


def test_start_and_stop_update_messages(emulated):
    emu, c = emulated("BBD202", ["MLS203-X", "MLS203-Y"], update_period_s=0.02)
    c.send(P.short(M.HW_START_UPDATEMSGS, P.bay_address(1), P.HOST))
    end = time.monotonic() + PATIENCE_S
    while len(updates := [f for f in c.frames if f.msg_id == M.MOT_GET_DCSTATUSUPDATE]) < 5:
        assert time.monotonic() < end, f"{len(updates)} status updates in {PATIENCE_S} s"
        c.collect(0.01)
    assert {f.source for f in updates} == {P.bay_address(1)}
    c.send(P.short(M.HW_STOP_UPDATEMSGS, P.bay_address(1), P.HOST))
    c.send(P.short(M.HW_REQ_INFO, P.RACK, P.HOST))  # answered after the stop was handled
    c.wait_for(M.HW_GET_INFO)
    c.frames.clear()  # any update sent before the stop came before that reply
    c.collect(0.1)  # five update periods
    assert c.frames == []
