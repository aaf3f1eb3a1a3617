"""Daylight Solutions MIRcat QCL through its vendor SDK (:class:`imager.devices.Source`).

The MIRcat SDK is a C library (``MIRcatSDK.dll`` on Windows; ``libMIRcatSDK.so``
is assumed on Linux) that comes with the laser, not from a package index. It is
loaded with :mod:`ctypes` only when a source is opened; its absence is a clear
:class:`InstrumentError`.

* :mod:`~imager.drivers.mircat.sdk` -- the library: return codes, constants,
  :func:`load_sdk` and the function signatures, :class:`MIRcatError`, checked
  calls (with the SDK facts used and their sources).
* :mod:`~imager.drivers.mircat.caps` -- the hard current cap per QCL, QCL modes,
  and ``power_mW`` (nominal or from an L-I table).
* :mod:`~imager.drivers.mircat.source` -- :class:`MIRcatSource`: opening,
  arming, tuning, emission and closing (with its safety rules).
"""

from imager.drivers.mircat.sdk import (
    MODE_CW,
    MODE_CW_MOD,
    MODE_PULSED,
    MODES,
    RETURN_CODES,
    UNITS_CM1,
    UNITS_MICRONS,
    MIRcatError,
    default_library_names,
    load_sdk,
)
from imager.drivers.mircat.source import MIRcatSource

__all__ = [
    "MODES",
    "MODE_CW",
    "MODE_CW_MOD",
    "MODE_PULSED",
    "RETURN_CODES",
    "UNITS_CM1",
    "UNITS_MICRONS",
    "MIRcatError",
    "MIRcatSource",
    "default_library_names",
    "load_sdk",
]
