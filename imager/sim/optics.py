"""MIR illumination of the chart and its readout by the focused pump spot.

The MIR beam is a round Gaussian (intensity FWHM ``beam_fwhm_um``) centred on
the chart; behind the chart the local MIR intensity per watt of source power is
``G(x, y) * T(x, y)`` with ``G`` the beam profile normalised to unit power
(1/um^2) and ``T`` the chart transmission. The pump spot (Gaussian, intensity
FWHM ``pump_fwhm_um``) excites the film over a small area, so the film reports
the pump-weighted local average of that intensity: the map is convolved once,
by FFT, with the normalised pump PSF. Evaluations are then bilinear
interpolations of the precomputed map (zero outside it).

First-order simplification: the pump weighting is taken linear in pump
intensity (a two-photon upconversion process would weight with its square,
i.e. a PSF narrower by sqrt(2)).
"""

from __future__ import annotations

import math

import numpy as np

from imager.sim.charts import Chart

FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))


def gaussian_peak_per_um2(fwhm_um: float) -> float:
    """Peak of a unit-power round Gaussian with intensity FWHM ``fwhm_um``, 1/um^2."""
    return 4.0 * math.log(2.0) / (math.pi * fwhm_um * fwhm_um)


class MirOptics:
    """Precomputed pump-averaged MIR intensity map over a chart.

    Parameters
    ----------
    chart : Chart
        The transmission mask, in stage coordinates.
    beam_fwhm_um : float
        Intensity FWHM of the MIR beam at the film (default 500 um).
    pump_fwhm_um : float
        Intensity FWHM of the focused pump spot (default 1.0 um); 0 means a
        point probe (no averaging).
    beam_centre_um : tuple of float, optional
        ``(x_um, y_um)`` of the MIR beam axis; default the chart centre.
    """

    def __init__(
        self,
        chart: Chart,
        beam_fwhm_um: float = 500.0,
        pump_fwhm_um: float = 1.0,
        beam_centre_um: tuple[float, float] | None = None,
    ) -> None:
        if not beam_fwhm_um > 0:
            raise ValueError(f"beam_fwhm_um must be > 0, got {beam_fwhm_um!r}")
        if not pump_fwhm_um >= 0:
            raise ValueError(f"pump_fwhm_um must be >= 0, got {pump_fwhm_um!r}")
        self.chart = chart
        self.beam_fwhm_um = float(beam_fwhm_um)
        self.pump_fwhm_um = float(pump_fwhm_um)
        xc, yc = beam_centre_um if beam_centre_um is not None else chart.centre_um
        self.beam_centre_um = (float(xc), float(yc))
        pix = chart.pixel_um
        k = 4.0 * math.log(2.0) / self.beam_fwhm_um**2
        gx = np.exp(-k * (chart.x_um() - xc) ** 2)
        gy = np.exp(-k * (chart.y_um() - yc) ** 2)
        field = gaussian_peak_per_um2(self.beam_fwhm_um) * np.outer(gy, gx) * chart.transmission
        sigma_px = self.pump_fwhm_um / FWHM_PER_SIGMA / pix
        half = max(1, int(math.ceil(4.0 * sigma_px)))
        padded = np.pad(field, half)
        if sigma_px > 0:
            from scipy.signal import fftconvolve  # (here: scipy.signal costs ~0.2 s to import)

            u = np.arange(-half, half + 1, dtype=float)
            g1 = np.exp(-0.5 * (u / sigma_px) ** 2)
            kernel = np.outer(g1, g1)
            kernel /= kernel.sum()
            padded = fftconvolve(padded, kernel, mode="same")
            padded[np.abs(padded) < 1e-300] = 0.0
        self._map = np.ascontiguousarray(padded, dtype=float)
        self._ny, self._nx = self._map.shape
        self._x0_um = chart.x0_um - half * pix
        self._y0_um = chart.y0_um - half * pix
        self._inv_pix = 1.0 / pix
        self._flat = memoryview(self._map).cast("B").cast("d")
        self._x_hi = self._nx - 1.0
        self._y_hi = self._ny - 1.0

    @property
    def map_per_um2(self) -> np.ndarray:
        """The pump-averaged intensity map per watt of source power (1/um^2), padded."""
        return self._map

    def peak_beam_W_per_um2(self, power_W: float) -> float:
        """On-axis MIR intensity of the bare beam (no chart) for ``power_W``."""
        return power_W * gaussian_peak_per_um2(self.beam_fwhm_um)

    def intensity_W_per_um2(self, x_um: float, y_um: float, power_W: float) -> float:
        """Pump-averaged MIR intensity at one stage position, W/um^2 (0 off the chart)."""
        fx = (x_um - self._x0_um) * self._inv_pix
        fy = (y_um - self._y0_um) * self._inv_pix
        if not (0.0 <= fx <= self._x_hi and 0.0 <= fy <= self._y_hi):
            return 0.0
        ix = int(fx)
        iy = int(fy)
        if ix >= self._nx - 1:
            ix = self._nx - 2
        if iy >= self._ny - 1:
            iy = self._ny - 2
        tx = fx - ix
        ty = fy - iy
        m = self._flat
        i = iy * self._nx + ix
        j = i + self._nx
        lower = m[i] + tx * (m[i + 1] - m[i])
        upper = m[j] + tx * (m[j + 1] - m[j])
        return power_W * (lower + ty * (upper - lower))

    def intensity_grid_W_per_um2(
        self, x_um: np.ndarray, y_um: np.ndarray, power_W: float
    ) -> np.ndarray:
        """Intensity on the grid ``x_um`` (nx,) by ``y_um`` (ny,), shape ``(ny, nx)``.

        Same bilinear interpolation as :meth:`intensity_W_per_um2`.
        """
        ix, tx, okx = self._axis(np.asarray(x_um, dtype=float), self._x0_um, self._nx)
        iy, ty, oky = self._axis(np.asarray(y_um, dtype=float), self._y0_um, self._ny)
        m = self._map
        rows = (1.0 - ty)[:, None] * m[iy] + ty[:, None] * m[iy + 1]
        out = (1.0 - tx)[None, :] * rows[:, ix] + tx[None, :] * rows[:, ix + 1]
        out *= oky[:, None] & okx[None, :]
        return power_W * out

    def _axis(self, c_um: np.ndarray, c0_um: float, n: int):
        f = (c_um - c0_um) * self._inv_pix
        ok = (f >= 0.0) & (f <= n - 1.0)
        fc = np.clip(f, 0.0, n - 1.0)
        i = np.minimum(fc.astype(np.intp), n - 2)
        return i, fc - i, ok
