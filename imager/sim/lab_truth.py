"""The simulated lab's noise-free "truth": what a scan should see without noise.

:class:`TruthHooks` is a part of :class:`imager.sim.lab.SimulatedLab` (the
:class:`~imager.lab.SimHooks` a scan stores as its truth): the settled lock-in X
on a raster grid or per lit DMD pixel, at one wavelength or a list of them, the
spectral chart's labels and spectra, and the model's responsivity.
"""

from __future__ import annotations

import cmath
import math

import numpy as np

from imager.sim.chemical_chart import (
    ChartTruth,
    SpectralChart,
    expected_cube,
    lab_at_wavelength,
)
from imager.sim.projector import pixel_response_map_V
from imager.sim.signal_chain import film_transfer


class TruthHooks:
    """Noise-free views of a :class:`~imager.sim.lab.SimulatedLab` (a mixin: it uses the
    lab's devices, ``film``, ``chart``, ``_detector_rot`` and ``_film_transfer``)."""

    def expected_pattern_image(self) -> np.ndarray:
        """Noise-free lock-in X per lit DMD pixel, ``(n, n)``: the single-pixel "truth".

        Bucket reading of pattern ``P`` = ``sum(P * truth)`` (before clipping).
        """
        rot = (self._detector_rot * self._film_transfer(patterned=True)
               * cmath.exp(-1j * math.radians(self.lockin.reference_phase_deg)))
        return self.pixel_response_map_V() * rot.real

    def expected_pattern_cube(self, wavelengths_um: np.ndarray) -> np.ndarray:
        """:meth:`expected_pattern_image` at each wavelength, ``(nw, n, n)`` (the source is
        left as it is: :func:`imager.sim.chemical_chart.lab_at_wavelength`)."""
        phase = cmath.exp(-1j * math.radians(self.lockin.reference_phase_deg))
        n, fov_um = self.projector.shape[0], self.projector.fov_um
        out = []
        for wl in np.atleast_1d(np.asarray(wavelengths_um, dtype=float)):
            view = lab_at_wavelength(self, float(wl))
            rot = self._detector_rot * film_transfer(view, True) * phase
            out.append(pixel_response_map_V(view, n, fov_um) * rot.real)
        return np.stack(out)

    def expected_image(self, x_um: np.ndarray, y_um: np.ndarray) -> np.ndarray:
        """Noise-free, fully settled lock-in X on a grid, shape ``(ny, nx)``, volts.

        Uses the current source, pump, chopper and lock-in reference phase; this
        is the "truth" for a scan on that grid. It is *not* clipped at the
        lock-in's sensitivity: a scan re-ranges the lock-in on an overload and
        re-measures, so the truth is the signal itself, not what the starting
        range could show.
        """
        return self.expected_image_at(x_um, y_um, self.source.wavelength_um)

    def expected_image_at(self, x_um: np.ndarray, y_um: np.ndarray,
                          wavelength_um: float) -> np.ndarray:
        """:meth:`expected_image` as if the source were at ``wavelength_um`` (nothing is
        set on any device: no change hook runs, no noise stream moves)."""
        x = np.asarray(x_um, dtype=float).ravel()
        y = np.asarray(y_um, dtype=float).ravel()
        if not (self.source.on and self.chopper.enabled):
            return np.zeros((y.size, x.size))
        intensity = self.optics_at(wavelength_um).intensity_grid_W_per_um2(
            x, y, self.source.power_mW * 1e-3)
        dv = np.asarray(self.film.dV_V(intensity, self.pump.power_mW, wavelength_um))
        transfer = (self._film_transfer() if wavelength_um == self.source.wavelength_um
                    else film_transfer(lab_at_wavelength(self, wavelength_um)))
        rot = (self._detector_rot * transfer
               * cmath.exp(-1j * math.radians(self.lockin.reference_phase_deg)))
        return (dv * rot).real

    def expected_cube(self, x_um: np.ndarray, y_um: np.ndarray,
                      wavelengths_um: np.ndarray) -> np.ndarray:
        """Noise-free settled lock-in X at each wavelength, ``(nw, ny, nx)``, volts
        (:func:`imager.sim.chemical_chart.expected_cube`; the source is left as it is)."""
        return expected_cube(self, x_um, y_um, wavelengths_um)

    def chart_truth(self, x_um: np.ndarray, y_um: np.ndarray,
                    wavelengths_um: np.ndarray) -> ChartTruth | None:
        """A spectral chart's labels, material spectra and transmittance cube on a grid
        (:meth:`SpectralChart.truth`); None for a chart that is not spectral."""
        if not isinstance(self.chart, SpectralChart):
            return None
        return self.chart.truth(x_um, y_um, wavelengths_um)

    def true_responsivity_V_per_W_per_um2(self, include_drift: bool = False) -> float:
        """The model's ``dX / dI_MIR`` now: lock-in X per unit local MIR intensity.

        Current pump power, MIR wavelength, stage temperature, detector and
        reference phases; noise-free and without MIR power fluctuations. With
        ``include_drift`` it is multiplied by the slow gain drift at the current
        lab time: what a calibration made now measures.
        """
        source = self.source
        dv = self.film.dV_V(1.0, self.pump.power_mW, source.wavelength_um)
        rot = (self._detector_rot * self._film_transfer()
               * cmath.exp(-1j * math.radians(self.lockin.reference_phase_deg)))
        drift = self.lockin.drift_factor() if include_drift else 1.0
        return float(dv * rot.real) * drift
