"""Third-party clients read the emulators' buffers: QCoDeS's ``SR830`` (``buffer_npts``,
``ch1_datatrace``) and ``SR86x`` (``capture_samples``, one sample per trigger), PyMeasure's
``SR830`` (``buffer_measure``, ``get_buffer``), all as shipped, over TCP.

The emulated lock-in runs on a virtual clock: the tests advance it, or, where the library
polls in a loop of its own (``capture_samples``, ``buffer_measure``), each command line
moves it on by a fixed step (the emulator's ``before_command`` hook), so the buffers fill
at the same pace however slowly the machine runs.

Binary replies carry no terminator (the manuals: ``TRCB?``/``TRCL?`` raw bytes,
``CAPTUREGET?`` an IEEE 488.2 block). Where the library reads "until the message ends"
(QCoDeS: ``read_raw()``, pyvisa's block reader), the end is GPIB's EOI on the
instrument; on a raw socket pyvisa-py ends a message at a pause instead when
``VI_ATTR_SUPPRESS_END_EN`` is off, which these tests set (with no read termination
for QCoDeS's SR830 trace: its binary data may contain a line feed). PyMeasure reads
binary data until its I/O timeout, by design, so its timeout here is
:data:`PYMEASURE_TIMEOUT_S`, the wait that ends each of its binary reads.
"""

from __future__ import annotations

import numpy as np
import pytest
from emulated_lab import EmulatedLab, Signal, start_emulated_lab
from pymeasure.instruments.srs import SR830 as PmSR830
from pyvisa import constants
from qcodes.instrument_drivers.stanford_research import SR830 as QcSR830
from qcodes.instrument_drivers.stanford_research import SR860 as QcSR860

from imager.sim.clock import VirtualClock

pytestmark = pytest.mark.filterwarnings(  # QCoDeS's note on its own SR830 buffer parameters
    "ignore::qcodes.utils.QCoDeSDeprecationWarning")
PATIENCE_S = 60.0
PYMEASURE_TIMEOUT_S = 5.0
SIGNAL_V = 1e-3 + 0.5e-3j  # X and Y both non-zero (QCoDeS drops zeros from a capture)
COMMANDS_MAX = 20000  # a library polling loop that never ends fails instead of hanging


@pytest.fixture(params=["SR830"])
def lab(request: pytest.FixtureRequest):
    with start_emulated_lab(getattr(request, "param", "SR830"), signal=Signal(SIGNAL_V),
                            time_constant_s=3e-3, sensitivity_V=1e-2, pty=False,
                            chopper_pty=False, clock=VirtualClock()) as lab:
        lab.clock.sleep(0.1)  # settled
        yield lab


def _tick(lab: EmulatedLab, step_s: float) -> None:
    """Move the virtual clock on by ``step_s`` before every command line (bounded count)."""
    count = [0]

    def hook() -> None:
        count[0] += 1
        if count[0] > COMMANDS_MAX:
            raise RuntimeError("the client polled without end")
        lab.clock.sleep(step_s)

    lab.lockin.before_command = hook


def _end_at_pause(visa_handle) -> None:
    visa_handle.set_visa_attribute(constants.ResourceAttribute.suppress_end_enabled, False)


def test_qcodes_sr830_reads_the_buffer_trace(lab: EmulatedLab) -> None:
    assert lab.lockin_tcp is not None
    qc = QcSR830("qc_sr830_buffer", lab.lockin_tcp.resource_name, visalib="@py",
                 terminator="\n", timeout=PATIENCE_S)
    try:
        _end_at_pause(qc.visa_handle)
        qc.buffer_SR(64)
        qc.buffer_reset()
        qc.buffer_start()
        assert qc.buffer_npts() == 1  # STRT was handled: the first point is stored
        lab.clock.sleep(1.0)
        qc.buffer_pause()
        assert qc.buffer_npts() == 65
        with qc.visa_handle.read_termination_context(None):
            trace = qc.ch1_datatrace()  # TRCL?, decoded by QCoDeS
        assert trace.shape == (65,)
        assert trace == pytest.approx(np.full(65, SIGNAL_V.real), rel=2.0**-14)
    finally:
        qc.close()


@pytest.mark.parametrize("lab", ["SR860"], indirect=True)
def test_qcodes_sr86x_is_constructed_and_captures(lab: EmulatedLab) -> None:
    assert lab.lockin_tcp is not None
    qc = QcSR860("qc_sr860_capture", lab.lockin_tcp.resource_name, visalib="@py",
                 timeout=PATIENCE_S)  # the constructor asks CAPTURERATEMAX? and more
    try:
        _end_at_pause(qc.visa_handle)
        top = qc.buffer.capture_rate_max()
        assert top == 2441.40625  # 3 ms time constant
        qc.buffer.capture_rate(top / 2**5)
        assert qc.buffer.capture_rate() == top / 2**5
        _tick(lab, 0.05)
        data = qc.buffer.capture_samples(300)  # ONE, IMM; polls CAPTUREBYTES?; CAPTUREGET?
        assert sorted(data) == ["X", "Y"]
        assert data["X"] == pytest.approx(np.full(300, SIGNAL_V.real), rel=1e-6)
        assert data["Y"] == pytest.approx(np.full(300, SIGNAL_V.imag), rel=1e-6)
        assert qc.buffer.count_capture_kilobytes() == "4"  # 2400 bytes, in 2 kB blocks

        def pulses() -> None:  # e.g. a stage controller's position triggers on TRIG IN
            qc.ask("*IDN?")  # CAPTURESTART has been handled
            for _ in range(7):
                lab.lockin.trigger_input()

        data = qc.buffer.capture_one_sample_per_trigger(7, pulses)  # ONE, SAMP
        assert data["X"] == pytest.approx(np.full(7, SIGNAL_V.real), rel=1e-6)
    finally:
        lab.lockin.before_command = None
        qc.close()


def _pymeasure(lab: EmulatedLab) -> PmSR830:
    assert lab.lockin_tcp is not None
    return PmSR830(lab.lockin_tcp.resource_name, visa_library="@py", read_termination="\n",
                   write_termination="\n", timeout=int(PYMEASURE_TIMEOUT_S * 1000))


def test_pymeasure_sr830_buffer_measure(lab: EmulatedLab) -> None:
    pm = _pymeasure(lab)
    try:
        pm.sample_frequency = 512
        pm.reset_buffer()
        _tick(lab, 0.3)
        # FAST2;STRD (storing starts 0.5 s later), polls SPTS?, PAUS, TRCB? per channel
        x_mean, x_std, y_mean, y_std = pm.buffer_measure(40)
        assert (x_mean, y_mean) == pytest.approx((SIGNAL_V.real, SIGNAL_V.imag), rel=1e-6)
        assert x_std < 1e-12 and y_std < 1e-12  # noise-free twin, settled
        assert pm.ask("FAST?").strip() == "2"
    finally:
        lab.lockin.before_command = None
        pm.adapter.close()


def test_pymeasure_sr830_get_buffer(lab: EmulatedLab) -> None:
    pm = _pymeasure(lab)
    try:
        pm.sample_frequency = 64
        pm.reset_buffer()
        pm.start_scan()
        assert pm.buffer_count == 1
        lab.clock.sleep(1.0)
        pm.pause_scan()
        x = pm.get_buffer(1)  # TRCB? 1,0,65
        assert x.dtype == np.float32 and x.shape == (65,)
        assert x == pytest.approx(np.full(65, SIGNAL_V.real), rel=1e-6)
        y = pm.get_buffer(2, 10, 20)
        assert y == pytest.approx(np.full(10, SIGNAL_V.imag), rel=1e-6)
    finally:
        pm.adapter.close()
