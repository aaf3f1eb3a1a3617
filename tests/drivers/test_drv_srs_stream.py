"""Our SR830 / SR860 drivers as :class:`~imager.devices.interfaces.StreamingLockIn`s, over
the wire against the emulators (SR830 data buffer, SR860 capture buffer).

The emulated lock-in and the driver share one virtual clock that only the tests
advance, so the stream's sample times are exact (no time passes during a command):
the k-th sample is at k / rate, and a step of the input shows the filter's exact
2-pole step response at the sample times. Replies are awaited for up to a minute.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from emulated_lab import EmulatedLab, Signal, start_emulated_lab

from imager.devices.interfaces import StreamingLockIn
from imager.drivers import SR830, SR860, InstrumentError
from imager.instruments import srs
from imager.sim.clock import VirtualClock

PATIENCE_S = 60.0
TAU_S = 3e-3
A_V, B_V = 1e-3 + 2e-3j, 4e-3 - 1e-3j  # before and after the step
DRIVERS = {"SR830": SR830, "SR860": SR860}


@pytest.fixture(params=["SR830", "SR860"])
def model(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def lab(model: str, request: pytest.FixtureRequest):
    pty = "transport" in request.fixturenames and request.getfixturevalue("transport") == "pty"
    with start_emulated_lab(model, signal=Signal(A_V), time_constant_s=TAU_S,
                            sensitivity_V=1e-2, chopper_pty=False, pty=pty,
                            clock=VirtualClock()) as lab:
        lab.clock.sleep(0.1)  # settled on A
        yield lab


@pytest.fixture
def lia(model: str, lab: EmulatedLab):
    assert lab.lockin_tcp is not None
    with DRIVERS[model](lab.lockin_tcp.resource_name, timeout_s=PATIENCE_S,
                        clock=lab.clock) as lia:
        yield lia


def _rate(lia) -> float:
    """64 Hz on the SR830; on the SR860 (3 ms: 2441.4 Hz max) the max / 32 = 76.3 Hz."""
    return 64.0 if isinstance(lia, SR830) else lia.stream_rates_Hz[-6]


def _step_response(t_s: np.ndarray, t_step_s: float) -> np.ndarray:
    """X + iY of the 12 dB/oct filter at ``t_s`` for the input stepping from A to B."""
    x = np.clip((t_s - t_step_s) / TAU_S, 0.0, None)
    return B_V + (A_V - B_V) * np.exp(-x) * (1.0 + x)


def test_stream_at_a_rate_gives_exact_times_and_the_filtered_input(lia, lab, model) -> None:
    assert isinstance(lia, StreamingLockIn)
    assert lia.stream_capacity == (16383 if model == "SR830" else 524288)
    rate = _rate(lia)
    t_call = lab.clock.now_s()
    lia.start_stream(rate)
    lab.clock.sleep(1.0)
    first = lia.read_stream()  # while recording (the SR860 reads sample by sample)
    n1 = 1 + math.floor(rate * 1.0)
    assert len(first.t_s) == n1
    assert np.array_equal(first.t_s, np.arange(n1) / rate)
    assert first.x_V == pytest.approx(np.full(n1, A_V.real), rel=1e-6)
    assert first.y_V == pytest.approx(np.full(n1, A_V.imag), rel=1e-6)
    t_step = lab.clock.now_s() - t_call
    assert isinstance(lab.signal, Signal)
    lab.signal.value_V = B_V
    lab.clock.sleep(1.0)
    lia.stop_stream()
    lab.clock.sleep(1.0)  # nothing more is recorded
    second = lia.read_stream()  # after the stop (the SR860 reads a binary block)
    n2 = 1 + math.floor(rate * 2.0) - n1
    assert len(second.t_s) == n2
    assert np.array_equal(second.t_s, (n1 + np.arange(n2)) / rate)
    expected = _step_response(second.t_s, t_step)
    assert second.x_V == pytest.approx(expected.real, rel=1e-6, abs=1e-10)
    assert second.y_V == pytest.approx(expected.imag, rel=1e-6, abs=1e-10)
    assert expected[0] != pytest.approx(B_V)  # the step is seen while it settles
    assert len(lia.read_stream().t_s) == 0


def test_stream_on_triggers_takes_one_sample_per_pulse(lia, lab: EmulatedLab) -> None:
    t_call = lab.clock.now_s()
    lia.start_stream(None)
    lab.clock.sleep(0.3)
    lia.trigger()  # software (TRIG)
    lia.trigger()
    lab.lockin.trigger_input()  # TRIG IN, e.g. a stage's position trigger
    lab.clock.sleep(0.2)
    data = lia.read_stream()
    assert len(data.t_s) == 3
    # the instrument does not time triggers: the samples get the time of the read
    assert data.t_s.tolist() == [pytest.approx(lab.clock.now_s() - t_call)] * 3
    assert data.x_V == pytest.approx([A_V.real] * 3, rel=1e-6)
    lia.stop_stream()
    assert len(lia.read_stream().t_s) == 0


def test_rates_the_instrument_lacks_are_refused(lia, lab: EmulatedLab, model: str) -> None:
    with pytest.raises(ValueError, match=rf"stream rate_Hz 100.0 is not a rate of the {model}: "):
        lia.start_stream(100.0)
    if model == "SR830":
        assert lia.stream_rates_Hz == srs.SR830_BUFFER_RATES_Hz
    else:
        lia.time_constant_s = 1e-3  # the SR860's rates follow the time constant
        top = srs.sr860_capture_rate_max_Hz(1e-3)
        assert lia.stream_rates_Hz[-1] == top == 9765.625
        assert lia.stream_rates_Hz[0] == top / 2**20
        assert len(lia.stream_rates_Hz) == 21


def test_a_buffer_reset_behind_the_driver_is_an_error(lia, lab: EmulatedLab, model) -> None:
    lia.start_stream(_rate(lia))
    lab.clock.sleep(0.5)
    assert len(lia.read_stream().t_s) > 0
    lab.lockin.execute("REST" if model == "SR830" else "CAPTURESTOP;CAPTURECFG XY")
    with pytest.raises(InstrumentError, match="it was reset"):
        lia.read_stream()


@pytest.mark.parametrize("transport", ["tcp", "pty"])
def test_sr830_one_shot_buffer_fills_to_its_capacity(transport: str) -> None:
    with start_emulated_lab("SR830", signal=Signal(A_V), time_constant_s=TAU_S,
                            sensitivity_V=1e-2, chopper_pty=False, pty=transport == "pty",
                            tcp=transport == "tcp", clock=VirtualClock()) as lab:
        server = lab.lockin_tcp if transport == "tcp" else lab.lockin_pty
        assert server is not None
        with SR830(server.resource_name, timeout_s=PATIENCE_S, clock=lab.clock) as lia:
            lab.clock.sleep(0.1)
            lia.start_stream(512.0)
            lab.clock.sleep(40.0)  # 20481 samples due; the buffer holds 16383
            data = lia.read_stream()
    assert len(data.t_s) == srs.SR830_BUFFER_POINTS
    assert data.t_s[-1] == (srs.SR830_BUFFER_POINTS - 1) / 512.0
    assert data.x_V == pytest.approx(np.full(len(data.x_V), A_V.real), rel=1e-6)
