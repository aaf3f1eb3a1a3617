"""The film's modulation transfer: how its MIR-induced emission change follows a chopper.

The lab chops the MIR (square wave, 50 % duty) and a lock-in reads the change of
the emission at the chopper's fundamental ``f``. The film does not follow the
MIR instantly: the populations relax with the level lifetimes and the film's
MIR heating diffuses into the substrate. :func:`modulation_transfer` gives the
complex amplitude of the emission change at ``f`` relative to its quasi-static
value, ``H(f)`` (``H(0) = 1``; ``|H|`` falls and the phase lags as ``f`` grows),
from the twin's own parameters; :func:`corner_frequency_Hz` is where ``|H|``
falls to :data:`CORNER_FRACTION`.

Derivation
----------
Small signal around the pumped steady state with the MIR off. Per pump node
``n`` (the Gaussian spot integral of :class:`~imager.twin.film.Film`) the state
``x`` obeys ``dx/dt = F(x; i, T)`` (:func:`imager.twin.rates.derivatives`), with
``i = A(lambda) I`` the absorbed MIR intensity and ``T`` the film temperature.
Linearised::

    d(dx)/dt = J dx + F_i A dI + F_T dT

``J = dF/dx`` (the Jacobian of the rate equations: its eigenvalues are minus
the coupled decay rates of Yb 2F5/2, Er 4I13/2, 4I11/2, 4F9/2, 4S3/2, 2H11/2),
``F_i = dF/di`` (the MIR channel: ``mir_4S_to_2H_per_s_per_W_per_um2`` and
``mir_4F9_loss_per_s_per_W_per_um2``, exact since ``F`` is linear in ``i``) and
``F_T = dF/dT`` (temperature-dependent exchange, multiphonon decays and Yb
quenching; central difference of 1 mK). The MIR heating is
``dT(w) = kappa_h A H_th(w) dI(w)`` with ``kappa_h`` =
``mir_heating_K_per_W_per_um2``. For ``dI(t) = Re(I e^{iwt})``, ``w = 2 pi f``::

    dx_n(w) = (iw - J_n)^-1 (F_i + F_T kappa_h H_th(w)) A I
    de_b(w) = A_b sum_n weight_n dx_n,b(w)        (band b: 660, 545, 525 nm)
    H(f)    = sum_b c_b de_b(w) / sum_b c_b de_b(0)

``c_b`` are the readout channel's weights (660 nm: ``c_660 = 1``; the ratio
channel: the linearised divider, :func:`channel_band_weights`). ``de_b(0)`` is
the steady-state slope :meth:`Film.mir_slope`. Expanding ``J`` in its eigenmodes
``lambda_k`` turns the electronic part into a sum of first-order low-pass terms
``c_k / (1 + i w tau_k)``, ``tau_k = -1/lambda_k``, one per coupled level
relaxation; it is solved here directly (the same thing, exactly).

The thermal part ``H_th`` is the centre temperature of a Gaussian surface heat
source of 1/e^2 radius ``r`` on a half-space of conductivity ``k`` and
diffusivity ``D = k / (rho c)`` (CaF2; the 0.1 um film stores negligible heat,
its own diffusion time is ~ns). The Hankel transform of the heat equation gives
``T(0, w) ~ int_0^inf exp(-q^2 r^2 / 8) q / sqrt(q^2 + iw/D) dq``, so::

    H_th(f) = exp(z^2) erfc(z),   z = sqrt(i w tau_th),   tau_th = r^2 / (8 D)

(at ``w = 0`` this is the half-space formula of :meth:`Film.pump_heating_K`).
It is not first order: it falls as ``f^-1/2`` with a -45 deg phase at high
``f``, and approaches 1 as ``1 - 2 z / sqrt(pi)``. The heated spot is the beam
the heating coefficient was fitted at, the "MIR on" beam of
:data:`~imager.twin.film.MIR_ON_BEAM_FWHM_UM` (100 um FWHM); the twin's heating
is local in intensity, so a wider beam's stronger and slower heating
(``dT ~ r``, ``tau_th ~ r^2``) is not represented (``heated_fwhm_um`` lets a
caller choose another spot for the time constant).

The chopped MIR is a square wave; the small-signal response is linear and
time-invariant, so each harmonic passes with ``H`` at its own frequency and the
lock-in, reading the fundamental, sees ``H(f_chopper)`` times the quasi-static
amplitude (the ``sqrt(2)/pi`` of :mod:`imager.twin.detection`).

Parameter sources (``imager/twin/README.md``, ``imager/twin/parameters.py``):
level rates, transfer rates, cross-sections (standard/chosen); MIR couplings
and MIR heating (fitted); ``substrate_conductivity_W_per_m_K``,
``substrate_density_kg_per_m3``, ``substrate_specific_heat_J_per_kg_K``
(standard, CaF2).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.special import erfcx

from imager.twin import rates as rq
from imager.twin.constants import BANDS
from imager.twin.film import (
    _BAND_INDEX,
    DEFAULT_PUMP_W,
    MIR_ON_BEAM_FWHM_UM,
    MIR_ON_WAVELENGTH_UM,
    ROOM_TEMPERATURE_K,
    Film,
)
from imager.twin.parameters import FilmParameters

CORNER_FRACTION = 0.5
"""``|H|`` at the film's corner frequency: above it the chopper costs more than half
the signal (allowed, but the simulated lab warns)."""
_DT_K = 1e-3
_F_SEARCH_HZ = (1e-3, 1e9)


def thermal_diffusivity_m2_per_s(params: FilmParameters) -> float:
    """Thermal diffusivity of the substrate, ``k / (rho c)``, m^2/s."""
    return params.substrate_conductivity_W_per_m_K / (
        params.substrate_density_kg_per_m3 * params.substrate_specific_heat_J_per_kg_K)


def thermal_time_constant_s(params: FilmParameters,
                            heated_fwhm_um: float = MIR_ON_BEAM_FWHM_UM) -> float:
    """``tau_th = r^2 / (8 D)`` of a Gaussian heated spot of intensity FWHM ``heated_fwhm_um``.

    ``r = FWHM / sqrt(2 ln 2)`` is the 1/e^2 radius, ``D`` the substrate's
    diffusivity (:func:`thermal_diffusivity_m2_per_s`).
    """
    if not heated_fwhm_um > 0:
        raise ValueError(f"heated_fwhm_um must be > 0, got {heated_fwhm_um!r}")
    r_m = heated_fwhm_um * 1e-6 / math.sqrt(2.0 * math.log(2.0))
    return r_m * r_m / (8.0 * thermal_diffusivity_m2_per_s(params))


def thermal_transfer(f_Hz: float | np.ndarray, tau_s: float) -> complex | np.ndarray:
    """``H_th(f) = exp(z^2) erfc(z)``, ``z = sqrt(2 pi i f tau_s)`` (half-space conduction)."""
    f = np.asarray(f_Hz, dtype=float)
    out = erfcx(np.sqrt(2j * math.pi * f * tau_s))
    return complex(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class SmallSignalModel:
    """The film linearised around its pumped steady state (MIR off).

    Attributes
    ----------
    jacobian : numpy.ndarray
        ``J_n = dF/dx`` per pump node, ``(N, 6, 6)``, s^-1.
    drive_channel, drive_heating : numpy.ndarray
        ``F_i`` and ``F_T kappa_h`` per unit *absorbed* MIR intensity, ``(N, 6)``
        (zero where ``mir_channel`` / ``mir_heating`` is off).
    node_weights : numpy.ndarray
        Weights of the spot integral, ``(N,)``.
    absorption : float
        ``A(lambda)`` of the MIR wavelength (scales both drives).
    thermal_time_constant_s : float
        ``tau_th`` of :func:`thermal_time_constant_s`.
    band_rates_per_s : dict
        Radiative rate of each band's transition (emission = rate x population).
    """

    jacobian: np.ndarray
    drive_channel: np.ndarray
    drive_heating: np.ndarray
    node_weights: np.ndarray
    absorption: float
    thermal_time_constant_s: float
    band_rates_per_s: dict[str, float]

    def band_response(self, f_Hz: float | np.ndarray) -> dict[str, complex | np.ndarray]:
        """Complex ``d emission / d I_MIR`` at modulation frequency ``f_Hz``, per band.

        Photons/s per Er3+ ion per W/um^2 of incident MIR (spot-averaged), shape
        of ``f_Hz``; at 0 Hz it is :meth:`Film.mir_slope`.
        """
        f = np.atleast_1d(np.asarray(f_Hz, dtype=float))
        if np.any(f < 0) or not np.all(np.isfinite(f)):
            raise ValueError("f_Hz must be finite and >= 0")
        s = 2j * math.pi * f                                      # (M,)
        h_th = erfcx(np.sqrt(s * self.thermal_time_constant_s))  # (M,)
        drive = (self.drive_channel[None] + self.drive_heating[None] * h_th[:, None, None])
        system = s[:, None, None, None] * np.eye(rq.N_STATES) - self.jacobian[None]
        dx = np.linalg.solve(system, drive[..., None])[..., 0]   # (M, N, 6)
        out = {}
        for band in BANDS:
            pop = dx[..., _BAND_INDEX[band]] @ self.node_weights
            out[band] = self.absorption * self.band_rates_per_s[band] * pop
        if np.ndim(f_Hz) == 0:
            return {b: complex(v[0]) for b, v in out.items()}
        return {b: v.reshape(np.shape(f_Hz)) for b, v in out.items()}

    def transfer(self, f_Hz: float | np.ndarray,
                 band_weights: Mapping[str, float] | None = None) -> complex | np.ndarray:
        """``H(f)``: channel response at ``f_Hz`` over its quasi-static value.

        Parameters
        ----------
        f_Hz : float or numpy.ndarray
            Modulation (chopper) frequency, >= 0.
        band_weights : mapping, optional
            Channel weights ``c_b`` (default ``{"660": 1}``, the paper's readout).

        Returns
        -------
        complex or numpy.ndarray
            Complex ``H``; ``abs`` is the amplitude factor, ``angle`` the phase lag.
        """
        weights = dict(band_weights) if band_weights is not None else {"660": 1.0}
        f = np.asarray(f_Hz, dtype=float)
        both = self.band_response(np.concatenate([[0.0], f.ravel()]))
        resp = sum(c * both[b] for b, c in weights.items())
        if resp[0] == 0:
            raise ValueError("the channel has no MIR response (channel and heating off?)")
        h = (resp[1:] / resp[0]).reshape(f.shape)
        return complex(h) if h.ndim == 0 else h

    def mechanism_weights(self, band_weights: Mapping[str, float] | None = None
                          ) -> dict[str, float]:
        """Quasi-static share of the MIR channel and of the heating in the response (sum 1)."""
        weights = dict(band_weights) if band_weights is not None else {"660": 1.0}
        parts = {}
        for name, keep in (("channel", (1.0, 0.0)), ("heating", (0.0, 1.0))):
            part = SmallSignalModel(self.jacobian, keep[0] * self.drive_channel,
                                    keep[1] * self.drive_heating, self.node_weights,
                                    self.absorption, self.thermal_time_constant_s,
                                    self.band_rates_per_s)
            resp = part.band_response(0.0)
            parts[name] = float(np.real(sum(c * resp[b] for b, c in weights.items())))
        total = parts["channel"] + parts["heating"]
        return {k: v / total for k, v in parts.items()}

    def electronic_time_constant_s(self, band_weights: Mapping[str, float] | None = None
                                   ) -> float:
        """Mean response time of the MIR-channel part, ``sum c_k tau_k / sum c_k``.

        The first moment of its step response, ``-c J^-2 F_i / c J^-1 F_i``: the
        one time constant a first-order fit of the channel's low-frequency phase
        lag would give (``H_ch ~ 1 - i w tau``).
        """
        weights = dict(band_weights) if band_weights is not None else {"660": 1.0}
        inv1 = np.linalg.solve(self.jacobian, self.drive_channel[..., None])
        inv2 = np.linalg.solve(self.jacobian, inv1)[..., 0]
        inv1 = inv1[..., 0]

        def project(dx: np.ndarray) -> float:
            return sum(c * self.band_rates_per_s[b] * float(dx[:, _BAND_INDEX[b]]
                                                            @ self.node_weights)
                       for b, c in weights.items())

        return -project(inv2) / project(inv1)

    def corner_frequency_Hz(self, band_weights: Mapping[str, float] | None = None,
                            fraction: float = CORNER_FRACTION) -> float:
        """Chopper frequency at which ``|H|`` falls to ``fraction`` (default 0.5), Hz."""
        if not 0.0 < fraction < 1.0:
            raise ValueError(f"fraction must be within (0, 1), got {fraction!r}")

        def gap(log_f: float) -> float:
            return abs(self.transfer(math.exp(log_f), band_weights)) - fraction

        lo, hi = (math.log(f) for f in _F_SEARCH_HZ)
        if gap(lo) * gap(hi) > 0:
            raise ValueError(f"|H| does not cross {fraction} between {_F_SEARCH_HZ[0]:g} "
                             f"and {_F_SEARCH_HZ[1]:g} Hz")
        return math.exp(brentq(gap, lo, hi, xtol=1e-10))


def small_signal_model(film: Film | None = None, T_K: float = ROOM_TEMPERATURE_K,
                       pump_W: float = DEFAULT_PUMP_W,
                       mir_wavelength_um: float = MIR_ON_WAVELENGTH_UM, *,
                       mir_channel: bool = True, mir_heating: bool = True,
                       heated_fwhm_um: float = MIR_ON_BEAM_FWHM_UM) -> SmallSignalModel:
    """Linearise the twin around its pumped steady state (see the module docstring).

    Parameters
    ----------
    film : Film, optional
        The twin (default parameters if omitted).
    T_K, pump_W, mir_wavelength_um
        Lattice temperature, pump power and MIR wavelength, as in :meth:`Film.emission`.
    mir_channel, mir_heating : bool
        Keep the MIR relaxation channel / the MIR heating in the response.
    heated_fwhm_um : float
        FWHM of the MIR-heated spot that sets ``tau_th``.

    Returns
    -------
    SmallSignalModel
    """
    film = film if film is not None else Film()
    p = film.params
    r, x, w = film._state(T_K, pump_W, 0.0, mir_wavelength_um, True, True)
    if x.shape[0] == 0:
        raise ValueError(f"pump_W must be > 0 for a modulation response, got {pump_W!r}")
    flux, _ = film._pump_nodes(pump_W)
    pump_abs, pump_em = p.yb_absorption_cm2 * flux, p.yb_emission_cm2 * flux
    t_film = film.film_temperature_K(T_K, pump_W, 0.0, mir_wavelength_um)
    f0, jac = rq.derivatives(r, pump_abs, pump_em, x)
    zeros = np.zeros_like(x)
    drive_i = zeros
    if mir_channel:  # F is linear in the absorbed intensity: a unit step is exact
        drive_i = rq.derivatives(rq.rates_at(p, t_film, 1.0), pump_abs, pump_em, x)[0] - f0
    drive_t = zeros
    if mir_heating:
        hot = rq.derivatives(rq.rates_at(p, t_film + _DT_K, 0.0), pump_abs, pump_em, x)[0]
        cold = rq.derivatives(rq.rates_at(p, t_film - _DT_K, 0.0), pump_abs, pump_em, x)[0]
        drive_t = (hot - cold) / (2.0 * _DT_K) * p.mir_heating_K_per_W_per_um2
    return SmallSignalModel(
        jacobian=jac, drive_channel=drive_i, drive_heating=drive_t, node_weights=w,
        absorption=float(film.absorption(mir_wavelength_um)),
        thermal_time_constant_s=thermal_time_constant_s(p, heated_fwhm_um),
        band_rates_per_s={"525": p.A_525_per_s, "545": p.A_545_per_s, "660": p.A_660_per_s})


def channel_band_weights(film: Film, detector, channel: str = "660",
                         T_K: float = ROOM_TEMPERATURE_K, pump_W: float = DEFAULT_PUMP_W,
                         mir_wavelength_um: float = MIR_ON_WAVELENGTH_UM) -> dict[str, float]:
    """Weights ``c_b`` of a readout channel's linear response to the band emissions.

    ``"660"``: ``{"660": 1}``. ``"ratio"``: the divider ``V525 / V545``
    linearised, ``d(i525 / i545) ~ (a525 de525 - R a545 de545) / i545``, with
    ``a_b`` the detector's amps per unit emission and ``R`` the MIR-off ratio
    (the common ``1 / i545`` drops out of ``H``).
    """
    if channel == "660":
        return {"660": 1.0}
    if channel != "ratio":
        raise ValueError(f"channel must be '660' or 'ratio', got {channel!r}")
    off = detector.photocurrents_A(film, film.emission(T_K, pump_W, 0.0, mir_wavelength_um))
    ratio = off["525"] / off["545"]
    return {"525": detector.amps_per_ion_rate(film, "525"),
            "545": -ratio * detector.amps_per_ion_rate(film, "545")}


def modulation_transfer(f_Hz: float | np.ndarray, film: Film | None = None,
                        T_K: float = ROOM_TEMPERATURE_K, pump_W: float = DEFAULT_PUMP_W,
                        mir_wavelength_um: float = MIR_ON_WAVELENGTH_UM, *,
                        band_weights: Mapping[str, float] | None = None,
                        **options: object) -> complex | np.ndarray:
    """The film's modulation transfer ``H(f)`` of the 660 nm emission (or ``band_weights``).

    Parameters
    ----------
    f_Hz : float or numpy.ndarray
        Chopper frequency, >= 0.
    film : Film, optional
        The twin (default parameters).
    T_K, pump_W, mir_wavelength_um
        Operating point, as in :meth:`Film.emission`.
    band_weights : mapping, optional
        Readout channel weights (:func:`channel_band_weights`); default 660 nm.
    **options
        ``mir_channel``, ``mir_heating``, ``heated_fwhm_um`` of :func:`small_signal_model`.

    Returns
    -------
    complex or numpy.ndarray
        ``H(f)``, 1 at 0 Hz.

    Examples
    --------
    >>> h = modulation_transfer(100.0)
    >>> 0.0 < abs(h) < 1.0
    True
    """
    model = small_signal_model(film, T_K, pump_W, mir_wavelength_um, **options)
    return model.transfer(f_Hz, band_weights)


def corner_frequency_Hz(film: Film | None = None, T_K: float = ROOM_TEMPERATURE_K,
                        pump_W: float = DEFAULT_PUMP_W,
                        mir_wavelength_um: float = MIR_ON_WAVELENGTH_UM, *,
                        band_weights: Mapping[str, float] | None = None,
                        fraction: float = CORNER_FRACTION, **options: object) -> float:
    """Chopper frequency at which ``|H|`` falls to ``fraction`` (0.5: the film's corner), Hz."""
    model = small_signal_model(film, T_K, pump_W, mir_wavelength_um, **options)
    return model.corner_frequency_Hz(band_weights, fraction)
