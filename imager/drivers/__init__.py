"""Real-instrument drivers implementing :mod:`imager.devices.interfaces`.

* :class:`SR830`, :class:`SR860` -- SRS lock-in amplifiers over pyvisa
  (pyvisa-py backend by default; GPIB, USB, serial or TCP socket addresses).
* :class:`MC2000BChopper` -- Thorlabs MC2000B optical chopper over
  ``thorlabs-mc2000b`` (serial port or pty).

Errors are :class:`InstrumentError` (timeouts :class:`InstrumentTimeoutError`)
naming the instrument, its address and the command.
"""

from imager.drivers.errors import InstrumentError, InstrumentTimeoutError
from imager.drivers.mc2000b import MC2000BChopper
from imager.drivers.mircat import MIRcatSource
from imager.drivers.sr830 import SR830
from imager.drivers.sr860 import SR860
from imager.drivers.srs_lockin import SRSLockIn
from imager.drivers.visa_link import VisaLink

__all__ = [
    "SR830",
    "SR860",
    "InstrumentError",
    "InstrumentTimeoutError",
    "MC2000BChopper",
    "MIRcatSource",
    "SRSLockIn",
    "VisaLink",
]
