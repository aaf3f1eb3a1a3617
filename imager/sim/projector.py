"""Simulated DMD: binary patterns structuring the pump over a field of view on the film.

In patterned mode (``enabled``) the pump does not come as a focused spot but
through the DMD: pixel ``(i, j)`` of an ``n x n`` pattern lights an
``a x a`` square of the film (``a = fov_um / n``) centred at
``(x_c + (j - (n-1)/2) a, y_c + (i - (n-1)/2) a)`` around the stage position
``(x_c, y_c)``; row ``i`` runs along +y, column ``j`` along +x, like the raster
image axes. The bucket photodiode sees the sum over the lit pixels of each
pixel's response (see :func:`pixel_response_map_V`).
"""

from __future__ import annotations

import math

import numpy as np

from imager.devices.interfaces import Settings
from imager.sim.instruments import _HookedDevice

SWITCH_TIME_S = 44e-6
"""Pattern switch time of a ViALUX V-7000 class DMD (22.7 kHz binary rate)."""

SUBSAMPLES = 4
"""MIR intensity samples per pixel side when averaging over a pixel."""


class SimulatedProjector(_HookedDevice):
    """DMD twin implementing :class:`imager.devices.interfaces.Projector`.

    Parameters
    ----------
    clock : Clock
        Lab clock; showing a pattern takes :data:`SWITCH_TIME_S`.
    fov_um : float
        Side of the square field of view on the film.
    max_patterns : int
        Sequence memory (ViALUX V-7000: 43,690 binary 1024x768 frames).
    """

    def __init__(self, clock, fov_um: float = 400.0, max_patterns: int = 43690) -> None:
        super().__init__()
        self._clock = clock
        self.fov_um = float(fov_um)
        self.max_patterns = int(max_patterns)
        self.shape: tuple[int, int] = (0, 0)
        self.enabled = False
        self._patterns: np.ndarray | None = None
        self._current: int | None = None

    def load(self, patterns: object) -> None:
        """Load binary patterns ``(k, n, n)`` (0/1); replaces the sequence in memory."""
        array = np.asarray(patterns)
        if array.ndim != 3 or array.shape[1] != array.shape[2] or array.shape[0] < 1:
            raise ValueError(f"patterns must have shape (k, n, n), got {array.shape}")
        if array.shape[0] > self.max_patterns:
            raise ValueError(f"{array.shape[0]} patterns exceed the DMD memory of "
                             f"{self.max_patterns}")
        if array.dtype != np.uint8 and not np.isin(array, (0, 1)).all():
            raise ValueError("patterns must be binary (0/1)")
        self._changing()
        self._patterns = array.reshape(array.shape[0], -1).astype(np.float64)
        self.shape = (array.shape[1], array.shape[2])
        self._current = None

    def show(self, k: int) -> None:
        """Display pattern ``k`` of the loaded sequence."""
        if self._patterns is None:
            raise RuntimeError("no pattern sequence loaded")
        if not 0 <= k < self._patterns.shape[0]:
            raise IndexError(f"pattern {k} outside the loaded 0..{self._patterns.shape[0] - 1}")
        self._changing()
        self._current = int(k)
        self._clock.sleep(SWITCH_TIME_S)

    def current_pattern(self) -> np.ndarray | None:
        """The flattened pattern on display (float 0/1), or None."""
        if not self.enabled or self._patterns is None or self._current is None:
            return None
        return self._patterns[self._current]

    def settings(self) -> Settings:
        return {"kind": "simulated", "model": "DMD twin", "fov_um": self.fov_um,
                "rows": self.shape[0], "cols": self.shape[1],
                "max_patterns": self.max_patterns, "switch_time_s": SWITCH_TIME_S}


def pixel_centres_um(n: int, fov_um: float, centre_um: float) -> np.ndarray:
    """Centres of ``n`` pixels of pitch ``fov_um / n`` around ``centre_um``."""
    a = fov_um / n
    return centre_um + (np.arange(n) - (n - 1) / 2.0) * a


def pixel_response_map_V(lab, n: int, fov_um: float) -> np.ndarray:
    """Lock-in amplitude each DMD pixel contributes when lit, shape ``(n, n)``, volts.

    The DMD spreads the pump evenly over its field: a pixel gets
    ``P_pix = P_pump / n^2``. The film's response is defined for the focused
    spot (effective area ``A_spot = pi FWHM^2 / (4 ln 2)``); a pixel of area
    ``a^2`` at the same pump *intensity* as a spot of power
    ``P_eq = P_pix A_spot / a^2`` holds ``a^2 / A_spot`` times as many emitters,
    so it contributes ``dV(I_pix, P_eq) * a^2 / A_spot``, with ``I_pix`` the MIR
    intensity averaged over the pixel (:data:`SUBSAMPLES`^2 samples).
    """
    source = lab.source
    if not (source.on and lab.chopper.enabled):
        return np.zeros((n, n))
    a = fov_um / n
    xs = pixel_centres_um(n * SUBSAMPLES, fov_um, lab.stage_x.position_um())
    ys = pixel_centres_um(n * SUBSAMPLES, fov_um, lab.stage_y.position_um())
    fine = lab.optics.intensity_grid_W_per_um2(xs, ys, source.emitted_power_mW * 1e-3)
    intensity = fine.reshape(n, SUBSAMPLES, n, SUBSAMPLES).mean(axis=(1, 3))
    fwhm = lab.config.pump_fwhm_um
    spot_area_um2 = math.pi * fwhm**2 / (4.0 * math.log(2.0))
    area_ratio = a * a / spot_area_um2
    p_equiv_mW = lab.pump.power_mW / (n * n) / area_ratio
    return np.asarray(lab.film.dV_V(intensity, p_equiv_mW, source.wavelength_um)) * area_ratio
