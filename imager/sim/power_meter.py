"""Simulated MIR power monitor: a thermal sensor behind an uncoated BaF2 pick-off wedge.

The wedge's front surface reflects the Fresnel fraction at normal incidence,
``R = ((n - 1) / (n + 1))**2``, with the refractive index of BaF2 from
Malitson's Sellmeier fit (I. H. Malitson, J. Opt. Soc. Am. 54, 628 (1964);
valid 0.27-10.3 um): about 3.2 % at 7.4 um. The sensor (a Thorlabs S401C-like
thermal head, 0.19-20 um, 1 uW resolution) reads that fraction of the power
the source emits. Its ~1 s thermal response averages the fast power noise of
the noise model away, so readings carry only the sensor's resolution.
"""

from __future__ import annotations

import math

from imager.devices.interfaces import Settings
from imager.sim.instruments import SimulatedSource

_BAF2_SELLMEIER = ((0.643356, 0.057789), (0.506762, 0.10968), (3.8261, 46.3864))
"""(B_i, C_i in um) of n^2 - 1 = sum B_i l^2 / (l^2 - C_i^2), Malitson 1964."""


def baf2_index(wavelength_um: float) -> float:
    """Refractive index of BaF2 at ``wavelength_um`` (Malitson 1964 Sellmeier, 0.27-10.3 um)."""
    l2 = wavelength_um * wavelength_um
    return math.sqrt(1.0 + sum(b * l2 / (l2 - c * c) for b, c in _BAF2_SELLMEIER))


def fresnel_reflectance(n: float) -> float:
    """Normal-incidence reflectance of one uncoated surface of index ``n`` in air."""
    return ((n - 1.0) / (n + 1.0)) ** 2


class SimulatedPowerMeter:
    """Thermal power sensor on a pick-off of the MIR beam.

    Parameters
    ----------
    source : SimulatedSource
        The QCL whose emitted power it samples.
    resolution_mW : float
        Reading resolution (S401C: 1 uW).
    """

    WAVELENGTH_RANGE_UM = (0.19, 20.0)

    def __init__(self, source: SimulatedSource, resolution_mW: float = 1e-3) -> None:
        self.source = source
        self.resolution_mW = float(resolution_mW)
        self._wavelength_um = source.wavelength_um
        self.reads = 0

    @property
    def wavelength_um(self) -> float:
        """Correction wavelength of the sensor, um (set to the source's)."""
        return self._wavelength_um

    @wavelength_um.setter
    def wavelength_um(self, value: float) -> None:
        lo, hi = self.WAVELENGTH_RANGE_UM
        value = float(value)
        if not lo <= value <= hi:
            raise ValueError(f"power_meter.wavelength_um must be within [{lo:g}, {hi:g}] um, "
                             f"got {value!r}")
        self._wavelength_um = value

    @property
    def pickoff_fraction(self) -> float:
        """Fraction of the emitted power the wedge sends to the sensor now."""
        return fresnel_reflectance(baf2_index(self.source.wavelength_um))

    def read_power_mW(self) -> float:
        """Power on the sensor now, mW (quantized to the resolution)."""
        self.reads += 1
        power_mW = self.source.emitted_power_mW * self.pickoff_fraction
        return round(power_mW / self.resolution_mW) * self.resolution_mW

    def settings(self) -> Settings:
        """Every setting worth recording in a scan file."""
        return {"kind": "simulated", "sensor": "thermal (S401C-like)",
                "wavelength_um": self._wavelength_um, "pickoff": "BaF2 wedge, front surface",
                "pickoff_fraction": self.pickoff_fraction, "resolution_mW": self.resolution_mW}
