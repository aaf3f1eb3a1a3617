"""Thorlabs PM100D / PM100USB / PM400 power meters: the facts the driver and emulator share.

Source: Thorlabs, *PM100D Optical Power and Energy Meter* manual 17654-D02,
section 6.4 "SCPI commands": ``SYSTem:SENSor:IDN?`` answers ``name, serial,
calibration date, type, subtype, flags``; the flags are a bit field.
"""

from __future__ import annotations

FLAG_POWER_SENSOR = 1
"""Sensor flag: the head measures power (not energy)."""
FLAG_WAVELENGTH_SETTABLE = 32
"""Sensor flag: the correction wavelength can be set (``SENS:CORR:WAV``)."""
FLAG_TAU_SETTABLE = 64
"""Sensor flag: the thermal time constant can be set (thermal heads)."""
