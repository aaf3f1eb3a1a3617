"""Instrument facts in one place (``imager.instruments``): the tables against an independent
source, the filter formulas against their definitions, and the layers that use them."""

from __future__ import annotations

import math

import pytest
from scipy.integrate import quad
from scipy.special import gammainc

from imager.devices.interfaces import LockInReading, LockInStatus
from imager.drivers import SR830, SR860
from imager.emulators.mc2000b import MC2000BEmulator
from imager.emulators.sr830 import SR830Emulator
from imager.emulators.sr860 import SR860Emulator
from imager.engine.faults import FaultPolicy, read_point
from imager.instruments import mc2000b, srs
from imager.sim import VirtualClock
from imager.sim.instruments import SimulatedChopper
from imager.sim.lockin import SimulatedLockIn


def test_srs_tables_match_pymeasure() -> None:
    pm_sr830 = pytest.importorskip("pymeasure.instruments.srs.sr830").SR830
    pm_sr860 = pytest.importorskip("pymeasure.instruments.srs.sr860").SR860
    assert srs.SR830.sensitivities_V == pytest.approx(tuple(pm_sr830.SENSITIVITIES), rel=1e-12)
    assert srs.SR830.time_constants_s == pytest.approx(tuple(pm_sr830.TIME_CONSTANTS), rel=1e-12)
    assert srs.SLOPES_DB_PER_OCT == tuple(pm_sr830.FILTER_SLOPES)
    assert srs.SR860.sensitivities_V == pytest.approx(tuple(pm_sr860.SENSITIVITIES), rel=1e-12)
    assert srs.SR860.time_constants_s == pytest.approx(tuple(pm_sr860.TIME_CONSTANTS), rel=1e-12)
    assert len(srs.SR860.input_ranges_V) == len(pm_sr860.INPUT_RANGE)


def test_ladders_are_exact_decimal_values() -> None:
    assert srs.SR830.sensitivities_V[0] == 2e-9 and srs.SR830.sensitivities_V[-1] == 1.0
    assert 2e-3 in srs.SR830.sensitivities_V and 3e-3 in srs.SR830.time_constants_s
    assert srs.SR860.sensitivities_V[0] == 1.0 and srs.SR860.sensitivities_V[-1] == 1e-9
    assert srs.SR860.ladder_V == tuple(sorted(srs.SR860.sensitivities_V))


@pytest.mark.parametrize("slope", srs.SLOPES_DB_PER_OCT)
def test_enbw_is_the_noise_bandwidth_of_n_rc_stages(slope: int) -> None:
    tau_s, n = 0.03, slope // 6
    power_gain = lambda f: (1.0 + (2.0 * math.pi * f * tau_s) ** 2) ** -n  # noqa: E731
    integral_Hz, _ = quad(power_gain, 0.0, math.inf)
    assert srs.enbw_Hz(tau_s, slope) == pytest.approx(integral_Hz, rel=1e-9)


@pytest.mark.parametrize("slope", srs.SLOPES_DB_PER_OCT)
@pytest.mark.parametrize("fraction", [0.5, 0.99, 0.9999])
def test_settle_time_is_where_the_step_response_reaches_the_fraction(slope: int,
                                                                      fraction: float) -> None:
    tau_s = 0.1
    t_s = srs.settle_time_s(tau_s, slope, fraction)
    assert gammainc(slope // 6, t_s / tau_s) == pytest.approx(fraction, rel=1e-12)
    with pytest.raises(ValueError, match="fraction"):
        srs.settle_time_s(tau_s, slope, 1.0)
    with pytest.raises(ValueError, match="filter_slope"):
        srs.settle_time_s(tau_s, 9, fraction)


def test_phase_wrap_and_table_rounding() -> None:
    assert [srs.wrap_phase_deg(p) for p in (190.0, -180.0, 540.0, 180.0, -190.0)] == \
        pytest.approx([-170.0, 180.0, 180.0, 180.0, 170.0])
    table = srs.SR830.sensitivities_V
    assert table[srs.index_at_least(table, 1.5e-3, "s")] == 2e-3
    assert table[srs.index_at_least(table, 2e-3, "s")] == 2e-3
    with pytest.raises(ValueError, match="exceeds the largest available 1"):
        srs.index_at_least(table, 2.0, "s")
    assert srs.next_larger(srs.SR860.sensitivities_V, 5e-3) == 1e-2  # any table order
    assert srs.next_larger(srs.SR860.sensitivities_V, 1.0) is None


def test_every_layer_exposes_the_same_ladder() -> None:
    sim = SimulatedLockIn(VirtualClock(), lambda t_s: 0j, noise=None)
    assert sim.sensitivities_V == srs.SR830.ladder_V == SR830.sensitivities_V
    assert SR860.sensitivities_V == srs.SR860.ladder_V
    assert SR830Emulator.SPEC is srs.SR830 and SR860Emulator.SPEC is srs.SR860


def test_status_bits_round_trip() -> None:
    every = (LockInStatus.OUTPUT_OVERLOAD | LockInStatus.INPUT_OVERLOAD
             | LockInStatus.REFERENCE_UNLOCK)
    for model in srs.MODELS.values():
        bits = model.encode_status(every, True, False)
        assert model.decode_status(bits) == every, model.name
        assert model.decode_status(model.encode_status(LockInStatus.OK, False, False)) == 0


def test_driver_properties_and_settings_come_from_one_table() -> None:
    for cls in (SR830, SR860):
        names = [s.name for s in cls.SETTINGS]
        assert names[:4] == ["time_constant_s", "sensitivity_V", "filter_slope_dB_per_oct",
                             "reference_phase_deg"]
        for setting in cls.SETTINGS:
            prop = getattr(cls, setting.name)
            assert isinstance(prop, property) and prop.__doc__ == setting.doc
    assert [s.command for s in SR860.SETTINGS if s.name == "input_range_V"] == ["IRNG"]


@pytest.mark.parametrize("emulator", [SR830Emulator, SR860Emulator])
def test_emulator_command_table_refuses_forms_it_lacks(emulator) -> None:
    sim = SimulatedLockIn(VirtualClock(), lambda t_s: 0j, noise=None)
    emu = emulator(sim)
    emu.execute("*ESR?")
    emu.execute("OFLT 3")
    assert emu.execute("*RST?") == []  # *RST has no query form: a command error, no reset
    assert emu.execute("OFLT?") == ["3"]
    assert int(emu.execute("*ESR?")[0]) == 1 << 5
    assert emu.execute("*IDN") == [] and int(emu.execute("*ESR?")[0]) == 1 << 5


def test_mc2000b_emulator_follows_the_blade_table() -> None:
    emu = MC2000BEmulator(SimulatedChopper(frequency_Hz=100.0, enabled=True))
    for index, blade in enumerate(mc2000b.BLADES):
        assert emu.execute(f"blade={index}") == []
        last_ref, last_out = len(blade.reference_modes) - 1, len(blade.output_modes) - 1
        assert emu.execute(f"ref={last_ref}") == [] and emu.reference_is_external()
        assert emu.execute(f"ref={last_ref + 1}") == ["Command error CMD_ARG_INVALID"]
        assert emu.execute(f"output={last_out + 1}") == ["Command error CMD_ARG_INVALID"]
        emu.execute("ref=0")
        assert not emu.reference_is_external()


class DecadeLockIn:
    """A lock-in whose full scales go up in decades (not the SRS 1-2-5 ladder)."""

    sensitivities_V = (1e-3, 1e-2, 1e-1, 1.0)

    def __init__(self, signal_V: float) -> None:
        self.signal_V = signal_V
        self._sensitivity_V = 1e-3

    @property
    def sensitivity_V(self) -> float:
        return self._sensitivity_V

    @sensitivity_V.setter
    def sensitivity_V(self, value: float) -> None:
        if value not in self.sensitivities_V:
            raise ValueError(f"sensitivity_V {value!r} is not one of {self.sensitivities_V}")
        self._sensitivity_V = value

    def read_xy(self) -> LockInReading:
        s = self._sensitivity_V
        if self.signal_V > s:
            return LockInReading(s, 0.0, LockInStatus.OUTPUT_OVERLOAD)
        return LockInReading(self.signal_V, 0.0)


class Log:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.settings: list[tuple[str, str, float]] = []

    def log_event(self, kind: str, message: str, index: int, t_s: float) -> None:
        self.events.append((kind, message))

    def record_setting(self, device: str, attribute: str, value: float, index: int,
                       t_s: float) -> None:
        self.settings.append((device, attribute, value))


def test_overload_ranges_up_the_lockins_own_ladder() -> None:
    class Lab:
        lockin = DecadeLockIn(signal_V=5e-3)
        clock = VirtualClock()

    log = Log()
    reading = read_point(Lab(), log, 0, settle_s=0.1, lab_start_s=0.0, policy=FaultPolicy())
    assert reading.x_V == 5e-3 and reading.status == LockInStatus.OK
    assert log.settings == [("lockin", "sensitivity_V", 1e-2)]  # 1 mV -> 10 mV, no 2 mV
    assert [kind for kind, _ in log.events] == ["overload"]
