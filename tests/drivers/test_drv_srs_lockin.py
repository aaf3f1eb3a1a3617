"""SR830 / SR860 drivers through pyvisa-py against the emulators (TCP socket and pty).

Nothing here depends on how fast the machine is: a reply that must come is awaited
for up to :data:`PATIENCE_S`; only where no reply can come (a dropped reply, a
closed socket) is the driver's timeout shortened, with :func:`no_reply_expected`.
"""

from __future__ import annotations

import contextlib
import math
import statistics
import time

import pytest
from emulated_lab import EmulatedLab, Signal, start_emulated_lab

from imager.devices.interfaces import LockIn, LockInStatus
from imager.drivers import SR830, SR860, InstrumentError, InstrumentTimeoutError, SRSLockIn
from imager.emulators.serve import serve_lockin_tcp
from imager.sim.lockin import NoiseModel

DRIVERS: dict[str, type[SRSLockIn]] = {"SR830": SR830, "SR860": SR860}
#: I/O timeout for replies that must come (a loaded machine may be slow to answer).
PATIENCE_S = 60.0
#: I/O timeout where no reply can come: how long the driver waits before it says so.
NO_REPLY_S = 0.5


@contextlib.contextmanager
def no_reply_expected(lia: SRSLockIn):
    """Shorten the driver's I/O timeout for commands that cannot be answered."""
    lia.link.timeout_s = NO_REPLY_S
    try:
        yield
    finally:
        lia.link.timeout_s = PATIENCE_S


@pytest.fixture(params=["SR830", "SR860"])
def lab(request: pytest.FixtureRequest):
    with start_emulated_lab(request.param, time_constant_s=1e-3, chopper_pty=False) as lab:
        yield lab


@pytest.fixture(params=["tcp", "pty"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _address(lab: EmulatedLab, transport: str) -> str:
    server = lab.lockin_tcp if transport == "tcp" else lab.lockin_pty
    assert server is not None
    return server.resource_name


@pytest.fixture
def lia(lab: EmulatedLab, transport: str):
    with DRIVERS[lab.lockin.MODEL](_address(lab, transport), timeout_s=PATIENCE_S) as driver:
        yield driver


def _signal(lab: EmulatedLab) -> Signal:
    assert isinstance(lab.signal, Signal)
    return lab.signal


def test_identify_settings_and_protocol(lia: SRSLockIn, lab: EmulatedLab) -> None:
    assert isinstance(lia, LockIn)
    assert lia.MODEL in lia.identify()
    s = lia.settings()
    assert s["kind"] == lia.MODEL and s["address"] == lia.address
    assert s["time_constant_s"] == pytest.approx(1e-3)
    assert s["reference_source"] == "external"
    assert s["reference_frequency_Hz"] == pytest.approx(100.0)


def test_configure_rounds_up_and_reaches_backend(lia: SRSLockIn, lab: EmulatedLab) -> None:
    backend = lab.lockin_backend
    lia.time_constant_s = 0.02
    assert lia.time_constant_s == pytest.approx(0.03) == backend.time_constant_s
    lia.sensitivity_V = 1.5e-3
    assert lia.sensitivity_V == pytest.approx(2e-3) == backend.sensitivity_V
    lia.filter_slope_dB_per_oct = 24
    assert lia.filter_slope_dB_per_oct == 24 == backend.filter_slope_dB_per_oct
    lia.reference_phase_deg = 200.0
    assert lia.reference_phase_deg == pytest.approx(-160.0)
    assert backend.reference_phase_deg == pytest.approx(-160.0)
    lia.harmonic = 2
    assert lia.harmonic == 2
    lia.reference_source = "internal"
    lia.reference_frequency_Hz = 1234.5
    assert lia.reference_frequency_Hz == pytest.approx(1234.5)
    assert lia.reference_source == "internal"
    lia.reference_source = "external"
    assert lia.reference_frequency_Hz == pytest.approx(100.0)
    with pytest.raises(ValueError):
        lia.sensitivity_V = 2.0
    with pytest.raises(ValueError):
        lia.time_constant_s = 1e5
    with pytest.raises(ValueError):
        lia.filter_slope_dB_per_oct = 7
    with pytest.raises(ValueError):
        lia.reference_source = "moon"


@pytest.mark.parametrize("lab", ["SR830"], indirect=True)
def test_rejected_set_raises(lia: SRSLockIn) -> None:
    with pytest.raises(InstrumentError, match=r"SR830 .* rejected 'FREQ 500'"):
        lia.reference_frequency_Hz = 500.0  # internal mode only
    with pytest.raises(InstrumentError, match="unknown command"):
        lia.write("NOSUCH 1")
    lia.write("HARM 3")  # later sets are judged on their own
    assert lia.harmonic == 3


def test_read_xy_matches_backend(lia: SRSLockIn, lab: EmulatedLab) -> None:
    _signal(lab).value_V = 4e-3 - 2e-3j
    lia.wait_settled(0.9999)
    reading = lia.read_xy()
    expected = lab.lockin_backend.output_V()
    assert reading.x_V == pytest.approx(expected.real, rel=1e-4)
    assert reading.y_V == pytest.approx(expected.imag, rel=1e-4)
    assert (reading.x_V, reading.y_V) == pytest.approx((4e-3, -2e-3), rel=1e-3)
    assert reading.status == LockInStatus.OK


@pytest.mark.parametrize("transport", ["tcp"], indirect=True)
@pytest.mark.parametrize("model", ["SR830", "SR860"])
def test_read_xy_within_noise(model: str, transport: str) -> None:
    noise = NoiseModel(power_rel_rms=0.0, drift_rel_rms=0.0)
    with start_emulated_lab(model, noise=noise, time_constant_s=1e-3, chopper_pty=False) as lab:
        with DRIVERS[model](_address(lab, transport), timeout_s=PATIENCE_S) as lia:
            lia.wait_settled(0.9999)
            xs = [lia.read_xy().x_V for _ in range(60)]
            sigma = lab.lockin_backend.noise_rms_V()
    assert statistics.fmean(xs) == pytest.approx(1e-3, abs=5 * sigma / math.sqrt(len(xs)))
    assert 0.6 * sigma < statistics.stdev(xs) < 1.5 * sigma


def test_output_overload_bit(lia: SRSLockIn, lab: EmulatedLab) -> None:
    lia.sensitivity_V = 1e-3
    _signal(lab).value_V = 5e-3
    lia.wait_settled()
    reading = lia.read_xy()
    assert reading.status & LockInStatus.OUTPUT_OVERLOAD
    assert reading.x_V == pytest.approx(1e-3)
    _signal(lab).value_V = 1e-4
    lia.wait_settled()
    lia.status()
    assert lia.read_xy().status == LockInStatus.OK


def test_unlock_when_chopper_stops(lia: SRSLockIn, lab: EmulatedLab) -> None:
    assert not lia.read_xy().status & LockInStatus.REFERENCE_UNLOCK
    lab.chopper.enabled = False
    assert lia.read_xy().status & LockInStatus.REFERENCE_UNLOCK
    lab.chopper.enabled = True
    lia.read_xy()
    assert not lia.read_xy().status & LockInStatus.REFERENCE_UNLOCK


def test_settle_time_matches_simulation(lia: SRSLockIn, lab: EmulatedLab) -> None:
    lia.time_constant_s = 0.1
    lia.filter_slope_dB_per_oct = 18
    for fraction in (0.5, 0.99, 0.9999):
        assert lia.settle_time_s(fraction) == pytest.approx(
            lab.lockin_backend.settle_time_s(fraction)
        )
    slept: list[float] = []
    lia._sleep = slept.append  # a virtual sleep: no waiting in this test
    assert lia.wait_settled(0.99) == slept[0] == pytest.approx(lia.settle_time_s(0.99))
    with pytest.raises(ValueError):
        lia.settle_time_s(1.0)


def test_timeout_names_instrument_and_command(
    lia: SRSLockIn, lab: EmulatedLab, transport: str
) -> None:
    server = lab.lockin_tcp if transport == "tcp" else lab.lockin_pty
    assert server is not None
    server.faults.drop_next_reply()
    with no_reply_expected(lia), pytest.raises(InstrumentTimeoutError) as info:
        lia.read_xy()
    message = str(info.value)
    assert lia.MODEL in message and lia.address in message and "SNAP?" in message
    assert isinstance(info.value, TimeoutError)
    server.faults.garble_next_reply()
    with pytest.raises(InstrumentError, match="unexpected reply"):
        lia.read_xy()
    assert lia.read_xy().x_V == pytest.approx(1e-3, rel=1e-2)  # recovered
    assert lia.link.lost is None and lia.link.reconnects == 0  # a timeout is not a lost link


def test_open_failure_is_an_instrument_error(lab: EmulatedLab) -> None:
    assert lab.lockin_tcp is not None
    port = lab.lockin_tcp.port
    lab.lockin_tcp.close()
    model = lab.lockin.MODEL
    # pyvisa-py connects lazily: the refusal surfaces at the first command
    with pytest.raises(InstrumentError, match=rf"{model} at TCPIP::127.0.0.1::{port}::SOCKET"):
        DRIVERS[model](f"TCPIP::127.0.0.1::{port}::SOCKET", timeout_s=0.3)
    with pytest.raises(InstrumentError, match="invalid VISA address"):
        SR830("not an address")


@pytest.mark.parametrize("lab", ["SR860"], indirect=True)
def test_sr860_extras(lia: SRSLockIn, lab: EmulatedLab) -> None:
    assert isinstance(lia, SR860)
    lia.input_range_V = 0.01
    assert lia.input_range_V == 0.01
    _signal(lab).value_V = 0.02
    lia.wait_settled(0.99999)
    assert lia.current_status() & LockInStatus.INPUT_OVERLOAD
    lia.input_range_V = 1.0
    lia.sensitivity_V = 0.05
    assert lia.current_status() == LockInStatus.OK
    assert lia.settings()["input_range_V"] == 1.0


def test_reading_cost(lia: SRSLockIn, lab: EmulatedLab, transport: str,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A reading costs one round trip (two with the status) and never waits.

    Run with ``-s`` for the time per reading (~0.2 ms per round trip on an idle
    machine); time is printed, not asserted: a loaded machine is slower.
    """
    lines: list[str] = []
    execute = lab.lockin.execute

    def counted(line: str, interface: int | None = None) -> list[str]:
        lines.append(line)
        return execute(line, interface)

    monkeypatch.setattr(lab.lockin, "execute", counted)
    slept: list[float] = []
    lia._sleep = slept.append
    n = 100
    lia.read_xy()
    lines.clear()
    t0 = time.perf_counter()
    for _ in range(n):
        lia.read_xy()
    with_status_ms = (time.perf_counter() - t0) / n * 1e3
    assert [line.split(" ")[0].split("?")[0] for line in lines] == ["SNAP", "LIAS"] * n
    lia.read_status = False
    lines.clear()
    t0 = time.perf_counter()
    for _ in range(n):
        lia.read_xy()
    snap_ms = (time.perf_counter() - t0) / n * 1e3
    print(f"{lia.MODEL} {transport}: SNAP? {snap_ms:.3f} ms, SNAP?+LIAS? {with_status_ms:.3f} ms")
    assert lines == [lia.SNAP_XY] * n and slept == []


# ---------------------------------------------------------------- lost connections
def _switch_on_again(lab: EmulatedLab, port: int) -> None:
    """A lock-in whose TCP server was closed comes back on the same port."""
    lab.lockin_tcp = serve_lockin_tcp(lab.lockin, port=port)


@pytest.mark.parametrize("transport", ["tcp"], indirect=True)
def test_dropped_connection_is_reopened_at_the_next_command(lia: SRSLockIn,
                                                            lab: EmulatedLab) -> None:
    assert lab.lockin_tcp is not None
    lia.read_xy()
    lab.lockin_tcp.disconnect_clients()
    with no_reply_expected(lia), pytest.raises(
            InstrumentError, match=r"connection lost during 'SNAP\? ?0?1?,[12]' "
            r"\(the instrument closed the connection\); reconnecting") as info:
        lia.read_xy()
    assert not isinstance(info.value, TimeoutError)
    assert lia.link.lost == "the instrument closed the connection"
    assert lia.read_xy().x_V == pytest.approx(1e-3, rel=1e-2)
    assert lia.link.lost is None and lia.link.reconnects == 1
    assert lia.restored_after_reconnect == ()  # the instrument kept its settings
    assert lia.time_constant_s == pytest.approx(1e-3)


@pytest.mark.parametrize("transport", ["tcp"], indirect=True)
def test_reconnect_restores_the_settings_of_a_power_cycled_instrument(
    lia: SRSLockIn, lab: EmulatedLab
) -> None:
    assert lab.lockin_tcp is not None
    lia.time_constant_s = 0.03
    lia.sensitivity_V = 2e-3
    lia.filter_slope_dB_per_oct = 24
    lia.reference_phase_deg = 30.0
    lia.harmonic = 2
    lia.reference_source = "internal"
    lia.reference_frequency_Hz = 1234.5
    port = lab.lockin_tcp.port
    lab.lockin_tcp.close()  # off ...
    lab.lockin.execute("*RST")  # ... and on again with power-on settings
    _switch_on_again(lab, port)
    with no_reply_expected(lia), pytest.raises(InstrumentError, match="connection lost"):
        lia.read_xy()
    slept: list[float] = []
    lia._sleep = slept.append
    lia.read_xy()
    restored = set(lia.restored_after_reconnect)
    assert {"OFLT", lia.SENSITIVITY_COMMAND, "OFSL", "PHAS", "HARM", "FREQ"} <= restored
    assert slept == [pytest.approx(lia.settle_time_s(0.9999))]  # waited for the filter
    backend = lab.lockin_backend
    assert lia.time_constant_s == pytest.approx(0.03) == backend.time_constant_s
    assert lia.sensitivity_V == pytest.approx(2e-3) == backend.sensitivity_V
    assert lia.filter_slope_dB_per_oct == 24
    assert lia.reference_phase_deg == pytest.approx(30.0)
    assert lia.harmonic == 2
    assert lia.reference_source == "internal"
    assert lia.reference_frequency_Hz == pytest.approx(1234.5)


@pytest.mark.parametrize("lab", ["SR830"], indirect=True)
@pytest.mark.parametrize("transport", ["tcp"], indirect=True)
def test_reconnect_restores_the_external_reference_read_at_connect(
    lia: SRSLockIn, lab: EmulatedLab
) -> None:
    assert lab.lockin_tcp is not None
    assert lia.expected_settings["FMOD"] == "0" and "FREQ" not in lia.expected_settings
    port = lab.lockin_tcp.port
    lab.lockin_tcp.close()
    lab.lockin.execute("*RST")  # the emulated SR830 comes back on its internal reference
    _switch_on_again(lab, port)
    with no_reply_expected(lia), pytest.raises(InstrumentError):
        lia.read_xy()
    lia.read_xy()
    assert "FMOD" in lia.restored_after_reconnect and lia.reference_source == "external"


@pytest.mark.parametrize("transport", ["tcp"], indirect=True)
def test_reconnect_is_tried_once_per_command_until_the_instrument_is_back(
    lia: SRSLockIn, lab: EmulatedLab
) -> None:
    assert lab.lockin_tcp is not None
    port = lab.lockin_tcp.port
    lab.lockin_tcp.close()
    with no_reply_expected(lia), pytest.raises(InstrumentError,
                                               match="the instrument closed the connection"):
        lia.read_xy()
    opened: list[str] = []
    reopen = lia.link._open

    def counted_open():
        opened.append(lia.address)
        return reopen()

    lia.link._open = counted_open
    slept: list[float] = []
    lia._sleep = slept.append
    for attempt in range(1, 4):  # refused at once: each command one attempt, no waiting
        with pytest.raises(InstrumentError, match=r"connection lost \(the instrument closed "
                           r"the connection\); reconnecting failed: ConnectionRefusedError"):
            lia.identify()
        assert len(opened) == attempt and slept == []
    assert lia.link.reconnects == 0 and lia.link.lost is not None
    _switch_on_again(lab, port)
    assert lia.MODEL in lia.identify()
    assert lia.link.reconnects == 1


@pytest.mark.parametrize("transport", ["tcp"], indirect=True)
def test_silent_instrument_after_reconnect_keeps_the_link_lost(
    lia: SRSLockIn, lab: EmulatedLab
) -> None:
    server = lab.lockin_tcp
    assert server is not None
    server.disconnect_clients()
    with no_reply_expected(lia), pytest.raises(InstrumentError, match="connection lost"):
        lia.read_xy()
    server.faults.drop_next_reply(1)  # the restore's first query goes unanswered
    with no_reply_expected(lia), pytest.raises(
            InstrumentError, match="reconnected after the connection was lost "
            r"\(the instrument closed the connection\), but restoring its state "
            "failed: .*no reply"):
        lia.read_xy()
    assert lia.link.lost == "the instrument closed the connection"
    assert lia.read_xy().x_V == pytest.approx(1e-3, rel=1e-2)  # opened again and restored
    assert lia.link.reconnects == 1


@pytest.mark.parametrize("transport", ["pty"], indirect=True)
def test_hung_up_serial_port_fails_cleanly_and_closes(lia: SRSLockIn, lab: EmulatedLab) -> None:
    assert lab.lockin_pty is not None
    lab.lockin_pty.hang_up()
    with pytest.raises(InstrumentError, match=r"connection lost during .*Input/output error"):
        lia.read_xy()
    with pytest.raises(InstrumentError, match="reconnecting failed: .*could not open port"):
        lia.read_xy()
    lia.close()  # a dead session closes without complaint
    with pytest.raises(InstrumentError, match="link is closed"):
        lia.read_xy()
