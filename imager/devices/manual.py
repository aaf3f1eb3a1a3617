"""Devices set by hand: the software records what the operator set and enforces the caps.

A lab configuration with ``driver = "manual"`` for the MIR source or the pump gets these:
nothing is sent anywhere, but every setting a recipe asks for is checked against the
lab's caps (a one-line error naming the field) and stored in the scan file, so the file
says what the operator was asked to set.
"""

from __future__ import annotations

import math

from imager.devices.interfaces import Settings

QCL_RANGE_UM = (6.8, 8.6)
"""Default tuning range of a manual QCL: the paper's QCL window (6.8-8.6 um)."""


def _within(device: str, field: str, value: float, lo: float, hi: float, unit: str) -> float:
    value = float(value)
    if not lo <= value <= hi:  # also rejects NaN
        raise ValueError(f"{device}.{field} must be within [{lo:g}, {hi:g}] {unit}, got {value!r}")
    return value


def _cap(device: str, max_power_mW: float) -> float:
    if not (math.isfinite(max_power_mW) and max_power_mW > 0):
        raise ValueError(f"{device}.max_power_mW must be > 0, got {max_power_mW!r}")
    return float(max_power_mW)


class ManualSource:
    """A MIR source (QCL) set by hand (so not ``tunable``: no spectral scans).

    Parameters
    ----------
    max_power_mW : float
        The lab's cap; a higher setting is refused, never clamped.
    wavelength_um, power_mW, on
        Starting settings (what the operator set).
    wavelength_range_um : (float, float)
        Settings outside it are refused.
    """

    tunable = False
    """The software cannot change its wavelength during a scan (spectral scans refuse it)."""

    def __init__(self, max_power_mW: float, wavelength_um: float = 7.4, power_mW: float = 0.0,
                 on: bool = False,
                 wavelength_range_um: tuple[float, float] = QCL_RANGE_UM) -> None:
        self.max_power_mW = _cap("source", max_power_mW)
        self.wavelength_range_um = (float(wavelength_range_um[0]), float(wavelength_range_um[1]))
        self.wavelength_um = wavelength_um
        self.power_mW = power_mW
        self.on = on

    @property
    def wavelength_um(self) -> float:
        """Emission wavelength, um."""
        return self._wavelength_um

    @wavelength_um.setter
    def wavelength_um(self, value: float) -> None:
        self._wavelength_um = _within("source", "wavelength_um", value,
                                      *self.wavelength_range_um, "um")

    @property
    def power_mW(self) -> float:
        """Output power, mW."""
        return self._power_mW

    @power_mW.setter
    def power_mW(self, value: float) -> None:
        self._power_mW = _within("source", "power_mW", value, 0.0, self.max_power_mW, "mW")

    @property
    def on(self) -> bool:
        """Emission on/off."""
        return self._on

    @on.setter
    def on(self, value: bool) -> None:
        self._on = bool(value)

    def settings(self) -> Settings:
        """What the operator was asked to set, for the scan file."""
        return {"kind": "manual", "wavelength_um": self._wavelength_um,
                "power_mW": self._power_mW, "on": self._on, "max_power_mW": self.max_power_mW}


class ManualPump:
    """A pump laser set by hand.

    Parameters
    ----------
    max_power_mW : float
        The lab's cap; a higher setting is refused, never clamped.
    power_mW : float
        Starting setting.
    """

    def __init__(self, max_power_mW: float, power_mW: float = 0.0) -> None:
        self.max_power_mW = _cap("pump", max_power_mW)
        self.power_mW = power_mW

    @property
    def power_mW(self) -> float:
        """Output power, mW."""
        return self._power_mW

    @power_mW.setter
    def power_mW(self, value: float) -> None:
        self._power_mW = _within("pump", "power_mW", value, 0.0, self.max_power_mW, "mW")

    def settings(self) -> Settings:
        """What the operator was asked to set, for the scan file."""
        return {"kind": "manual", "power_mW": self._power_mW, "max_power_mW": self.max_power_mW}
