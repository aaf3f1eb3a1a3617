"""PM100D power meter: SCPI emulator, our driver and pymeasure's client over the wire.

Replies that must come are awaited for up to :data:`PATIENCE_S` (a loaded machine may
be slow); the I/O timeout is short (:data:`NO_REPLY_S`) only where no reply can come.
"""

import pytest

from imager.drivers import InstrumentError, InstrumentTimeoutError
from imager.drivers.pm100 import PM100
from imager.drivers.visa_link import VisaLink
from imager.emulators.pm100 import PM100Emulator
from imager.emulators.scpi import compile_header, header_matches
from imager.emulators.serve import serve_pm100_tcp
from imager.sim.instruments import SimulatedSource
from imager.sim.power_meter import SimulatedPowerMeter, baf2_index, fresnel_reflectance

PATIENCE_S = 60.0
NO_REPLY_S = 0.5


def _link(server):
    """A VISA link to the emulator that the test keeps, to change its timeout."""
    return VisaLink(server.resource_name, name="PM100", read_termination="\n",
                    write_termination="\n", timeout_s=PATIENCE_S)


@pytest.fixture
def meter():
    return SimulatedPowerMeter(SimulatedSource(power_mW=100.0))


@pytest.fixture
def served(meter):
    emulator = PM100Emulator(meter)
    with serve_pm100_tcp(emulator) as server:
        yield emulator, server


def test_baf2_pickoff_from_the_sellmeier_fit():
    assert baf2_index(0.5876) == pytest.approx(1.4741, abs=5e-4)  # n_d of BaF2
    r = fresnel_reflectance(baf2_index(7.4))
    assert 0.030 < r < 0.033


def test_meter_follows_the_emitted_power(meter):
    full = meter.read_power_mW()
    assert full == pytest.approx(100.0 * meter.pickoff_fraction, abs=1e-3)
    meter.source.output_fraction = 0.5
    assert meter.read_power_mW() == pytest.approx(full / 2, abs=1e-3)
    meter.source.on = False
    assert meter.read_power_mW() == 0.0
    with pytest.raises(ValueError, match=r"wavelength_um must be within \[0.19, 20\] um"):
        meter.wavelength_um = 25.0


@pytest.mark.parametrize("header, pattern, ok", [
    ("SENS:CORR:WAV", "[SENSe:]CORRection:WAVelength", True),
    ("sense:correction:wavelength", "[SENSe:]CORRection:WAVelength", True),
    ("CORR:WAV", "[SENSe:]CORRection:WAVelength", True),
    ("SENS1:CORR:WAV", "[SENSe:]CORRection:WAVelength", True),
    ("CORRE:WAV", "[SENSe:]CORRection:WAVelength", False),
    ("SENS:CORR", "[SENSe:]CORRection:WAVelength", False),
    ("MEAS:POW", "MEASure[:SCALar]:POWer", True),
    ("MEAS:SCAL:POW", "MEASure[:SCALar]:POWer", True),
])
def test_scpi_short_and_long_forms(header, pattern, ok):
    assert header_matches(header.split(":"), compile_header(pattern)) is ok


def test_emulator_commands_and_errors(meter):
    pm = PM100Emulator(meter)
    assert pm.execute("*IDN?") == ["THORLABS,PM100D,P0024811,3.1.0"]
    assert pm.execute("SYST:SENS:IDN?")[0].startswith("S401C,")
    assert pm.execute("sense:corr:wav 7400;wav?") == ["7.400000e+03"]  # ';' keeps the path
    assert meter.wavelength_um == pytest.approx(7.4)
    assert pm.execute("SENS:CORR:WAV? MIN;:SENS:CORR:WAV? MAX") == ["1.900000e+02",
                                                                   "2.000000e+04"]
    watts = float(pm.execute("MEAS:POW?")[0])
    assert watts == pytest.approx(meter.read_power_mW() * 1e-3)
    assert float(pm.execute("POW:UNIT DBM;:READ?")[0]) == pytest.approx(
        10 * __import__("math").log10(watts / 1e-3), abs=1e-4)
    assert pm.execute("CORRE:WAV?") == []  # not a valid short form
    assert pm.execute("SENS:CORR:WAV 99999") == []
    assert pm.execute("SYST:ERR?") == ['-113,"Undefined header"']
    assert pm.execute("SYST:ERR:NEXT?") == ['-222,"Data out of range"']
    assert pm.execute("SYST:ERR?") == ['0,"No error"']
    assert pm.execute("FETC?") == [] and pm.execute("SYST:ERR?")[0].startswith("-230")
    pm.execute("*RST;INIT")
    assert float(pm.execute("FETC?")[0]) == pytest.approx(watts)


def test_driver_over_tcp(served, meter):
    emulator, server = served
    link = _link(server)
    pm = PM100(server.resource_name, link=link)
    try:
        assert pm.sensor_name == "S401C" and "PM100D" in pm.identify()
        pm.wavelength_um = 8.2
        assert pm.wavelength_um == pytest.approx(8.2)  # a query: the write was handled
        assert meter.wavelength_um == pytest.approx(8.2)
        assert pm.read_power_mW() == pytest.approx(meter.read_power_mW(), rel=1e-6)
        meter.source.output_fraction = 0.25
        assert pm.read_power_mW() == pytest.approx(meter.read_power_mW(), rel=1e-6)
        with pytest.raises(ValueError, match=r"power_meter.wavelength_um must be within"):
            pm.wavelength_um = 30.0
        assert pm.settings()["average_count"] == 10 and emulator.average_count == 10
        server.faults.drop_next_reply()
        link.timeout_s = NO_REPLY_S
        with pytest.raises(InstrumentTimeoutError, match="MEAS:POW"):
            pm.read_power_mW()
    finally:
        pm.close()


def test_driver_refuses_a_missing_or_wrong_sensor(served):
    emulator, server = served
    emulator.SENSOR_IDN = ("no sensor", "", "", 0, 0, 0)
    with pytest.raises(InstrumentError, match="no sensor head connected"):
        PM100(server.resource_name, timeout_s=PATIENCE_S)
    emulator.SENSOR_IDN = ("ES111C", "1", "x", 3, 1, 2)  # an energy sensor
    with pytest.raises(InstrumentError, match="not a power sensor"):
        PM100(server.resource_name, timeout_s=PATIENCE_S)


@pytest.mark.filterwarnings("ignore:It is not known whether this device support SCPI")
def test_pymeasure_client_works_against_the_emulator(served, meter):
    from pymeasure.instruments.thorlabs import ThorlabsPM100USB

    _, server = served
    pm = ThorlabsPM100USB(server.resource_name, read_termination="\n",
                          write_termination="\n", timeout=PATIENCE_S * 1000)
    try:
        assert pm.sensor_name == "S401C" and pm.is_power_sensor and pm.wavelength_settable
        pm.wavelength = 7800
        assert pm.wavelength == pytest.approx(7800)
        assert pm.power == pytest.approx(meter.read_power_mW() * 1e-3)
    finally:
        pm.adapter.close()


def test_driver_restores_its_settings_after_a_power_cycle(served, meter):
    emulator, server = served
    link = _link(server)
    pm = PM100(server.resource_name, average_count=25, link=link)
    try:
        pm.wavelength_um = 8.0
        assert pm.read_power_mW() > 0
        server.disconnect_clients()
        with emulator.lock:  # the meter powers up with its defaults
            emulator.execute("*RST;SENS:CORR:WAV 1064")
        link.timeout_s = NO_REPLY_S  # a closed socket is found out at the timeout
        with pytest.raises(InstrumentError):
            pm.read_power_mW()  # the connection is found lost
        link.timeout_s = PATIENCE_S
        assert pm.read_power_mW() == pytest.approx(meter.read_power_mW(), rel=1e-6)
        assert emulator.average_count == 25 and pm.wavelength_um == pytest.approx(8.0)
    finally:
        pm.close()
