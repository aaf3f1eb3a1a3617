"""Simulated chopper, MIR source (QCL) and pump laser.

Plain settings holders that validate like the real instruments and satisfy the
Protocols in :mod:`imager.devices.interfaces`. Each setting that changes the
optical signal is a property whose setter first calls a change hook; the
simulated lab installs one that brings the lock-in's filter up to "now", so a
change takes effect from the current lab time on.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from imager.devices.interfaces import Settings
from imager.twin.limits import PUMP_MAX_MW, check_pump_mW


class _HookedDevice:
    """Base: calls an optional hook before any signal-relevant setting changes."""

    def __init__(self) -> None:
        self._before_change: Callable[[], None] | None = None

    def set_change_hook(self, hook: Callable[[], None] | None) -> None:
        """Install ``hook()``, called right before a setting that affects the signal changes."""
        self._before_change = hook

    def _changing(self) -> None:
        if self._before_change is not None:
            self._before_change()


def _check_range(device: str, field: str, value: float, lo: float, hi: float, unit: str) -> float:
    value = float(value)
    if not lo <= value <= hi:  # also rejects NaN
        raise ValueError(f"{device}.{field} must be within [{lo:g}, {hi:g}] {unit}, got {value!r}")
    return value


class SimulatedChopper(_HookedDevice):
    """Optical chopper on the MIR beam; its reference output drives the lock-in.

    Parameters
    ----------
    frequency_Hz : float
        Chopping frequency; must lie in the lock-in's reference range
        0.001-102000 Hz (SR830 specification).
    enabled : bool
        Whether the blade spins (and the reference is output).
    """

    FREQUENCY_RANGE_HZ = (0.001, 102_000.0)

    def __init__(self, frequency_Hz: float = 100.0, enabled: bool = True) -> None:
        super().__init__()
        self._frequency_Hz = _check_range(
            "chopper", "frequency_Hz", frequency_Hz, *self.FREQUENCY_RANGE_HZ, "Hz"
        )
        self._enabled = bool(enabled)

    @property
    def frequency_Hz(self) -> float:
        """Chopping frequency, Hz."""
        return self._frequency_Hz

    @frequency_Hz.setter
    def frequency_Hz(self, value: float) -> None:
        value = _check_range("chopper", "frequency_Hz", value, *self.FREQUENCY_RANGE_HZ, "Hz")
        self._changing()
        self._frequency_Hz = value

    @property
    def enabled(self) -> bool:
        """True while chopping (the lock-in is locked only then)."""
        return self._enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self._changing()
        self._enabled = bool(value)

    def settings(self) -> Settings:
        """Every setting worth recording in a scan file."""
        return {"kind": "simulated", "frequency_Hz": self._frequency_Hz, "enabled": self._enabled}


class SimulatedSource(_HookedDevice):
    """Tunable MIR quantum-cascade laser.

    Parameters
    ----------
    wavelength_um : float
        Emission wavelength, within 6.8-8.6 um (the paper's QCL tuning range).
    power_mW : float
        Output power, 0..``max_power_mW``.
    on : bool
        Emission on/off.
    max_power_mW : float
        Power cap enforced on every setting.
    """

    WAVELENGTH_RANGE_UM = (6.8, 8.6)

    def __init__(
        self,
        wavelength_um: float = 7.4,
        power_mW: float = 50.0,
        on: bool = True,
        max_power_mW: float = 500.0,
    ) -> None:
        super().__init__()
        if not (math.isfinite(max_power_mW) and max_power_mW > 0):
            raise ValueError(f"source.max_power_mW must be > 0, got {max_power_mW!r}")
        self.max_power_mW = float(max_power_mW)
        self._wavelength_um = _check_range(
            "source", "wavelength_um", wavelength_um, *self.WAVELENGTH_RANGE_UM, "um"
        )
        self._power_mW = _check_range("source", "power_mW", power_mW, 0.0, self.max_power_mW, "mW")
        self._on = bool(on)
        self._output_fraction = 1.0

    @property
    def output_fraction(self) -> float:
        """Emitted power / set power: 1 normally; below 1 while the output has dropped.

        A QCL's output can sag without any setting changing (mode hop, thermal
        roll-over, a drifting alignment into the fibre or chart); the fault
        injector lowers this to model it, the power meter sees it.
        """
        return self._output_fraction

    @output_fraction.setter
    def output_fraction(self, value: float) -> None:
        value = _check_range("source", "output_fraction", value, 0.0, 1.0, "")
        self._changing()
        self._output_fraction = value

    @property
    def emitted_power_mW(self) -> float:
        """Power actually leaving the source now, mW (0 when off)."""
        return self._power_mW * self._output_fraction if self._on else 0.0

    @property
    def wavelength_um(self) -> float:
        """Emission wavelength, um."""
        return self._wavelength_um

    @wavelength_um.setter
    def wavelength_um(self, value: float) -> None:
        value = _check_range("source", "wavelength_um", value, *self.WAVELENGTH_RANGE_UM, "um")
        self._changing()
        self._wavelength_um = value

    @property
    def power_mW(self) -> float:
        """Output power, mW."""
        return self._power_mW

    @power_mW.setter
    def power_mW(self, value: float) -> None:
        value = _check_range("source", "power_mW", value, 0.0, self.max_power_mW, "mW")
        self._changing()
        self._power_mW = value

    @property
    def on(self) -> bool:
        """Emission on/off."""
        return self._on

    @on.setter
    def on(self, value: bool) -> None:
        self._changing()
        self._on = bool(value)

    def settings(self) -> Settings:
        """Every setting worth recording in a scan file."""
        return {
            "kind": "simulated",
            "wavelength_um": self._wavelength_um,
            "power_mW": self._power_mW,
            "on": self._on,
            "max_power_mW": self.max_power_mW,
        }


class SimulatedPump(_HookedDevice):
    """980 nm pump laser: a focused readout spot, or a DMD-patterned field.

    Parameters
    ----------
    power_mW : float
        Output power, 0..``max_power_mW``.
    max_power_mW : float
        Power cap of the laser itself; default the larger of the per-mode limits of
        :mod:`imager.twin.limits` (the DMD-patterned field's). The mode's own limit
        (:meth:`check_mode`) is tighter for the focused spot.
    """

    def __init__(self, power_mW: float = 0.5, max_power_mW: float = PUMP_MAX_MW) -> None:
        super().__init__()
        if not (math.isfinite(max_power_mW) and max_power_mW > 0):
            raise ValueError(f"pump.max_power_mW must be > 0, got {max_power_mW!r}")
        self.max_power_mW = float(max_power_mW)
        self._power_mW = _check_range("pump", "power_mW", power_mW, 0.0, self.max_power_mW, "mW")

    @property
    def power_mW(self) -> float:
        """Output power, mW."""
        return self._power_mW

    @power_mW.setter
    def power_mW(self, value: float) -> None:
        value = _check_range("pump", "power_mW", value, 0.0, self.max_power_mW, "mW")
        self._changing()
        self._power_mW = value

    def check_mode(self, mode: str, *, pump_fwhm_um: float = 1.0, fov_um: float = 400.0) -> None:
        """Raise ValueError (one line) if the power now exceeds ``mode``'s limit.

        ``mode`` is ``"spot"`` (focused) or ``"patterned"`` (DMD field); see
        :func:`imager.twin.limits.check_pump_mW`.
        """
        check_pump_mW(mode, self._power_mW, pump_fwhm_um=pump_fwhm_um, fov_um=fov_um)

    def settings(self) -> Settings:
        """Every setting worth recording in a scan file."""
        return {"kind": "simulated", "power_mW": self._power_mW, "max_power_mW": self.max_power_mW}
