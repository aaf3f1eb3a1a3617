"""SR830 data buffer and SR860 capture buffer of the emulators, byte by byte over TCP.

The emulated lock-in runs on a virtual clock that only the tests advance, after a round
trip has shown that every command sent before was handled: a buffer holds exactly the
samples of the time that passed (``SRAT 10``, 64 Hz, one second: 65 points, the first
at the start). The input is a ramp, so every point differs and ranges can be checked:
the twin holds its input between updates (here the sample times) and the 3 ms filter
settles within a sample interval, so each point is the ramp at its time, to
:data:`REL` (neighbours differ by > 1 %). Replies are awaited for up to
:data:`PATIENCE_S`.
"""

from __future__ import annotations

import socket
import struct
import time

import numpy as np
import pytest
from emulated_lab import EmulatedLab, start_emulated_lab

from imager.instruments import srs
from imager.sim.clock import VirtualClock

PATIENCE_S = 60.0
ESR_EXE, ESR_CMD = 16, 32
SENS_V = 0.1  # the emulated lab's sensitivity
TAU_S = 3e-3  # and time constant
REL = 5e-4
SETTLE_S = 0.1  # 33 time constants before the tests' first command
THETA_DEG = 63.434949  # atan(2)


def at(t_s):
    """X of the ramp at time ``t_s`` (s since the start of the test), V."""
    return 1e-3 + 2e-4 * np.asarray(t_s)


def ramp(t_s: float) -> complex:
    """The input: (1 + 0.2 t) mV in X, twice that in Y."""
    return complex(at(t_s)) * (1.0 + 2.0j)


class Raw:
    """A TCP client that reads text lines and exact byte counts."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=PATIENCE_S)
        self.buf = bytearray()

    def send(self, line: str) -> None:
        self.sock.sendall(line.encode("ascii") + b"\n")

    def _fill(self, done) -> None:
        deadline = time.monotonic() + PATIENCE_S
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"no complete reply (got {bytes(self.buf)!r})")
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed")
            self.buf += data

    def line(self) -> str:
        self._fill(lambda: b"\n" in self.buf)
        end = self.buf.index(b"\n")
        text = self.buf[:end].decode("ascii")
        del self.buf[: end + 1]
        return text

    def exact(self, count: int) -> bytes:
        self._fill(lambda: len(self.buf) >= count)
        data = bytes(self.buf[:count])
        del self.buf[:count]
        return data

    def q(self, line: str) -> str:
        self.send(line)
        return self.line()

    def q_bytes(self, line: str, count: int) -> bytes:
        """Send a query and read ``count`` bytes; nothing else (no terminator) follows."""
        self.send(line)
        data = self.exact(count)
        assert self.q("*IDN?").startswith("Stanford_Research_Systems,")  # next reply is clean
        return data

    def handled(self) -> None:
        assert self.q("*IDN?").startswith("Stanford_Research_Systems,")

    def error_bits(self, line: str) -> int:
        """``*ESR?`` after ``line`` (which must not reply: the next line read is the ESR)."""
        self.send("*CLS")
        self.send(line)
        return int(self.q("*ESR?"))


@pytest.fixture(params=["SR830", "SR860"])
def model(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _lab(model: str) -> EmulatedLab:
    return start_emulated_lab(model, signal=ramp, time_constant_s=TAU_S, sensitivity_V=SENS_V,
                              pty=False, chopper_pty=False, clock=VirtualClock())


@pytest.fixture
def sr830():
    with _lab("SR830") as lab:
        assert lab.lockin_tcp is not None
        raw = Raw(lab.lockin_tcp.port)
        lab.clock.sleep(SETTLE_S)
        yield lab, raw
        raw.sock.close()


@pytest.fixture
def sr860():
    with _lab("SR860") as lab:
        assert lab.lockin_tcp is not None
        raw = Raw(lab.lockin_tcp.port)
        lab.clock.sleep(SETTLE_S)
        yield lab, raw
        raw.sock.close()


def _trca(raw: Raw, channel: int, first: int, count: int) -> list[float]:
    reply = raw.q(f"TRCA? {channel},{first},{count}")
    assert reply.endswith(",")  # every value is followed by a comma
    return [float(v) for v in reply[:-1].split(",")]


def _run(lab: EmulatedLab, raw: Raw, setup: str, seconds: float) -> float:
    """Send ``setup``, wait until it is handled, let ``seconds`` pass; the time it was handled."""
    raw.send(setup)
    raw.handled()
    t0 = lab.clock.now_s()
    lab.clock.sleep(seconds)
    return t0


# ----------------------------------------------------------------------------- SR830
def test_sr830_buffer_holds_x_and_y_at_the_rate(sr830) -> None:
    lab, raw = sr830
    t0 = _run(lab, raw, "REST;SRAT 10;SEND 0;STRT", 1.0)
    assert raw.q("SPTS?") == "65"  # 64 Hz for 1 s, the first point at STRT
    x, y = _trca(raw, 1, 0, 65), _trca(raw, 2, 0, 65)
    assert len(x) == len(y) == 65
    t = t0 + np.arange(65) / 64.0
    assert x == pytest.approx(at(t), rel=REL)
    assert y == pytest.approx(2 * at(t), rel=REL)
    assert _trca(raw, 1, 10, 5) == x[10:15]  # any range, 0 = oldest


def test_sr830_binary_transfers_decode_to_the_ascii_values(sr830) -> None:
    lab, raw = sr830
    _run(lab, raw, "REST;SRAT 10;STRT", 1.0)
    raw.send("PAUS")
    x = _trca(raw, 1, 0, 65)
    trcb = raw.q_bytes("TRCB? 1,0,65", 4 * 65)  # IEEE float32, LSB first, no terminator
    assert list(struct.unpack("<65f", trcb)) == pytest.approx(x, rel=1e-6)
    part = raw.q_bytes("TRCB? 2,3,7", 28)
    assert list(struct.unpack("<7f", part)) == pytest.approx(_trca(raw, 2, 3, 7), rel=1e-6)
    trcl = raw.q_bytes("TRCL? 1,0,65", 4 * 65)  # int16 mantissa, int16 exponent
    m, e = np.frombuffer(trcl, dtype="<i2").reshape(-1, 2).T.astype(float)
    assert (m * 2.0 ** (e - 124)).tolist() == pytest.approx(x, rel=2.0**-14)
    assert np.all((np.abs(m) >= 2**14) & (np.abs(m) < 2**15))  # 15 significant bits
    assert srs.sr830_trcl_decode(trcl) == pytest.approx(x, rel=2.0**-14)


def test_sr830_displays_and_offsets_are_what_is_stored(sr830) -> None:
    lab, raw = sr830
    raw.send("DDEF 1,1,0;DDEF 2,1,0")  # CH1 R, CH2 theta
    assert raw.q("DDEF? 1") == "1,0"
    t0 = _run(lab, raw, "REST;SRAT 10;STRT", 0.5)
    r, theta = _trca(raw, 1, 10, 5), _trca(raw, 2, 10, 5)
    t = np.arange(10, 15) / 64.0
    assert r == pytest.approx(at(t0 + t) * abs(1 + 2j), rel=REL)
    assert theta == pytest.approx([THETA_DEG] * 5, rel=1e-6)
    raw.send("OEXP 1,10,0;DDEF 1,0,0")  # CH1 X, minus 10 % of the 0.1 V full scale
    assert raw.q("OEXP? 1") == "10,0"
    t1 = _run(lab, raw, "REST;STRT", 0.5)
    x = _trca(raw, 1, 10, 5)
    assert x == pytest.approx(at(t1 + t) - 1e-2, rel=REL)
    assert float(raw.q("OUTP? 1")) > 1e-3  # OUTP? has no offset
    raw.send("OEXP 1,0,2")  # expand x100: the display clips at 1 mV
    _run(lab, raw, "REST;STRT", 0.5)
    assert _trca(raw, 1, 10, 1) == [pytest.approx(1e-3)]


def test_sr830_triggers_store_points_or_start_the_scan(sr830) -> None:
    lab, raw = sr830
    raw.send("REST;SRAT 14;TRIG")
    assert raw.q("SPTS?") == "0"  # the scan has not been started
    raw.send("STRT;TRIG;TRIG")
    raw.handled()
    lab.lockin.trigger_input()  # the rear-panel TRIG IN
    lab.clock.sleep(1.0)  # nothing stored without triggers
    assert raw.q("SPTS?") == "3"
    _run(lab, raw, "REST;TSTR 1;SRAT 10", 1.0)
    assert raw.q("SPTS?") == "0"  # waits for a trigger
    lab.lockin.trigger_input()
    lab.clock.sleep(0.5)
    assert raw.q("SPTS?") == "33"


def test_sr830_one_shot_stops_when_full_and_loop_overwrites(sr830) -> None:
    lab, raw = sr830
    n = srs.SR830_BUFFER_POINTS
    t0 = _run(lab, raw, "REST;SRAT 13;SEND 0;STRT", 40.0)  # 20481 points due at 512 Hz
    assert raw.q("SPTS?") == str(n)
    one_shot_last = _trca(raw, 1, n - 1, 1)[0]
    assert one_shot_last == pytest.approx(at(t0 + (n - 1) / 512), rel=REL)
    t1 = _run(lab, raw, "REST;SEND 1;STRT", 40.0)
    assert raw.q("SPTS?") == str(n)
    newest, oldest = _trca(raw, 1, n - 1, 1)[0], _trca(raw, 1, 0, 1)[0]
    assert newest == pytest.approx(at(t1 + 40.0), rel=REL)  # point 20480
    assert oldest == pytest.approx(at(t1 + (20480 - n + 1) / 512), rel=REL)


def test_sr830_pause_resume_reset_and_delayed_start(sr830) -> None:
    lab, raw = sr830
    _run(lab, raw, "REST;SRAT 10;STRT", 0.5)
    raw.send("PAUS")
    assert raw.q("SPTS?") == "33"
    lab.clock.sleep(1.0)
    assert raw.q("SPTS?") == "33"
    _run(lab, raw, "STRT", 0.5)
    assert raw.q("SPTS?") == "66"
    raw.send("REST")
    assert raw.q("SPTS?") == "0"
    _run(lab, raw, "FAST 2;STRD", 0.4)  # PyMeasure's start: storing begins 0.5 s later
    assert raw.q("SPTS?") == "0"
    lab.clock.sleep(0.2)
    assert raw.q("SPTS?") == "7"  # t = 0, 1/64 ... 6/64 after the delay
    assert raw.q("FAST?") == "2"


@pytest.mark.parametrize(("line", "bits"), [
    ("SRAT 15", ESR_EXE), ("SRAT 2.5", ESR_CMD), ("SEND 2", ESR_EXE), ("FAST 3", ESR_EXE),
    ("TRCA? 1,0,0", ESR_EXE), ("TRCA? 3,0,1", ESR_EXE), ("TRCA? 1,60,10", ESR_EXE),
    ("TRCB? 1,0,66", ESR_EXE), ("TRCL? 2,65,1", ESR_EXE), ("TRCA? 1,0", ESR_CMD),
    ("TRCB 1,0,1", ESR_CMD), ("SPTS 5", ESR_CMD), ("STRT 1", ESR_CMD), ("TRIG?", ESR_CMD),
    ("OEXP 1,106,0", ESR_EXE), ("OEXP 4,0,0", ESR_EXE), ("OEXP 1,0,3", ESR_EXE),
    ("OEXP 1,0", ESR_CMD), ("OEXP? 1,0", ESR_CMD),
])  # fmt: skip
def test_sr830_bad_buffer_commands_set_error_bits_and_get_no_reply(sr830, line, bits) -> None:
    lab, raw = sr830
    _run(lab, raw, "REST;SRAT 10;STRT", 1.0)
    raw.send("PAUS")
    assert raw.q("SPTS?") == "65"
    assert raw.error_bits(line) == bits


# ----------------------------------------------------------------------------- SR860
def test_sr860_capture_one_shot_into_a_binary_block(sr860) -> None:
    lab, raw = sr860
    assert float(raw.q("CAPTURERATEMAX?")) == srs.sr860_capture_rate_max_Hz(TAU_S) == 2441.40625
    raw.send("CAPTURECFG XY;CAPTURELEN 3;CAPTURERATE 5")
    assert raw.q("CAPTURELEN?") == "4"  # rounded up to even kB
    assert raw.q("CAPTURECFG?") == "1"
    assert float(raw.q("CAPTURERATE?")) == 2441.40625 / 32
    t0 = _run(lab, raw, "CAPTURESTART ONE,IMM", 1.0)
    assert raw.q("CAPTURESTAT?") == "3"  # capturing, triggered
    assert raw.q("CAPTUREBYTES?") == str(77 * 8)  # 76.29 Hz for 1 s, XY float32
    assert raw.error_bits("CAPTUREGET? 0,1") == ESR_EXE  # not while capturing
    raw.send("CAPTURESTOP")
    assert raw.q("CAPTURESTAT?") == "2"
    assert raw.q("CAPTUREPROG?") == "2"
    block = raw.q_bytes("CAPTUREGET? 0,1", 6 + 1024)
    assert block[:6] == b"#41024"  # IEEE 488.2 definite length, then the data only
    xy = np.frombuffer(block[6:], dtype="<f4").reshape(-1, 2)
    t = t0 + np.arange(77) / (2441.40625 / 32)
    assert xy[:77, 0] == pytest.approx(at(t), rel=REL)
    assert xy[:77, 1] == pytest.approx(2 * at(t), rel=REL)
    assert not xy[77:].any()  # the rest of the buffer is empty
    assert [float(v) for v in raw.q("CAPTUREVAL? 40").split(",")] == pytest.approx(
        xy[40].tolist(), rel=1e-6)
    wrapped = raw.q_bytes("CAPTUREGET? 3,2", 6 + 2048)  # i + j beyond the length wraps
    assert wrapped[6 + 1024:] == block[6:]


def test_sr860_continuous_capture_wraps_and_stores_the_config(sr860) -> None:
    lab, raw = sr860
    t0 = _run(lab, raw, "CAPTURELEN 2;CAPTURECFG X;CAPTURERATE 5;CAPTURESTART CONT,IMM", 10.0)
    assert raw.q("CAPTURESTAT?") == "7"  # capturing, triggered, wrapped
    samples = 1 + int(10.0 * 2441.40625 / 32)  # 763 X values in a 512-value buffer
    assert raw.q("CAPTUREBYTES?") == str(4 * samples % 2048)  # length - 2048 + partial block
    raw.send("CAPTURESTOP")
    assert raw.q("CAPTUREPROG?") == "2" and raw.q("CAPTUREBYTES?") == "2048"
    newest = float(raw.q("CAPTUREVAL? 511"))
    assert newest == pytest.approx(at(t0 + (samples - 1) * 32 / 2441.40625), rel=REL)
    _run(lab, raw, "CAPTURECFG XYRT;CAPTURESTART ONE,IMM", 0.1)
    x, y, r, theta = (float(v) for v in raw.q("CAPTUREVAL? 3").split(","))
    assert r == pytest.approx(abs(complex(x, y)), rel=1e-6)
    assert theta == pytest.approx(THETA_DEG, rel=1e-6)


def test_sr860_triggers_start_a_capture_or_take_one_sample_each(sr860) -> None:
    lab, raw = sr860
    _run(lab, raw, "CAPTURERATE 5;CAPTURESTART ONE,TRIG", 1.0)
    assert raw.q("CAPTURESTAT?") == "0" and raw.q("CAPTUREBYTES?") == "0"
    raw.send("TRIG")
    raw.handled()
    lab.clock.sleep(0.5)
    assert raw.q("CAPTURESTAT?") == "3"
    assert raw.q("CAPTUREBYTES?") == str(8 * (1 + int(0.5 * 2441.40625 / 32)))
    _run(lab, raw, "CAPTURESTOP;CAPTURESTART ONE,SAMP", 1.0)
    assert raw.q("CAPTUREBYTES?") == "0"
    raw.send("TRIG")
    lab.lockin.trigger_input()
    assert raw.q("CAPTUREBYTES?") == "16"


def test_sr860_offsets_apply_to_captured_outputs(sr860) -> None:
    lab, raw = sr860
    raw.send("COFP 0,10;COFA X,ON;CEXP 1,X100")
    assert (raw.q("COFP? 0"), raw.q("COFA? 0"), raw.q("CEXP? Y")) == ("10", "1", "2")
    t0 = _run(lab, raw, "CAPTURERATE 5;CAPTURESTART ONE,IMM", 0.5)
    x, y = (float(v) for v in raw.q("CAPTUREVAL? 10").split(","))
    t = t0 + 10 * 32 / 2441.40625
    assert x == pytest.approx(at(t) - 0.1 * SENS_V, rel=REL)
    assert y == pytest.approx(SENS_V / 100)  # 2 mV clipped at the expanded full scale
    assert float(raw.q("OUTP? 0")) > 1e-3  # outputs have no offset


@pytest.mark.parametrize(("line", "bits"), [
    ("CAPTURELEN 0", ESR_EXE), ("CAPTURELEN 4097", ESR_EXE), ("CAPTURERATE 21", ESR_EXE),
    ("CAPTURECFG XYZ", ESR_CMD), ("CAPTURESTART ONE", ESR_CMD),
    ("CAPTURESTART TWICE,IMM", ESR_CMD), ("CAPTUREGET? 0,65", ESR_EXE),
    ("CAPTUREGET? 0", ESR_CMD), ("CAPTUREVAL? 99999999", ESR_EXE), ("COFP 0,1000", ESR_EXE),
    ("CEXP 3,0", ESR_EXE), ("CAPTURESTAT 1", ESR_CMD), ("CAPTURERATEMAX 1", ESR_CMD),
    ("OFLT 0;CAPTURERATE 0;CAPTURESTART ONE,IMM", ESR_EXE),  # 1.25 MHz: the emulator's limit
])  # fmt: skip
def test_sr860_bad_capture_commands_set_error_bits_and_get_no_reply(sr860, line, bits) -> None:
    lab, raw = sr860
    assert raw.error_bits(line) == bits


def test_sr860_capture_settings_are_refused_while_capturing(sr860) -> None:
    lab, raw = sr860
    _run(lab, raw, "CAPTURERATE 5;CAPTURESTART CONT,IMM", 0.1)
    for line in ("CAPTURECFG X", "CAPTURELEN 8", "CAPTUREPROG?"):
        assert raw.error_bits(line) == ESR_EXE
    assert raw.q("CAPTURECFG?") == "1" and raw.q("CAPTURELEN?") == "256"
