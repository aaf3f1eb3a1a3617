"""Thorlabs PM100D / PM100USB / PM400 power meter driver (SCPI over pyvisa).

Implements :class:`imager.devices.PowerMeter`: the MIR power monitor the
engine watches for power drops (:mod:`imager.engine.power`). Commands from
the PM100D SCPI reference (Thorlabs manual 17654-D02, section 6.4):
``*IDN?``, ``SYST:SENS:IDN?`` (name, serial, calibration, type, subtype,
flags; flag 1 = power sensor, 32 = wavelength settable),
``SENS:CORR:WAV`` in nm, ``SENS:AVER:COUN``, ``SENS:POW:UNIT W``,
``SENS:POW:RANG:AUTO ON``, ``CONF:POW`` and ``MEAS:POW?`` in W.

Any VISA address: ``USB0::0x1313::0x8078::P0024811::INSTR`` (PM100D over
USBTMC), a PM400 or a PM5020 on ``TCPIP``, or the emulator's
``TCPIP::127.0.0.1::PORT::SOCKET``.
"""

from __future__ import annotations

from typing import Any

from imager.drivers.errors import InstrumentError
from imager.drivers.visa_link import VisaLink
from imager.instruments.pm100 import FLAG_POWER_SENSOR, FLAG_WAVELENGTH_SETTABLE


class PM100:
    """A Thorlabs power meter with a power sensor head.

    Parameters
    ----------
    address : str
        VISA address.
    timeout_s : float
        I/O timeout.
    average_count : int
        Samples averaged per reading (``SENS:AVER:COUN``; ~0.3 ms each).

    Raises
    ------
    InstrumentError
        If it does not answer as a Thorlabs meter, no sensor is connected, or
        the sensor is not a power sensor.
    """

    def __init__(self, address: str, *, timeout_s: float = 2.0, average_count: int = 10,
                 link: VisaLink | None = None) -> None:
        self._link = link or VisaLink(address, name="PM100", read_termination="\n",
                                      write_termination="\n", timeout_s=timeout_s)
        try:
            self.identity = self._link.query("*IDN?")
            if not self.identity.upper().startswith("THORLABS,"):
                raise InstrumentError(f"PM100 at {address}: *IDN? answered {self.identity!r}, "
                                      "not a Thorlabs power meter")
            fields = [f.strip() for f in self._link.query("SYST:SENS:IDN?").split(",")]
            if not fields or fields[0].lower() == "no sensor" or len(fields) < 6:
                raise InstrumentError(f"PM100 at {address}: no sensor head connected "
                                      f"(SYST:SENS:IDN? -> {','.join(fields)!r})")
            self.sensor_name, self.sensor_serial = fields[0], fields[1]
            try:
                flags = int(float(fields[5]))
            except ValueError:
                raise InstrumentError(f"PM100 at {address}: unexpected sensor flags "
                                      f"{fields[5]!r}") from None
            if not flags & FLAG_POWER_SENSOR:
                raise InstrumentError(f"PM100 at {address}: sensor {self.sensor_name} is not a "
                                      "power sensor")
            self._wavelength_settable = bool(flags & FLAG_WAVELENGTH_SETTABLE)
            self.average_count = int(average_count)
            self._configure()
            self._range_nm = tuple(self._link.query_floats(f"SENS:CORR:WAV? {which}", 1)[0]
                                   for which in ("MIN", "MAX"))
            self._check_errors("configuring")
        except BaseException:
            self._link.close()
            raise
        self._wavelength_nm: float | None = None
        self._link.on_reconnect = self._restore_after_reconnect

    def _configure(self) -> None:
        self._link.write(f"SENS:AVER:COUN {self.average_count}")
        self._link.write("SENS:POW:UNIT W")
        self._link.write("SENS:POW:RANG:AUTO ON")
        self._link.write("CONF:POW")

    def _restore_after_reconnect(self) -> None:
        """After a lost connection (a power cycle resets the meter): configure it again."""
        self._configure()
        if self._wavelength_nm is not None and self._wavelength_settable:
            self._link.write(f"SENS:CORR:WAV {self._wavelength_nm:.1f}")
        self._check_errors("restoring the settings after a reconnect")

    def _check_errors(self, doing: str) -> None:
        reply = self._link.query("SYST:ERR?")
        if not reply.startswith(("0,", "+0,")):
            raise InstrumentError(f"PM100 at {self._link.address}: error {reply} while {doing}")

    @property
    def wavelength_um(self) -> float:
        """Correction wavelength, um."""
        return self._link.query_floats("SENS:CORR:WAV?", 1)[0] / 1000.0

    @wavelength_um.setter
    def wavelength_um(self, value: float) -> None:
        lo_nm, hi_nm = self._range_nm
        value_nm = float(value) * 1000.0
        if not lo_nm <= value_nm <= hi_nm:
            raise ValueError(f"power_meter.wavelength_um must be within [{lo_nm / 1000:g}, "
                             f"{hi_nm / 1000:g}] um for sensor {self.sensor_name}, got {value!r}")
        if self._wavelength_settable:
            self._link.write(f"SENS:CORR:WAV {value_nm:.1f}")
            self._wavelength_nm = value_nm

    def read_power_mW(self) -> float:
        """One power reading, mW."""
        return self._link.query_floats("MEAS:POW?", 1)[0] * 1e3

    def identify(self) -> str:
        """``*IDN?`` and the sensor head."""
        return f"{self.identity}; sensor {self.sensor_name} #{self.sensor_serial}"

    def settings(self) -> dict[str, Any]:
        """Every setting worth recording in a scan file."""
        return {"kind": "pm100", "identity": self.identity, "address": self._link.address,
                "sensor": self.sensor_name, "sensor_serial": self.sensor_serial,
                "wavelength_um": self.wavelength_um, "average_count": self.average_count}

    def close(self) -> None:
        """Release the VISA resource."""
        self._link.close()
