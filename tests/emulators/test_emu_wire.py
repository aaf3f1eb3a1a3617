"""Transports, fault injection, clocks and the command syntax of the emulators."""

from __future__ import annotations

import threading
import time

import pytest

from imager.emulators.client import LineClient
from imager.emulators.clocks import WallClock
from imager.emulators.srs_syntax import (
    CommandError,
    ExecutionError,
    match_token,
    parse_command,
    split_commands,
    to_int,
)
from imager.emulators.wire import PtyServer, ReplyFaults, TcpServer
from imager.instruments.srs import wrap_phase_deg


class Echo:
    """Upper-cases each line, one message per line."""

    def __init__(self) -> None:
        self.buf = b""

    def feed(self, data: bytes) -> list[bytes]:
        self.buf += data
        out = []
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            out.append(line.upper() + b"\n")
        return out


def _emulator_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("echo-")]


def test_tcp_server_serves_clients_and_joins_threads() -> None:
    with TcpServer(Echo, name="echo") as server:
        assert server.host == "127.0.0.1" and server.port > 0
        assert server.resource_name == f"TCPIP::127.0.0.1::{server.port}::SOCKET"
        with LineClient.tcp(server.port, timeout_s=60.0) as a, \
                LineClient.tcp(server.port, timeout_s=60.0) as b:
            assert a.query("abc") == "ABC"
            assert b.query("def") == "DEF"
    assert not _emulator_threads()


def test_tcp_server_refuses_non_loopback() -> None:
    with pytest.raises(ValueError, match="loopback"):
        TcpServer(Echo, host="0.0.0.0")


def test_pty_server_serves_reopens_and_hangs_up() -> None:
    server = PtyServer(Echo, name="echo")
    try:
        assert server.resource_name == f"ASRL{server.port}::INSTR"
        for _ in range(2):  # the pty survives a client closing it
            with LineClient.serial(server.port, timeout_s=60.0) as client:
                assert client.query("xyz") == "XYZ"
        server.hang_up()
        assert not _emulator_threads()
    finally:
        server.close()


def test_reply_faults() -> None:
    faults = ReplyFaults()
    faults.drop_next_reply(2)
    faults.garble_next_reply(2)
    assert faults.apply(b"a\n") is None and faults.apply(b"b\n") is None
    assert faults.apply(b"1.0,2.0\n") == b"~#~#~#~\n"
    assert faults.apply(b"freq?\r100\r> ") == b"~#~#~#~#~\r> "
    assert faults.apply(b"ok\n") == b"ok\n"
    faults.reply_delay_s = 0.05
    t0 = time.monotonic()
    faults.apply(b"x\n")
    assert time.monotonic() - t0 >= 0.05
    faults.clear()
    assert faults.reply_delay_s == 0.0 and (faults.dropped, faults.garbled) == (2, 2)


def test_wall_clock() -> None:
    before = time.monotonic()
    clock = WallClock(start_s=5.0)
    t0 = clock.now_s()
    assert 5.0 <= t0 <= 5.0 + (time.monotonic() - before) + 1e-9  # no more than has passed
    clock.sleep(0.01)
    assert clock.now_s() - t0 >= 0.01
    with pytest.raises(ValueError):
        clock.sleep(-1.0)


def test_command_syntax() -> None:
    assert split_commands(" SENS 5; ;OFLT?;") == ["SENS 5", "OFLT?"]
    c = parse_command("snap? 1, 2 ,3")
    assert (c.name, c.query, c.args) == ("SNAP", True, ("1", "2", "3"))
    c = parse_command("OUTP?1")
    assert (c.name, c.query, c.args) == ("OUTP", True, ("1",))
    c = parse_command("*idn?")
    assert (c.name, c.query, c.args) == ("*IDN", True, ())
    c = parse_command("SENS5")
    assert (c.name, c.query, c.args) == ("SENS", False, ("5",))
    assert parse_command(":LIAE 2,1").args == ("2", "1")
    for bad in ("5", "?", "SNAP? 1,,2"):
        with pytest.raises(CommandError):
            parse_command(bad)
    assert to_int("3.0", 0, 5) == 3
    with pytest.raises(CommandError):
        to_int("3.5", 0, 5)
    with pytest.raises(ExecutionError):
        to_int("6", 0, 5)
    tokens = ("X", "Y", "R", "THeta", "XNOise")
    assert [match_token(w, tokens) for w in ("x", "th", "THETA", "t", "xno", "xn")] == [
        0, 3, 3, None, 4, None,
    ]  # fmt: skip
    assert wrap_phase_deg(190.0) == pytest.approx(-170.0)
    assert wrap_phase_deg(-180.0) == pytest.approx(180.0)
    assert wrap_phase_deg(540.0) == pytest.approx(180.0)
