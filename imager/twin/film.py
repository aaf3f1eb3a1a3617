"""The film twin's public face: :class:`Film`.

Band emission, 525/545 ratio, decay traces and lifetimes of the
NaYF4:20%Yb/2%Er film under a focused 980 nm pump and a MIR beam, from the
rate equations of :mod:`imager.twin.rates` with the parameters of
:mod:`imager.twin.parameters`.

Units and conventions
---------------------
* Emission is in **photons per second per Er3+ ion**, averaged over the pump
  spot's effective area ``A_eff = pi * FWHM**2 / (4 ln 2)`` (the area of a flat
  spot with the Gaussian's peak intensity and power). The spot's whole photon
  rate is that times :attr:`Film.emitters_in_spot`.
* The pump profile is integrated: a Gaussian spot holds every intensity from
  its peak down, so the pump law softens from quadratic towards logarithmic
  growth at high power instead of saturating abruptly.
* ``T_K`` is the lattice (stage) temperature. The film is warmer by the pump
  heating and, unless ``mir_heating=False``, by MIR heating proportional to
  the absorbed MIR intensity (:meth:`Film.film_temperature_K`).
* The MIR acts through the absorbed intensity ``I * A(lambda)``
  (:meth:`Film.absorption`, 1 at 7.4 um). ``mir_channel=False`` keeps only its
  heating, ``mir_heating=False`` only the relaxation channel.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from scipy.optimize import brentq

from imager.twin import rates as rq
from imager.twin.analysis import fit_single_exponential
from imager.twin.constants import BANDS, gaussian_peak_per_um2, photon_energy_J
from imager.twin.parameters import FilmParameters

ROOM_TEMPERATURE_K = 298.0
"""The paper's room temperature."""
DEFAULT_PUMP_W = 0.5e-3
"""Default pump power: the simulated pump's default, inside the paper's 10-1000 uW range."""
MIR_ON_POWER_W = 0.050
"""MIR power of the paper's "MIR on" measurements (lifetimes and ratios at 50 mW)."""
MIR_ON_BEAM_FWHM_UM = 100.0
"""Assumed intensity FWHM of the focused QCL beam in those measurements. The paper
quotes power, the twin needs intensity: a ~3 mm QCL beam focused by an f = 50 mm
lens gives a near-diffraction-limited spot of ~90 um FWHM at 7.4 um."""
MIR_ON_WAVELENGTH_UM = 7.4
"""Wavelength of the paper's characterisation."""
LIFETIME_WINDOW_S = 2e-3
LIFETIME_SAMPLES = 401
_BAND_INDEX = {"525": 5, "545": 4, "660": 3}
_LOW_INTENSITY_W_PER_CM2 = 1.0


class Film:
    """Rate-equation twin of the upconversion film.

    Parameters
    ----------
    params : FilmParameters, optional
        Model parameters; default the documented, fitted set.
    n_nodes : int
        Gauss-Legendre nodes over log pump intensity for the spot integral.

    Examples
    --------
    >>> film = Film()
    >>> on = film.emission(T_K=298.0, pump_W=5e-4, mir_W_per_um2=film.mir_on_W_per_um2)
    >>> sorted(on)
    ['525', '545', '660']
    """

    def __init__(self, params: FilmParameters | None = None, *, n_nodes: int = 16) -> None:
        self.params = params if params is not None else FilmParameters()
        if int(n_nodes) < 2:
            raise ValueError(f"n_nodes must be >= 2, got {n_nodes!r}")
        self._gl = np.polynomial.legendre.leggauss(int(n_nodes))
        self._cache: dict[tuple[float, ...], tuple[rq.Rates, np.ndarray, np.ndarray]] = {}

    # -------------------------------------------------------------- geometry
    @property
    def mir_on_W_per_um2(self) -> float:
        """MIR intensity taken as "MIR on": 50 mW at 7.4 um, peak of a 100 um FWHM beam."""
        return MIR_ON_POWER_W * gaussian_peak_per_um2(MIR_ON_BEAM_FWHM_UM)

    @property
    def spot_area_um2(self) -> float:
        """Effective pump area ``A_eff`` (power / peak intensity), um^2."""
        return 1.0 / gaussian_peak_per_um2(self.params.pump_fwhm_um)

    @property
    def emitters_in_spot(self) -> float:
        """Er3+ ions in the film under ``A_eff``."""
        p = self.params
        return p.er_per_cm3 * p.film_thickness_um * 1e-4 * self.spot_area_um2 * 1e-8

    def absorption(self, wavelength_um: float | np.ndarray) -> float | np.ndarray:
        """Relative MIR absorption ``A(lambda)`` of the film, 1 at 7.4 um."""
        p = self.params
        return _window(p, wavelength_um) / _window(p, p.mir_lambda_ref_um)

    def pump_heating_K(self, pump_W: float) -> float:
        """Temperature rise at the pump spot from the absorbed pump.

        ``P * f_abs / (sqrt(2 pi) * kappa * w)``: a Gaussian heat source of 1/e^2
        radius ``w`` on a half-space of conductivity ``kappa`` (CaF2), with
        ``f_abs = N_Yb * sigma_abs * thickness`` and all absorbed power as heat.
        """
        p = self.params
        f_abs = p.yb_per_cm3 * p.yb_absorption_cm2 * p.film_thickness_um * 1e-4
        w_m = p.pump_fwhm_um * 1e-6 / math.sqrt(2.0 * math.log(2.0))
        kappa = p.substrate_conductivity_W_per_m_K
        return pump_W * f_abs / (math.sqrt(2.0 * math.pi) * kappa * w_m)

    def film_temperature_K(self, T_K: float = ROOM_TEMPERATURE_K, pump_W: float = DEFAULT_PUMP_W,
                           mir_W_per_um2: float = 0.0,
                           mir_wavelength_um: float = MIR_ON_WAVELENGTH_UM,
                           mir_heating: bool = True) -> float:
        """Film temperature: lattice + pump heating + MIR heating (if enabled), K."""
        heat = self.pump_heating_K(pump_W)
        if mir_heating:
            heat += (self.params.mir_heating_K_per_W_per_um2 * mir_W_per_um2
                     * float(self.absorption(mir_wavelength_um)))
        return float(T_K) + heat

    # ----------------------------------------------------------- steady state
    def _state(self, T_K: float, pump_W: float, mir_W_per_um2: float, mir_wavelength_um: float,
               mir_channel: bool, mir_heating: bool, *, signed_mir: bool = False):
        _check_inputs(T_K, pump_W, mir_W_per_um2, allow_negative_mir=signed_mir)
        t_film = self.film_temperature_K(T_K, pump_W, mir_W_per_um2, mir_wavelength_um,
                                         mir_heating)
        i_abs = mir_W_per_um2 * float(self.absorption(mir_wavelength_um)) if mir_channel else 0.0
        key = (round(t_film, 9), float(pump_W), float(i_abs))
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        r = rq.rates_at(self.params, t_film, i_abs)
        flux, weights = self._pump_nodes(pump_W)
        if flux.size:
            p = self.params
            x = rq.steady_state(r, p.yb_absorption_cm2 * flux, p.yb_emission_cm2 * flux)
        else:
            x = np.zeros((0, rq.N_STATES))
        if len(self._cache) > 512:
            self._cache.clear()
        self._cache[key] = (r, x, weights)
        return r, x, weights

    def _pump_nodes(self, pump_W: float) -> tuple[np.ndarray, np.ndarray]:
        """Photon fluxes (cm^-2 s^-1) and weights of the spot integral over ``ln(I / I0)``."""
        if pump_W <= 0.0:
            return np.zeros(0), np.zeros(0)
        p = self.params
        peak_W_per_cm2 = pump_W * gaussian_peak_per_um2(p.pump_fwhm_um) * 1e8
        s_lo = min(-8.0, math.log(_LOW_INTENSITY_W_PER_CM2 / peak_W_per_cm2))
        nodes, w = self._gl
        s = 0.5 * s_lo * (1.0 - nodes)  # maps [-1, 1] -> [s_lo, 0]
        flux = peak_W_per_cm2 * np.exp(s) / photon_energy_J(p.pump_wavelength_nm)
        return flux, 0.5 * (-s_lo) * w

    def emission(self, T_K: float = ROOM_TEMPERATURE_K, pump_W: float = DEFAULT_PUMP_W,
                 mir_W_per_um2: float = 0.0, mir_wavelength_um: float = MIR_ON_WAVELENGTH_UM,
                 *, mir_channel: bool = True, mir_heating: bool = True) -> dict[str, float]:
        """Steady-state band emission, photons/s per Er3+ ion (spot-averaged).

        Parameters
        ----------
        T_K : float
            Lattice (stage) temperature.
        pump_W : float
            980 nm pump power in the focused spot.
        mir_W_per_um2 : float
            Local MIR intensity (continuous), W/um^2.
        mir_wavelength_um : float
            MIR wavelength.
        mir_channel, mir_heating : bool
            Switch the MIR relaxation channel / MIR heating on or off.

        Returns
        -------
        dict
            ``{"525": ..., "545": ..., "660": ...}``.
        """
        r, x, w = self._state(T_K, pump_W, mir_W_per_um2, mir_wavelength_um, mir_channel,
                              mir_heating)
        return _band_rates(self.params, x, w)

    def ratio(self, T_K: float = ROOM_TEMPERATURE_K, pump_W: float = DEFAULT_PUMP_W,
              mir_W_per_um2: float = 0.0, mir_wavelength_um: float = MIR_ON_WAVELENGTH_UM,
              *, mir_channel: bool = True, mir_heating: bool = True) -> float:
        """Band ratio ``R = I525 / I545`` (photon rates), same arguments as :meth:`emission`."""
        e = self.emission(T_K, pump_W, mir_W_per_um2, mir_wavelength_um,
                          mir_channel=mir_channel, mir_heating=mir_heating)
        return e["525"] / e["545"]

    def mir_slope(self, T_K: float = ROOM_TEMPERATURE_K, pump_W: float = DEFAULT_PUMP_W,
                  mir_wavelength_um: float = MIR_ON_WAVELENGTH_UM) -> dict[str, float]:
        """Small-signal ``d emission / d I_MIR`` at zero MIR, (photons/s per ion) per (W/um^2).

        Channel and heating both included; a central difference with a step of
        1e-4 of the "MIR on" intensity (the response is smooth: the truncation
        error is ~1e-8 relative, well below the solver's tolerance).
        """
        h = 1e-4 * self.mir_on_W_per_um2
        up = self.emission(T_K, pump_W, h, mir_wavelength_um)
        r, x, w = self._state(T_K, pump_W, -h, mir_wavelength_um, True, True, signed_mir=True)
        down = _band_rates(self.params, x, w)
        return {b: (up[b] - down[b]) / (2.0 * h) for b in BANDS}

    def temperature_for_ratio(self, ratio: float, pump_W: float = DEFAULT_PUMP_W,
                              bounds_K: tuple[float, float] = (150.0, 600.0)) -> float:
        """Lattice temperature at which the MIR-off ratio equals ``ratio`` (thermometry)."""
        def f(T: float) -> float:
            return self.ratio(T, pump_W) - ratio

        lo, hi = bounds_K
        if f(lo) * f(hi) > 0:
            raise ValueError(f"ratio {ratio!r} is not reached between {lo} and {hi} K")
        return float(brentq(f, lo, hi, xtol=1e-4))

    def modulation_transfer(self, f_Hz: float | np.ndarray, T_K: float = ROOM_TEMPERATURE_K,
                            pump_W: float = DEFAULT_PUMP_W,
                            mir_wavelength_um: float = MIR_ON_WAVELENGTH_UM,
                            **options: object) -> complex | np.ndarray:
        """660 nm response to MIR chopped at ``f_Hz`` over its quasi-static value, complex.

        From the linearised rate equations and the MIR heating's conduction into
        the substrate; see :func:`imager.twin.modulation.modulation_transfer` (which
        takes the same ``options``) for the derivation and the corner frequency.
        """
        from imager.twin.modulation import modulation_transfer

        return modulation_transfer(f_Hz, self, T_K, pump_W, mir_wavelength_um, **options)

    # ---------------------------------------------------------- time-resolved
    def decays(self, t_s: Iterable[float], T_K: float = ROOM_TEMPERATURE_K,
               pump_W: float = DEFAULT_PUMP_W, mir_W_per_um2: float = 0.0,
               mir_wavelength_um: float = MIR_ON_WAVELENGTH_UM, *, mir_channel: bool = True,
               mir_heating: bool = True) -> dict[str, np.ndarray]:
        """Emission of every band after the pump is switched off at ``t = 0``.

        The pump has been on long enough to reach the steady state; the MIR
        stays on (continuous). Photons/s per Er3+ ion at each ``t_s``.
        """
        r, x, w = self._state(T_K, pump_W, mir_W_per_um2, mir_wavelength_um, mir_channel,
                              mir_heating)
        t = np.asarray(list(t_s) if not isinstance(t_s, np.ndarray) else t_s, dtype=float)
        if x.shape[0] == 0:
            return {b: np.zeros(t.size) for b in BANDS}
        traj = rq.relax(r, x, t)
        return {b: _band_rate(self.params, b, traj, w) for b in BANDS}

    def decay(self, band: str, t_s: Iterable[float], T_K: float = ROOM_TEMPERATURE_K,
              pump_W: float = DEFAULT_PUMP_W, mir_W_per_um2: float = 0.0,
              mir_wavelength_um: float = MIR_ON_WAVELENGTH_UM, **switches: bool) -> np.ndarray:
        """Decay trace of one band (see :meth:`decays`), photons/s per Er3+ ion."""
        _check_band(band)
        return self.decays(t_s, T_K, pump_W, mir_W_per_um2, mir_wavelength_um, **switches)[band]

    def lifetimes(self, T_K: float = ROOM_TEMPERATURE_K, pump_W: float = DEFAULT_PUMP_W,
                  mir_W_per_um2: float = 0.0, mir_wavelength_um: float = MIR_ON_WAVELENGTH_UM,
                  *, window_s: float = LIFETIME_WINDOW_S, n_samples: int = LIFETIME_SAMPLES,
                  **switches: bool) -> dict[str, float]:
        """Lifetimes as an experimenter fits them, seconds, keyed by band.

        A single exponential with a free baseline is least-squares fitted to the
        decay trace over ``0 .. window_s`` (``n_samples`` points) after the pump
        is switched off (:func:`imager.twin.analysis.fit_single_exponential`, the
        same model as the calibration's ``fit_decay``). The traces are not
        single exponentials (the Yb reservoir keeps feeding), so the numbers
        depend on the window; the defaults match the calibration recipe's.
        """
        t = np.linspace(0.0, window_s, int(n_samples))
        traces = self.decays(t, T_K, pump_W, mir_W_per_um2, mir_wavelength_um, **switches)
        return {b: fit_single_exponential(t, traces[b]).tau_s for b in BANDS}


def _window(p: FilmParameters, wavelength_um: float | np.ndarray) -> float | np.ndarray:
    lam = np.asarray(wavelength_um, dtype=float)
    w = p.mir_band_edge_um
    lo = np.clip((lam - p.mir_band_min_um) / w, -700, 700)
    hi = np.clip((p.mir_band_max_um - lam) / w, -700, 700)
    taper = (lam - p.mir_lambda_ref_um) / p.mir_band_sigma_um
    out = np.exp(-0.5 * taper * taper) / ((1.0 + np.exp(-lo)) * (1.0 + np.exp(-hi)))
    return float(out) if out.ndim == 0 else out


def _band_rates(p: FilmParameters, x: np.ndarray, w: np.ndarray) -> dict[str, float]:
    return {b: float(_band_rate(p, b, x, w)) for b in BANDS}


def _band_rate(p: FilmParameters, band: str, x: np.ndarray, w: np.ndarray):
    a = {"525": p.A_525_per_s, "545": p.A_545_per_s, "660": p.A_660_per_s}[band]
    pop = x[:, _BAND_INDEX[band]]
    return a * np.tensordot(w, pop, axes=(0, 0))


def _check_band(band: str) -> None:
    if band not in BANDS:
        raise ValueError(f"band must be one of {BANDS}, got {band!r}")


def _check_inputs(T_K: float, pump_W: float, mir: float, allow_negative_mir: bool) -> None:
    if not (math.isfinite(T_K) and T_K > 0):
        raise ValueError(f"T_K must be > 0, got {T_K!r}")
    if not (math.isfinite(pump_W) and pump_W >= 0):
        raise ValueError(f"pump_W must be >= 0, got {pump_W!r}")
    if not math.isfinite(mir) or (mir < 0 and not allow_negative_mir):
        raise ValueError(f"mir_W_per_um2 must be >= 0, got {mir!r}")
