"""Devices set by hand (lab configurations with driver = "manual"): caps and records only."""

import pytest

from imager.devices.manual import ManualPump, ManualSource
from imager.sim.instruments import SimulatedPump, SimulatedSource


def test_manual_devices_are_not_the_simulated_ones():
    # the hardware path must not inherit the twin's fault state or tuning model
    assert not issubclass(ManualSource, SimulatedSource)
    assert not issubclass(ManualPump, SimulatedPump)
    assert not hasattr(ManualSource(max_power_mW=10), "output_fraction")


def test_manual_source_refuses_settings_beyond_its_caps_and_records_them():
    source = ManualSource(max_power_mW=100.0, wavelength_range_um=(7.0, 8.0))
    source.power_mW, source.wavelength_um, source.on = 60.0, 7.5, True
    assert source.settings() == {"kind": "manual", "wavelength_um": 7.5, "power_mW": 60.0,
                                 "on": True, "max_power_mW": 100.0}
    with pytest.raises(ValueError, match=r"source.power_mW must be within \[0, 100\] mW"):
        source.power_mW = 100.5
    with pytest.raises(ValueError, match="source.wavelength_um"):
        source.wavelength_um = 8.2
    assert source.power_mW == 60.0 and source.wavelength_um == 7.5  # unchanged


def test_manual_pump_cap():
    pump = ManualPump(max_power_mW=5.0)
    with pytest.raises(ValueError, match=r"pump.power_mW must be within \[0, 5\] mW"):
        pump.power_mW = float("nan")
    pump.power_mW = 5.0
    assert pump.settings() == {"kind": "manual", "power_mW": 5.0, "max_power_mW": 5.0}
    with pytest.raises(ValueError, match="max_power_mW must be > 0"):
        ManualPump(max_power_mW=0.0)
