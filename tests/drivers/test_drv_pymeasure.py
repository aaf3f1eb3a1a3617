"""Third-party clients against the emulators: pymeasure's SR830 and SR860 classes.

Proves the emulators speak the instruments' language as other software sends
it (``SENS%d`` without spaces, ``DDEF?1;`` with a trailing semicolon,
``SNAP? X, Y`` tokens, ``OUTP?1`` ...), not only as this project's drivers do.

pymeasure's setters only write; a query after a setter shows the emulator has
handled it before the test lets the lock-in filter settle. Replies are awaited
for up to a minute: a loaded machine may be slow to answer.
"""

from __future__ import annotations

import pytest
from emulated_lab import EmulatedLab, Signal, start_emulated_lab
from pymeasure.instruments.srs import SR830 as PmSR830
from pymeasure.instruments.srs import SR860 as PmSR860


@pytest.fixture(params=["tcp", "pty"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _open(lab: EmulatedLab, transport: str, cls: type, read_termination: str):
    server = lab.lockin_tcp if transport == "tcp" else lab.lockin_pty
    assert server is not None
    return cls(
        server.resource_name,
        visa_library="@py",
        read_termination=read_termination,
        write_termination="\n",
        timeout=60_000,
    )


def _set_signal(lab: EmulatedLab, value_V: complex) -> None:
    assert isinstance(lab.signal, Signal)
    lab.signal.value_V = value_V


def test_pymeasure_sr830(transport: str) -> None:
    with start_emulated_lab("SR830", time_constant_s=1e-3, chopper_pty=False) as lab:
        term = "\r" if transport == "pty" else "\n"
        lia = _open(lab, transport, PmSR830, term)
        try:
            assert "SR830" in lia.id
            lia.clear()
            lia.sensitivity = 5e-3
            lia.time_constant = 1e-3
            lia.filter_slope = 12
            assert lia.sensitivity == pytest.approx(5e-3)
            assert lia.time_constant == pytest.approx(1e-3)
            assert lab.lockin_backend.sensitivity_V == pytest.approx(5e-3)
            lia.phase = 30.0
            assert lia.phase == pytest.approx(30.0)
            lia.phase = 0.0
            assert lia.phase == 0.0  # handled: the filter settles from the new phase on
            _set_signal(lab, 2e-3 + 1e-3j)
            lab.clock.sleep(0.02)
            x, y = lia.xy
            assert (x, y) == pytest.approx((2e-3, 1e-3), rel=1e-3)
            assert lia.x == pytest.approx(2e-3, rel=1e-3)
            assert lia.magnitude == pytest.approx(abs(2e-3 + 1e-3j), rel=1e-3)
            assert lia.snap("X", "Y", "R", "Theta", "Frequency")[4] == pytest.approx(100.0)
            assert lia.reference_source == "External"
            assert lia.frequency == pytest.approx(100.0)
            lia.channel1 = "R"
            # DDEF? answers "display,ratio" as the manual says; pymeasure's getter
            # does not unpack that pair, so check the reply itself
            assert lia.ask("DDEF?1") == "1,0"
            lia.aux_out_1 = 1.25
            assert lia.aux_out_1 == pytest.approx(1.25)
            assert lia.aux_in_1 == 0.0
            assert int(lia.lia_status) == 0
            assert int(lia.err_status) == 0
            _set_signal(lab, 8e-3)
            lab.clock.sleep(0.02)
            assert lia.is_out_of_range()
            lia.auto_gain()
            assert lia.sensitivity == pytest.approx(1e-2)
            lab.chopper.enabled = False
            assert int(lia.lia_status) & 8
        finally:
            lia.adapter.close()


def test_pymeasure_sr860(transport: str) -> None:
    with start_emulated_lab("SR860", time_constant_s=1e-3, chopper_pty=False) as lab:
        lia = _open(lab, transport, PmSR860, "\n")
        try:
            assert "SR860" in lia.ask("*IDN?")
            lia.sensitivity = 5e-3
            lia.time_constant = 1e-3
            lia.filter_slope = 1
            assert lia.sensitivity == pytest.approx(5e-3)
            assert lia.time_constant == pytest.approx(1e-3)
            assert lia.filter_slope == 1
            assert lab.lockin_backend.sensitivity_V == pytest.approx(5e-3)
            assert lia.reference_source == "EXT"
            lia.reference_source = "INT"
            lia.frequency = 1234.5
            assert lia.frequency == pytest.approx(1234.5)
            lia.reference_source = "EXT"
            assert lia.reference_source == "EXT"  # handled before the filter settles
            _set_signal(lab, 2e-3 + 1e-3j)
            lab.clock.sleep(0.02)
            assert lia.snap() == pytest.approx([2e-3, 1e-3], rel=1e-3)
            assert lia.snap("X", "Y", "THeta")[2] == pytest.approx(26.565, abs=0.01)
            assert lia.snap_all()[:2] == pytest.approx([2e-3, 1e-3], rel=1e-3)
            assert lia.x == pytest.approx(2e-3, rel=1e-3)
            assert lia.theta == pytest.approx(26.565, abs=0.01)
            lia.phase = 45.0
            assert lia.phase == pytest.approx(45.0)
            lia.harmonic = 3
            assert lia.harmonic == 3
            lia.input_range = "10M"
            assert lia.input_range == "10M"
            lia.aux_out_1 = -2.5
            assert lia.aux_out_1 == pytest.approx(-2.5)
            assert lia.get_noise_bandwidth > 0.0
            assert lia.extfreqency == pytest.approx(100.0)
        finally:
            lia.adapter.close()
