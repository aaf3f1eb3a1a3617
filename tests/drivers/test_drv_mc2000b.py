"""MC2000B driver (thorlabs-mc2000b) against the emulator on a pty, in the emulated lab.

Replies that must come are awaited for up to :data:`PATIENCE_S` (a loaded machine may
be slow to send them); the timeout is short only where no reply can come.
"""

from __future__ import annotations

import os

import pytest
from emulated_lab import EmulatedLab, start_emulated_lab

from imager.devices.interfaces import Chopper, LockInStatus
from imager.drivers import SR830, InstrumentError, MC2000BChopper
from imager.drivers.mc2000b import LIBRARY_READ_TIMEOUT_S

PATIENCE_S = 60.0


@pytest.fixture
def lab():
    with start_emulated_lab("SR830", time_constant_s=1e-3, pty=False) as lab:
        yield lab


@pytest.fixture
def chopper(lab: EmulatedLab):
    assert lab.chopper_pty is not None
    with MC2000BChopper(lab.chopper_pty.port, timeout_s=PATIENCE_S) as driver:
        yield driver


def test_identify_and_settings(chopper: MC2000BChopper) -> None:
    assert isinstance(chopper, Chopper)
    assert chopper.identify().startswith("THORLABS MC2000B")
    s = chopper.settings()
    assert s["blade"] == "MC1F10HP" and s["reference_mode"] == "internal-outer"
    assert s["frequency_Hz"] == 100.0 and s["enabled"] is True


def test_frequency_and_enable_drive_the_lab(chopper: MC2000BChopper, lab: EmulatedLab) -> None:
    chopper.frequency_Hz = 272.6
    assert chopper.frequency_Hz == 273.0
    assert lab.chopper.frequency_Hz == 273.0
    assert lab.lockin.reference_frequency_Hz() == 273.0
    assert chopper.reference_output_frequency_Hz == 273.0
    assert lab.lockin_tcp is not None
    with SR830(lab.lockin_tcp.resource_name, timeout_s=PATIENCE_S) as lia:
        assert lia.reference_frequency_Hz == pytest.approx(273.0)
        assert lia.read_xy().status == LockInStatus.OK
        chopper.enabled = False
        assert not lab.chopper.enabled
        assert lia.read_xy().status & LockInStatus.REFERENCE_UNLOCK
        chopper.enabled = True
        lia.read_xy()
        assert lia.read_xy().status == LockInStatus.OK


def test_blade_modes_and_phase(chopper: MC2000BChopper, lab: EmulatedLab) -> None:
    chopper.reference_mode = "external-inner"
    assert chopper.reference_mode == "external-inner"
    assert not lab.chopper.enabled  # external reference with nothing on REF IN
    chopper.blade = "MC1F60"
    assert chopper.blade == "MC1F60"
    assert chopper.reference_mode == "external"
    chopper.reference_mode = "internal"
    assert lab.chopper.enabled
    chopper.output_mode = "actual"
    assert chopper.output_mode == "actual"
    chopper.phase_deg = 370
    assert chopper.phase_deg == 10
    with pytest.raises(ValueError):
        chopper.reference_mode = "internal-outer"  # not on a single-ring blade
    with pytest.raises(ValueError):
        chopper.blade = "NOPE"
    with pytest.raises(ValueError):
        chopper.frequency_Hz = 0.0


def test_rejected_value_is_an_instrument_error(chopper: MC2000BChopper) -> None:
    with pytest.raises(InstrumentError, match=r"MC2000B at /dev/pts/\d+: 'freq=20000'"):
        chopper.frequency_Hz = 20000.0


def test_garbled_and_dropped_replies(chopper: MC2000BChopper, lab: EmulatedLab) -> None:
    assert lab.chopper_pty is not None
    lab.chopper_pty.faults.garble_next_reply(2)  # the library sends "" then "freq?"
    with pytest.raises(InstrumentError, match="'freq\\?' failed"):
        _ = chopper.frequency_Hz
    lab.chopper_pty.faults.drop_next_reply(2)
    chopper.timeout_s = LIBRARY_READ_TIMEOUT_S  # no reply comes: do not wait long for it
    with pytest.raises(InstrumentError, match="'enable\\?' failed"):
        _ = chopper.enabled
    chopper.timeout_s = PATIENCE_S
    assert chopper.frequency_Hz == 100.0  # recovered


def test_open_failures() -> None:
    with pytest.raises(InstrumentError, match="cannot open"):
        MC2000BChopper("/dev/nonexistent-tty")
    master, slave = os.openpty()  # a port where nothing answers
    try:
        with pytest.raises(InstrumentError, match="cannot open"):
            MC2000BChopper(os.ttyname(slave))
    finally:
        os.close(master)
        os.close(slave)


def test_read_timeout_is_settable_and_checked(lab: EmulatedLab) -> None:
    assert lab.chopper_pty is not None
    with MC2000BChopper(lab.chopper_pty.port) as chopper:
        assert chopper.timeout_s == LIBRARY_READ_TIMEOUT_S == 0.2  # the library's default
        chopper.timeout_s = 30.0
        assert chopper.frequency_Hz == 100.0 and chopper._dev._sp.timeout == 30.0
        with pytest.raises(ValueError, match="timeout_s must be > 0"):
            chopper.timeout_s = 0.0
    with pytest.raises(ValueError, match="timeout_s must be > 0"):
        MC2000BChopper(lab.chopper_pty.port, timeout_s=float("nan"))
