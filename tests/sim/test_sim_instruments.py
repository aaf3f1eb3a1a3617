import pytest

from imager.devices.interfaces import Chopper, Pump, Source
from imager.sim.instruments import SimulatedChopper, SimulatedPump, SimulatedSource


def test_protocols_and_settings():
    chopper, source, pump = SimulatedChopper(), SimulatedSource(), SimulatedPump()
    assert isinstance(chopper, Chopper) and isinstance(source, Source) and isinstance(pump, Pump)
    assert chopper.settings()["frequency_Hz"] == 100.0 and chopper.enabled
    assert source.settings() == {
        "kind": "simulated",
        "wavelength_um": 7.4,
        "power_mW": 50.0,
        "on": True,
        "max_power_mW": 500.0,
    }
    assert pump.settings()["power_mW"] == 0.5


def test_source_ranges_name_the_field():
    source = SimulatedSource()
    with pytest.raises(ValueError, match=r"wavelength_um.*6\.8.*8\.6"):
        source.wavelength_um = 9.0
    with pytest.raises(ValueError, match=r"power_mW.*500"):
        source.power_mW = 501.0
    with pytest.raises(ValueError, match="power_mW"):
        source.power_mW = -1.0
    assert source.wavelength_um == 7.4 and source.power_mW == 50.0
    capped = SimulatedSource(max_power_mW=20.0, power_mW=10.0)
    with pytest.raises(ValueError, match=r"\[0, 20\]"):
        capped.power_mW = 50.0
    with pytest.raises(ValueError):
        SimulatedSource(wavelength_um=6.0)


def test_pump_and_chopper_validation():
    with pytest.raises(ValueError, match="pump.power_mW"):
        SimulatedPump().power_mW = 4000.0  # above every mode's limit (imager.twin.limits)
    with pytest.raises(ValueError, match="frequency_Hz"):
        SimulatedChopper().frequency_Hz = 0.0


def test_change_hook_runs_before_the_change():
    source = SimulatedSource()
    seen = []
    source.set_change_hook(lambda: seen.append((source.power_mW, source.on)))
    source.power_mW = 80.0
    source.on = False
    assert seen == [(50.0, True), (80.0, True)]
    with pytest.raises(ValueError):
        source.power_mW = 1e6
    assert len(seen) == 2  # refused values do not trigger the hook
