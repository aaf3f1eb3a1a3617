"""Simulated DMD: binary patterns structuring the pump over a field of view on the film.

In patterned mode (``enabled``) the pump does not come as a focused spot but
through the DMD: pixel ``(i, j)`` of an ``n x n`` pattern lights an
``a x a`` square of the film (``a = fov_um / n``) centred at
``(x_c + (j - (n-1)/2) a, y_c + (i - (n-1)/2) a)`` around the stage position
``(x_c, y_c)``; row ``i`` runs along +y, column ``j`` along +x, like the raster
image axes. The bucket photodiode sees the sum over the lit pixels of each
pixel's response (see :func:`pixel_response_map_V`).

A lit pixel is pumped *uniformly* (flat top) at ``P_pump / fov^2``: its film
responds at that one intensity, not as a Gaussian spot holding every intensity
from its peak down. :func:`flat_top_film` gives the rate-equation film evaluated
that way (at 500 mW over a 400 um field the lit pixel's 660 nm signal is 1.95x the
Gaussian-spot average at the same peak intensity: the local slope of the pump law).
"""

from __future__ import annotations

import weakref

import numpy as np

from imager.devices.interfaces import Settings
from imager.sim.instruments import _HookedDevice
from imager.sim.twin_film import RateEquationFilm
from imager.twin import Film
from imager.twin.constants import gaussian_peak_per_um2, photon_energy_J

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


class FlatTopFilm(Film):
    """The film twin under a uniform pump: one intensity instead of the Gaussian spot.

    Same parameters and rate equations as :class:`imager.twin.Film`; ``pump_W`` is
    read as the power of a spot-equivalent whose *peak* intensity is the uniform
    one, ``I = pump_W / A_eff``, and emission is per ion at exactly ``I`` (one
    node of weight 1 instead of the Gaussian's spread of intensities). Pump
    heating keeps the spot formula at that power, ~5e-5 K at 500 mW over a 400 um
    field; a uniform 400 um field would heat ~0.01 K: both negligible.
    """

    def _pump_nodes(self, pump_W: float) -> tuple[np.ndarray, np.ndarray]:
        if pump_W <= 0.0:
            return np.zeros(0), np.zeros(0)
        p = self.params
        w_per_cm2 = pump_W * gaussian_peak_per_um2(p.pump_fwhm_um) * 1e8
        return np.array([w_per_cm2 / photon_energy_J(p.pump_wavelength_nm)]), np.ones(1)


_FLAT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def flat_top_film(film: object) -> object:
    """The lab film's flat-top twin (cached; temperature kept in step), or ``film`` itself.

    For a :class:`~imager.sim.twin_film.RateEquationFilm`: the same parameters,
    detector, channel and reference frequency on a :class:`FlatTopFilm`. Other film
    responses (the first-order film) have no pump profile and are returned as they are.
    """
    if not isinstance(film, RateEquationFilm):
        return film
    flat = _FLAT.get(film)
    if flat is None or flat.detector is not film.detector:
        flat = RateEquationFilm(FlatTopFilm(film.film.params), film.detector, film.channel,
                                film.temperature_K, film.reference_frequency_Hz)
        _FLAT[film] = flat
    if flat.temperature_K != film.temperature_K:
        flat.temperature_K = film.temperature_K
    return flat


def lit_pixel_pump_mW(pump_mW: float, fov_um: float, pump_fwhm_um: float) -> float:
    """Spot-equivalent pump of a lit pixel: ``P / fov^2 * A_eff`` (its intensity times A_eff)."""
    return pump_mW / (fov_um * fov_um) / gaussian_peak_per_um2(pump_fwhm_um)


def pixel_centres_um(n: int, fov_um: float, centre_um: float) -> np.ndarray:
    """Centres of ``n`` pixels of pitch ``fov_um / n`` around ``centre_um``."""
    a = fov_um / n
    return centre_um + (np.arange(n) - (n - 1) / 2.0) * a


def pixel_response_map_V(lab, n: int, fov_um: float) -> np.ndarray:
    """Lock-in amplitude each DMD pixel contributes when lit, shape ``(n, n)``, volts.

    The DMD spreads the pump evenly over its field: a lit pixel is pumped
    uniformly at ``I_pump = P_pump / fov^2``. The film's response is per
    ``A_spot = pi FWHM^2 / (4 ln 2)`` worth of emitters; a pixel of area ``a^2``
    holds ``a^2 / A_spot`` times as many, each responding at ``I_pump``
    (:func:`flat_top_film`, spot-equivalent power ``P_eq = I_pump A_spot``), so it
    contributes ``dV_flat(I_pix, P_eq) * a^2 / A_spot``, with ``I_pix`` the MIR
    intensity averaged over the pixel (:data:`SUBSAMPLES`^2 samples). A film
    response without a pump profile (first-order film) is used as it is.
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
    area_ratio = a * a * gaussian_peak_per_um2(fwhm)
    p_equiv_mW = lit_pixel_pump_mW(lab.pump.power_mW, fov_um, fwhm)
    film = flat_top_film(lab.film)
    return np.asarray(film.dV_V(intensity, p_equiv_mW, source.wavelength_um)) * area_ratio
