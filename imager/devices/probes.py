"""Protocols for the instruments a calibration uses besides the imaging set-up.

A temperature-controlled sample stage, a band photometer (two or three
photodiodes behind 525/545/660 nm band-passes, or a spectrometer integrating
the bands) and a decay recorder (pulsed pump + fast detector + averager). The
simulated lab implements all three (:mod:`imager.sim.probes`); hardware drivers
implement the same methods, so calibration code runs on both.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from imager.devices.interfaces import Settings

BANDS = ("525", "545", "660")
"""Band keys, nominal wavelength in nm: Er3+ 2H11/2, 4S3/2 and 4F9/2 emission."""


@runtime_checkable
class TemperatureController(Protocol):
    """Sample-stage temperature controller.

    Setting ``temperature_K`` changes the set point; reading it returns the
    sample (stage) temperature. Implementations may offer ``wait_stable()``,
    which returns once the sample has settled at the set point.
    """

    temperature_K: float

    def settings(self) -> Settings: ...


@runtime_checkable
class BandPhotometer(Protocol):
    """Integrated emission of each band, read as photodiode (or spectrometer) volts."""

    def read_bands(self) -> dict[str, float]:
        """One reading of every band: ``{"525": V, "545": V, "660": V}``."""
        ...

    def settings(self) -> Settings: ...


@runtime_checkable
class DecayRecorder(Protocol):
    """Emission decay of one band after a pump pulse."""

    def record_decay(self, band: str, duration_s: float,
                     n_samples: int) -> tuple[np.ndarray, np.ndarray]:
        """Record a decay: sample times from the pump switch-off (s) and the signal.

        Parameters
        ----------
        band : str
            One of :data:`BANDS`.
        duration_s : float
            Length of the trace after the pump is switched off.
        n_samples : int
            Number of equally spaced samples (the first at ``t = 0``).
        """
        ...

    def settings(self) -> Settings: ...
