"""SR830 / SR860 emulators: the command set over raw TCP and pty connections.

The emulated lock-in runs on a virtual clock that only the tests advance
(:meth:`Wire.settle`), after a round trip has shown that the emulator has handled
every command sent before: the filter is read at exact times after each change,
however slowly the machine runs. Replies are awaited for up to :data:`PATIENCE_S`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
from emulated_lab import EmulatedLab, Signal, start_emulated_lab

from imager.emulators.client import LineClient
from imager.instruments.srs import SR830, SR860
from imager.sim.clock import VirtualClock

#: Bound of every wait for a reply that must come.
PATIENCE_S = 60.0


@dataclass(frozen=True)
class Spec:
    """What differs between the two models, for writing one test for both."""

    model: str
    sens: str
    sensitivities: tuple[float, ...]
    time_constants: tuple[float, ...]
    ref: str
    external: int
    internal: int
    snap_xy: str
    output_bits: int


SPECS = {
    "SR830": Spec("SR830", "SENS", SR830.sensitivities_V, SR830.time_constants_s,
                  "FMOD", 0, 1, "SNAP?1,2", 0b100),
    "SR860": Spec("SR860", "SCAL", SR860.sensitivities_V, SR860.time_constants_s,
                  "RSRC", 1, 0, "SNAP? 0,1", 0b011),
}  # fmt: skip
UNLOCK_BIT = 1 << 3


@dataclass
class Wire:
    lab: EmulatedLab
    client: LineClient
    spec: Spec
    transport: str

    @property
    def signal(self) -> Signal:
        assert isinstance(self.lab.signal, Signal)
        return self.lab.signal

    def q(self, text: str) -> str:
        return self.client.query(text)

    def sens_index(self, value_V: float) -> int:
        return self.spec.sensitivities.index(value_V)

    def tc_index(self, value_s: float) -> int:
        return self.spec.time_constants.index(value_s)

    def handled(self) -> None:
        """Return once the emulator has handled every line sent so far (a round trip)."""
        assert self.q("*IDN?").startswith("Stanford_Research_Systems,")

    def settle(self, n_tau: float = 12.0) -> None:
        """Let ``n_tau`` time constants pass after every command sent so far."""
        self.handled()
        self.lab.clock.sleep(n_tau * self.lab.lockin.time_constant_s)


@pytest.fixture(params=["SR830", "SR860"])
def lab(request: pytest.FixtureRequest):
    with start_emulated_lab(request.param, time_constant_s=1e-3, chopper_pty=False,
                            clock=VirtualClock()) as lab:
        yield lab


@pytest.fixture(params=["tcp", "pty"])
def wire(lab: EmulatedLab, request: pytest.FixtureRequest):
    model = lab.lockin.MODEL
    if request.param == "tcp":
        assert lab.lockin_tcp is not None
        client = LineClient.tcp(lab.lockin_tcp.port, timeout_s=PATIENCE_S)
    else:
        assert lab.lockin_pty is not None
        term = b"\r" if model == "SR830" else b"\n"
        client = LineClient.serial(lab.lockin_pty.port, read_termination=term,
                                   timeout_s=PATIENCE_S)
    with client:
        yield Wire(lab, client, SPECS[model], request.param)


def test_identity_names_the_model(wire: Wire) -> None:
    idn = wire.q("*IDN?")
    assert idn.startswith("Stanford_Research_Systems,") and f",{wire.spec.model}," in idn


def test_settings_set_and_query(wire: Wire) -> None:
    s, lab = wire.spec, wire.lab
    i_sens = wire.sens_index(2e-3)
    wire.client.write(f"{s.sens} {i_sens}")
    assert wire.q(f"{s.sens}?") == str(i_sens)
    assert lab.lockin_backend.sensitivity_V == pytest.approx(2e-3)
    i_tc = wire.tc_index(3e-3)
    wire.client.write(f"OFLT {i_tc}")
    assert wire.q("OFLT?") == str(i_tc)
    assert lab.lockin_backend.time_constant_s == pytest.approx(3e-3)
    wire.client.write("OFSL 3")
    assert wire.q("OFSL?") == "3"
    assert lab.lockin_backend.filter_slope_dB_per_oct == 24
    wire.client.write("PHAS 45.5")
    assert float(wire.q("PHAS?")) == pytest.approx(45.5)
    assert lab.lockin_backend.reference_phase_deg == pytest.approx(45.5)
    wire.client.write("PHAS 190")
    assert float(wire.q("PHAS?")) == pytest.approx(-170.0)
    wire.client.write("HARM 2")
    assert wire.q("HARM?") == "2"
    wire.client.write("SLVL 0.5")
    assert float(wire.q("SLVL?")) == pytest.approx(0.5)
    wire.client.write("ICPL 1")
    assert wire.q("ICPL?") == "1"
    assert wire.q("*ESR?") == "128"  # only power-on: every command above was accepted


def test_reference_source_and_frequency(wire: Wire) -> None:
    s = wire.spec
    assert wire.q(f"{s.ref}?") == str(s.external)
    assert float(wire.q("FREQ?")) == pytest.approx(100.0)  # the chopper's
    wire.lab.chopper.frequency_Hz = 137.0
    assert float(wire.q("FREQ?")) == pytest.approx(137.0)
    wire.client.write(f"{s.ref} {s.internal}")
    wire.client.write("FREQ 1234.5")
    assert float(wire.q("FREQ?")) == pytest.approx(1234.5)
    assert wire.q(f"{s.ref}?") == str(s.internal)


def test_snap_follows_backend_and_settles_with_time_constant(wire: Wire) -> None:
    s, tau = wire.spec, 0.01
    wire.client.write(f"OFLT {wire.tc_index(tau)};OFSL 0")  # 10 ms, one pole
    wire.signal.value_V = 0.0
    wire.settle(15.0)
    wire.signal.value_V = 2e-3
    wire.lab.clock.sleep(tau)  # read one time constant after the step: 63 % there
    x0 = float(wire.q(s.snap_xy).split(",")[0])
    wire.lab.clock.sleep(9 * tau)  # 10 tau
    x1, y1 = (float(v) for v in wire.q(s.snap_xy).split(","))
    assert x0 == pytest.approx(2e-3 * (1.0 - math.exp(-1.0)), rel=1e-3)
    assert x1 == pytest.approx(2e-3, rel=2e-3) and abs(y1) < 1e-9
    assert lab_output(wire) == pytest.approx(2e-3, rel=2e-3)


def lab_output(wire: Wire) -> float:
    return wire.lab.lockin_backend.output_V().real


def test_snap_variants_and_outputs(wire: Wire) -> None:
    wire.signal.value_V = 1e-3 + 1e-3j
    wire.settle()
    if wire.spec.model == "SR830":
        x, y, r, th = (float(v) for v in wire.q("SNAP?1,2,3,4").split(","))
        assert float(wire.q("OUTP?3")) == pytest.approx(r, rel=1e-3)
        assert float(wire.q("OUTP? 4")) == pytest.approx(45.0, abs=0.1)
        assert len(wire.q("SNAP? 1,2,3,4,9,10").split(",")) == 6
        assert float(wire.q("OUTR?1")) == pytest.approx(x, rel=1e-3)
    else:
        x, y, r, th = (float(v) for v in wire.q("SNAPD?").split(","))
        assert [float(v) for v in wire.q("SNAP? X, Y").split(",")] == pytest.approx(
            [x, y], rel=1e-3
        )
        assert float(wire.q("OUTP? THeta")) == pytest.approx(45.0, abs=0.1)
        assert float(wire.q("outp? r")) == pytest.approx(r, rel=1e-3)
        assert float(wire.q("SNAP? 0,1,FInt").split(",")[2]) == pytest.approx(100.0)
    assert (x, y) == pytest.approx((1e-3, 1e-3), rel=2e-3)
    assert r == pytest.approx(2**0.5 * 1e-3, rel=2e-3)
    assert th == pytest.approx(45.0, abs=0.1)


def test_output_overload_is_latched_until_read(wire: Wire) -> None:
    s = wire.spec
    wire.client.write(f"{s.sens} {wire.sens_index(1e-3)}")
    wire.signal.value_V = 5e-3
    wire.settle()
    x = float(wire.q(s.snap_xy).split(",")[0])
    assert x == pytest.approx(1e-3)  # clipped at full scale
    assert int(wire.q("LIAS?")) & s.output_bits
    wire.signal.value_V = 1e-4
    wire.settle()
    assert int(wire.q("LIAS?")) == 0  # the overload is over and the latch was read
    wire.signal.value_V = 5e-3
    wire.settle()
    wire.q(s.snap_xy)  # the overload is seen (and latched) here
    wire.signal.value_V = 1e-4
    wire.settle()
    bit = 2 if s.model == "SR830" else 0
    assert wire.q(f"LIAS? {bit}") == "1"  # still latched after the overload ended
    assert wire.q(f"LIAS? {bit}") == "0"  # reading one bit clears it


def test_unlock_while_chopper_stopped_in_external_mode_only(wire: Wire) -> None:
    s = wire.spec
    wire.q("LIAS?")
    wire.lab.chopper.enabled = False
    assert int(wire.q("LIAS?")) & UNLOCK_BIT
    assert float(wire.q("FREQ?")) == 0.0
    wire.client.write(f"{s.ref} {s.internal}")
    wire.q("LIAS?")
    assert not int(wire.q("LIAS?")) & UNLOCK_BIT
    wire.lab.chopper.enabled = True
    wire.client.write(f"{s.ref} {s.external}")
    wire.q("LIAS?")
    assert not int(wire.q("LIAS?")) & UNLOCK_BIT


def test_cls_clears_latched_status(wire: Wire) -> None:
    wire.lab.chopper.enabled = False
    wire.q("*IDN?")
    wire.client.write("*CLS")
    wire.lab.chopper.enabled = True
    assert wire.q("LIAS?") == "0"
    assert wire.q("*ESR?") == "0"


def test_joined_commands_spacing_and_case(wire: Wire) -> None:
    s = wire.spec
    wire.client.write(f"{s.sens}5;OFLT 3;{s.sens}?;OFLT?")
    assert (wire.client.read(), wire.client.read()) == ("5", "3")
    for text in (f"{s.sens} 7", f"{s.sens.lower()}7", f"  {s.sens.title()}   7  ", f"{s.sens} 7.0"):
        wire.client.write(f"{s.sens} 0")
        wire.client.write(text)
        assert wire.q(f"{s.sens.lower()} ?") == "7", text
    assert wire.q("DDEF?1;" if s.model == "SR830" else "CDSP? 0;") == (
        "0,0" if s.model == "SR830" else "0"
    )
    assert wire.q(f"*ESR?;{s.sens}?") == "128"
    assert wire.client.read() == "7"


def test_unknown_command_sets_cmd_bit_and_stays_silent(wire: Wire) -> None:
    wire.q("*ESR?")
    wire.client.write("FOO 1")
    wire.client.write("BOGUS?")
    wire.client.write("SENS 1,2,3,4" if wire.spec.model == "SR830" else "SCAL")
    assert int(wire.q("*ESR?")) == 1 << 5
    assert wire.q("*ESR?") == "0"


def test_out_of_range_sets_exe_bit_and_keeps_setting(wire: Wire) -> None:
    s = wire.spec
    wire.q("*ESR?")
    wire.client.write(f"{s.sens} 5")
    wire.client.write(f"{s.sens} 99")
    wire.client.write("OFLT -1")
    assert wire.q(f"{s.sens}?") == "5"
    assert int(wire.q("*ESR?")) == 1 << 4


def test_query_without_reply_times_out(wire: Wire) -> None:
    with pytest.raises(TimeoutError):
        wire.client.query("NOSUCH?", timeout_s=0.2)
    with pytest.raises(TimeoutError):
        wire.client.query("OUTP? 99", timeout_s=0.2)
    assert wire.q("HARM?") == "1"  # nothing late is left in the pipe


def test_reset_restores_defaults(wire: Wire) -> None:
    s = wire.spec
    wire.client.write(f"{s.sens} 3;OFLT 2;PHAS 30;*RST")
    assert wire.q(f"{s.sens}?") == str(wire.sens_index(1.0))
    assert wire.q("OFLT?") == str(wire.tc_index(0.1))
    assert float(wire.q("PHAS?")) == 0.0
    assert wire.q(f"{s.ref}?") == str(s.internal)


@pytest.mark.parametrize("lab", ["SR830"], indirect=True)
def test_sr830_outx_selects_the_answering_interface(wire: Wire) -> None:
    mine, other = (1, 0) if wire.transport == "tcp" else (0, 1)
    wire.client.write(f"OUTX {other}")
    with pytest.raises(TimeoutError):
        wire.client.query("*IDN?", timeout_s=0.2)
    wire.client.write(f"OUTX {mine}")
    assert wire.q("OUTX?") == str(mine)


@pytest.mark.parametrize("lab", ["SR860"], indirect=True)
def test_sr860_tokens_status_and_input_range(wire: Wire) -> None:
    wire.client.write("RSRC CHOP")
    assert wire.q("RSRC?") == "3"
    wire.client.write("rsrc ext;SYNC ON")
    assert (wire.q("RSRC?"), wire.q("SYNC?")) == ("1", "1")
    wire.signal.value_V = 0.05
    wire.client.write(f"SCAL {wire.sens_index(0.1)};IRNG 4")  # 10 mV input range
    wire.settle()
    assert int(wire.q("CUROVLDSTAT?")) & (1 << 4)
    assert wire.q("ILVL?") == "4"
    wire.client.write("ARNG")
    assert wire.q("IRNG?") == "2"  # 100 mV: the smallest range above 71 mV peak
    assert not int(wire.q("CUROVLDSTAT?")) & (1 << 4)
    assert float(wire.q("ENBW?")) > 0.0
    assert float(wire.q("FREQEXT?")) == pytest.approx(100.0)


def test_auto_functions(wire: Wire) -> None:
    s = wire.spec
    wire.signal.value_V = 3e-4 + 3e-4j
    wire.settle()
    wire.client.write("APHS")
    wire.client.write("AGAN" if s.model == "SR830" else "ASCL")
    wire.settle()
    x, y = (float(v) for v in wire.q(s.snap_xy).split(","))
    assert x == pytest.approx(2**0.5 * 3e-4, rel=5e-3) and abs(y) < 5e-6
    fs = s.sensitivities[int(wire.q(f"{s.sens}?"))]
    assert 0.1 < x / fs < 0.9


def test_faults_drop_garble_disconnect(wire: Wire) -> None:
    server = wire.lab.lockin_tcp if wire.transport == "tcp" else wire.lab.lockin_pty
    assert server is not None
    server.faults.drop_next_reply()
    with pytest.raises(TimeoutError):
        wire.client.query("HARM?", timeout_s=0.2)
    assert wire.q("HARM?") == "1"
    server.faults.garble_next_reply()
    garbled = wire.q("*IDN?")
    assert "SR8" not in garbled and set(garbled) <= {"~", "#"}
    assert (server.faults.dropped, server.faults.garbled) == (1, 1)
    if wire.transport == "tcp":
        wire.lab.lockin_tcp.disconnect_clients()  # type: ignore[union-attr]
        with pytest.raises((ConnectionError, TimeoutError)):
            wire.client.query("*IDN?", timeout_s=0.5)
        with LineClient.tcp(wire.lab.lockin_tcp.port) as again:  # type: ignore[union-attr]
            assert "SR8" in again.query("*IDN?")
