"""The lock-in emulators depend only on the LockIn protocol of their backend."""

from __future__ import annotations

import pytest

from imager.devices.interfaces import LockInReading, LockInStatus, Settings
from imager.emulators.sr830 import SR830Emulator
from imager.emulators.sr860 import SR860Emulator
from imager.sim.lab import SimConfig, SimulatedLab


class FakeLockIn:
    """Fixed reading; accepts any setting except sensitivities below 1 uV."""

    def __init__(self, x_V: float = 2e-6, y_V: float = 0.0) -> None:
        self.x_V, self.y_V = x_V, y_V
        self.status = LockInStatus.OK
        self.time_constant_s = 0.1
        self.filter_slope_dB_per_oct = 12
        self.reference_phase_deg = 0.0
        self._sensitivity_V = 1.0
        self.reads = 0

    @property
    def sensitivity_V(self) -> float:
        return self._sensitivity_V

    @sensitivity_V.setter
    def sensitivity_V(self, value: float) -> None:
        if value < 1e-6:
            raise ValueError("too sensitive for this fake")
        self._sensitivity_V = value

    def read_xy(self) -> LockInReading:
        self.reads += 1
        return LockInReading(self.x_V, self.y_V, self.status)

    def settle_time_s(self, fraction: float = 0.99) -> float:
        return 5.0 * self.time_constant_s

    def settings(self) -> Settings:
        return {"kind": "fake"}


def test_fake_backend_settings_and_reading() -> None:
    backend = FakeLockIn()
    emu = SR830Emulator(backend)
    assert emu.execute("OFLT 4;OFSL 0;PHAS 12.5") == []
    assert backend.time_constant_s == pytest.approx(1e-3)
    assert backend.filter_slope_dB_per_oct == 6
    assert backend.reference_phase_deg == pytest.approx(12.5)
    assert emu.execute("SNAP?1,2") == ["2.000000e-06,0.000000e+00"]
    backend.status = LockInStatus.INPUT_OVERLOAD
    assert emu.execute("LIAS?") == ["1"]
    assert emu.execute("*ESR?") == ["128"]


def test_emulator_clips_where_the_backend_cannot() -> None:
    backend = FakeLockIn(x_V=2e-6)
    emu = SR860Emulator(backend)
    emu.execute("SCAL 27")  # 1 nV: the fake refuses, the emulator keeps its range
    assert emu.execute("SCAL?") == ["27"]
    assert backend.sensitivity_V == 1.0
    assert emu.execute("SNAP? X,Y") == ["1.000000e-09,0.000000e+00"]
    assert emu.execute("LIAS?") == ["1"]  # CH1 output overload
    assert emu.execute("*ESR?") == ["128"]


def test_interface_selection_is_per_line() -> None:
    emu = SR830Emulator(FakeLockIn())
    assert emu.execute("*IDN?", interface=0) != []  # before OUTX: answer the sender
    emu.execute("OUTX 1", interface=0)
    assert emu.execute("*IDN?", interface=0) == []
    assert emu.execute("OUTX?", interface=1) == ["1"]


def test_before_command_hook_runs_before_each_command_line() -> None:
    """A backend on its own VirtualClock: the ``before_command`` hook moves lab time on
    (here 20 ms per command line) before each line is handled."""
    lab = SimulatedLab(SimConfig(noise=False))
    emu = SR830Emulator(
        lab.lockin, chopper=lab.chopper, before_command=lambda: lab.clock.sleep(0.02)
    )
    t0 = lab.clock.now_s()
    emu.execute("OFLT 0")  # 10 us: settled long before the next line
    x_V, y_V = (float(v) for v in emu.execute("SNAP?1,2")[0].split(","))
    assert lab.clock.now_s() - t0 == pytest.approx(0.04)
    expected = lab.lockin.output_V()
    assert (x_V, y_V) == pytest.approx((expected.real, expected.imag), rel=1e-5, abs=1e-12)
    lab.chopper.enabled = False
    assert int(emu.execute("LIAS?")[0]) & 8
