"""MC2000B emulator: echo-and-prompt framing, commands, and the chopper it drives."""

from __future__ import annotations

import pytest

from imager.emulators.client import LineClient
from imager.emulators.mc2000b import MC2000BEmulator, MC2000BSession
from imager.emulators.serve import serve_mc2000b_pty
from imager.sim.instruments import SimulatedChopper


class Raw:
    """Send ``cmd\\r`` and return everything up to and including the prompt."""

    def __init__(self, client: LineClient) -> None:
        self.client = client

    def __call__(self, command: str) -> bytes:
        self.client.write(command)
        return (self.client.read() + "> ").encode()


@pytest.fixture
def chopper() -> SimulatedChopper:
    return SimulatedChopper(frequency_Hz=100.0, enabled=True)


@pytest.fixture
def emulator(chopper: SimulatedChopper) -> MC2000BEmulator:
    return MC2000BEmulator(chopper)


@pytest.fixture
def raw(emulator: MC2000BEmulator):
    with serve_mc2000b_pty(emulator) as server:
        client = LineClient.serial(
            server.port, baud_rate=115200, write_termination=b"\r", read_termination=b"> ",
            timeout_s=60.0,  # replies come; a loaded machine may be slow to send them
        )
        with client:
            yield Raw(client)


def test_echo_reply_and_prompt_bytes(raw: Raw) -> None:
    assert raw("freq?") == b"freq?\r100\r> "
    assert raw("freq=250") == b"freq=250\r> "
    assert raw("") == b"\r> "
    assert raw("id?").startswith(b"id?\rTHORLABS MC2000B")


def test_sets_drive_the_chopper_object(raw: Raw, chopper: SimulatedChopper) -> None:
    raw("freq=250")
    assert chopper.frequency_Hz == 250.0
    raw("enable=0")
    assert not chopper.enabled
    assert raw("enable?") == b"enable?\r0\r> "
    assert raw("refoutfreq?") == b"refoutfreq?\r250\r> "  # target output mode
    raw("output=1")
    assert raw("refoutfreq?") == b"refoutfreq?\r0\r> "  # actual: stopped
    raw("enable=1")
    assert chopper.enabled


def test_external_reference_uses_input_and_harmonics(
    raw: Raw, emulator: MC2000BEmulator, chopper: SimulatedChopper
) -> None:
    raw("ref=2")  # external-outer on the default MC1F10HP
    assert not chopper.enabled  # no external signal yet
    emulator.set_external_input(60.0)
    raw("nharmonic=3")
    raw("dharmonic=2")
    assert chopper.enabled and chopper.frequency_Hz == pytest.approx(90.0)
    assert raw("input?") == b"input?\r60\r> "


def test_errors_are_reply_lines(raw: Raw, chopper: SimulatedChopper) -> None:
    assert raw("bogus?") == b"bogus?\rCommand error CMD_NOT_DEFINED\r> "
    assert raw("refoutfreq=3") == b"refoutfreq=3\rCommand error CMD_NOT_DEFINED\r> "
    assert raw("freq=abc") == b"freq=abc\rCommand error CMD_ARG_INVALID\r> "
    assert raw("freq=0") == b"freq=0\rCommand error CMD_ARG_INVALID\r> "
    assert raw("ref=3") == b"ref=3\r> "  # 4 modes on MC1F10HP
    raw("blade=5")  # MC1F100: internal/external only; ref clipped to 1
    assert raw("ref?") == b"ref?\r1\r> "
    assert raw("ref=2") == b"ref=2\rCommand error CMD_ARG_INVALID\r> "
    assert chopper.frequency_Hz == 100.0


def test_case_and_help(raw: Raw) -> None:
    assert raw("FREQ?") == b"FREQ?\r100\r> "
    assert b"freq=" in raw("?")


def test_session_ignores_linefeeds_and_splits_lines(emulator: MC2000BEmulator) -> None:
    session = MC2000BSession(emulator)
    assert session.feed(b"fr") == []
    assert session.feed(b"eq?\r\nphase?\r") == [b"freq?\r100\r> ", b"phase?\r0\r> "]


def test_unknown_blade_rejected(chopper: SimulatedChopper) -> None:
    with pytest.raises(ValueError, match="blade"):
        MC2000BEmulator(chopper, blade="NOPE")
