"""The film-response seam: local MIR intensity -> lock-in amplitude.

:class:`FilmResponse` is the interface the simulated lab uses. Two
implementations: :class:`imager.sim.twin_film.RateEquationFilm` (the default:
the rate-equation twin of :mod:`imager.twin` with its photodiode chain) and
:class:`FirstOrderFilm` here (linear in MIR intensity, saturating in pump
power, broad absorption window; every number chosen).

Besides the protocol's two methods, the lab uses, when a film response has them,
``detector_noise_V_per_rtHz(pump_mW, wavelength_um)``: the noise density of the
photodiode signal at the lock-in input (added to the lock-in's own noise), and
``modulation_transfer(f_Hz, pump_mW, wavelength_um) -> complex``: the film's
temporal response at the chopper frequency ``f_Hz``, the complex factor the lab
multiplies ``dV_V`` by (magnitude: signal kept; angle: phase lag). ``dV_V`` holds
at the film's reference chopper frequency, where the factor is 1; a film without
the method (or returning 1.0) follows the chopped MIR instantly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from imager.devices.interfaces import Settings


@runtime_checkable
class FilmResponse(Protocol):
    """Lock-in amplitude of the photodiode signal for a local MIR intensity."""

    def dV_V(
        self, mir_W_per_um2: float | np.ndarray, pump_mW: float, wavelength_um: float
    ) -> float | np.ndarray:
        """Lock-in amplitude at the chopper frequency, volts.

        Parameters
        ----------
        mir_W_per_um2 : float or numpy.ndarray
            MIR intensity seen by the pump spot while the chopper is open, W/um^2.
        pump_mW : float
            Pump power.
        wavelength_um : float
            MIR wavelength.

        Returns
        -------
        float or numpy.ndarray
            Same shape as ``mir_W_per_um2``.
        """
        ...

    def settings(self) -> Settings:
        """Every parameter worth recording in a scan file."""
        ...


@dataclass(frozen=True)
class FirstOrderFilm:
    """Linear-in-MIR film response: ``dV = S(pump) * I_MIR * A(lambda) + offset_V``.

    ``S(p) = S_ref * (p / p_ref) * (1 + p_ref / p_sat) / (1 + p / p_sat)`` grows
    linearly with pump power at low pump and saturates above ``p_sat``; it equals
    ``S_ref`` at ``p_ref``. ``A(lambda)`` is a smooth window over the film's
    absorption band, normalised to 1 at ``lambda_ref_um``.

    Attributes
    ----------
    sensitivity_ref_V_per_W_per_um2 : float
        ``S_ref``: lock-in amplitude per unit MIR intensity at ``pump_ref_mW`` and
        7.4 um (includes the photodiode responsivity, transimpedance gain, the
        660 nm collection efficiency and the lock-in's rms-of-fundamental factor
        for the square-wave chopped signal). Chosen so that, with the photodiode
        noise ``noise_V_per_rtHz`` (1 uV/sqrt(Hz)) and default lock-in settings
        (30 ms, 12 dB/oct, ENBW = 1/(8 tau)), the noise-equivalent MIR intensity
        (SNR = 1 in X) is about 4 nW/um^2 at 7.4 um, the paper's detection limit:
        500 V per W/um^2 = 0.5 uV per nW/um^2.
    noise_V_per_rtHz : float
        Noise density of the amplified photodiode at the lock-in input (see
        :meth:`detector_noise_V_per_rtHz`). Chosen: 1 uV/sqrt(Hz), the value the
        sensitivity above was set against.
    pump_ref_mW : float
        Pump power at which ``S = S_ref``. Chosen: 0.5 mW, the simulated pump's
        default, inside the paper's 10-1000 uW range where R was characterised.
    pump_sat_mW : float
        Pump power at which the slope is half its linear extrapolation. Chosen:
        5 mW, so that the slope grows almost linearly over the paper's 10-1000 uW
        range (dV slope grows with pump power) and saturates well below the
        500 mW maximum pump, as upconversion emission does at high excitation.
    offset_V : float
        Chopper-synchronous background (e.g. MIR heating pick-up) added to dV.
        Chosen: 0 (none); set it to emulate a background.
    band_min_um, band_max_um : float
        Edges of the film's MIR absorption band, 4.6 and 10.5 um (paper).
    band_edge_um : float
        Width of the logistic band edges. Chosen: 0.25 um (smooth, edges of the
        reported band well outside the 6.8-8.6 um QCL range).
    lambda_ref_um : float
        Normalisation wavelength, 7.4 um (the paper's characterisation wavelength).
    band_sigma_um : float
        Width of a broad Gaussian taper centred on ``lambda_ref_um`` inside the
        band, so the response varies gently with wavelength (A = 0.98 at 6.8 um,
        0.92 at 8.6 um). Chosen, not measured.
    response_time_s : float
        Time constant of a first-order film response to the chopped MIR. Chosen:
        0, instantaneous (:meth:`modulation_transfer` is then exactly 1 at every
        chopper frequency); the rate-equation film derives its own from the model.
    reference_frequency_Hz : float
        Chopper frequency at which ``S_ref`` holds (the factor is 1 there): 100 Hz,
        the chopper default the detection limit above was set against.
    """

    sensitivity_ref_V_per_W_per_um2: float = 500.0
    noise_V_per_rtHz: float = 1.0e-6
    pump_ref_mW: float = 0.5
    pump_sat_mW: float = 5.0
    offset_V: float = 0.0
    band_min_um: float = 4.6
    band_max_um: float = 10.5
    band_edge_um: float = 0.25
    lambda_ref_um: float = 7.4
    band_sigma_um: float = 3.0
    response_time_s: float = 0.0
    reference_frequency_Hz: float = 100.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.response_time_s) and self.response_time_s >= 0):
            raise ValueError("FirstOrderFilm.response_time_s must be >= 0, "
                             f"got {self.response_time_s!r}")
        if not self.reference_frequency_Hz > 0:
            raise ValueError("FirstOrderFilm.reference_frequency_Hz must be > 0, "
                             f"got {self.reference_frequency_Hz!r}")
        for name in ("pump_ref_mW", "pump_sat_mW", "band_edge_um", "band_sigma_um"):
            if not getattr(self, name) > 0:
                raise ValueError(f"FirstOrderFilm.{name} must be > 0, got {getattr(self, name)!r}")
        if not self.band_min_um < self.lambda_ref_um < self.band_max_um:
            raise ValueError("FirstOrderFilm: need band_min_um < lambda_ref_um < band_max_um")
        # Frozen dataclass: derived values and the one-entry slope cache are set directly.
        object.__setattr__(self, "_a_norm", 1.0 / self._window(self.lambda_ref_um))
        object.__setattr__(self, "_slope_key", None)
        object.__setattr__(self, "_slope", 0.0)

    def _window(self, wavelength_um: float) -> float:
        w = self.band_edge_um
        lo = (wavelength_um - self.band_min_um) / w
        hi = (self.band_max_um - wavelength_um) / w
        taper = (wavelength_um - self.lambda_ref_um) / self.band_sigma_um
        return math.exp(-0.5 * taper * taper) / ((1.0 + math.exp(-lo)) * (1.0 + math.exp(-hi)))

    def absorption(self, wavelength_um: float) -> float:
        """Relative absorption ``A(lambda)``, 1 at ``lambda_ref_um``."""
        return self._a_norm * self._window(wavelength_um)

    def pump_factor(self, pump_mW: float) -> float:
        """``S(p) / S_ref``: 1 at ``pump_ref_mW``, linear below ``pump_sat_mW``."""
        if pump_mW <= 0.0:
            return 0.0
        return (
            (pump_mW / self.pump_ref_mW)
            * (1.0 + self.pump_ref_mW / self.pump_sat_mW)
            / (1.0 + pump_mW / self.pump_sat_mW)
        )

    def slope_V_per_W_per_um2(self, pump_mW: float, wavelength_um: float) -> float:
        """``dV / dI_MIR`` at this pump power and wavelength."""
        key = (pump_mW, wavelength_um)
        if key != self._slope_key:  # one-entry cache: called once per filter substep
            slope = (
                self.sensitivity_ref_V_per_W_per_um2
                * self.pump_factor(pump_mW)
                * self.absorption(wavelength_um)
            )
            object.__setattr__(self, "_slope", slope)
            object.__setattr__(self, "_slope_key", key)
        return self._slope

    def dV_V(
        self, mir_W_per_um2: float | np.ndarray, pump_mW: float, wavelength_um: float
    ) -> float | np.ndarray:
        """Lock-in amplitude in volts (scalar or array, like ``mir_W_per_um2``)."""
        return self.slope_V_per_W_per_um2(pump_mW, wavelength_um) * mir_W_per_um2 + self.offset_V

    def detector_noise_V_per_rtHz(self, pump_mW: float, wavelength_um: float) -> float:
        """Photodiode noise density at the lock-in input, V/sqrt(Hz) (constant here)."""
        return self.noise_V_per_rtHz

    def modulation_transfer(self, f_Hz: float, pump_mW: float, wavelength_um: float) -> complex:
        """``(1 + i w_ref tau) / (1 + i w tau)``: 1 (instantaneous) with the default ``tau = 0``."""
        tau = self.response_time_s
        if tau == 0.0:
            return 1.0 + 0j
        return (1.0 + 2j * math.pi * self.reference_frequency_Hz * tau) / (
            1.0 + 2j * math.pi * f_Hz * tau)

    def settings(self) -> Settings:
        """All parameters, for the scan file."""
        return {
            "model": "first_order",
            "sensitivity_ref_V_per_W_per_um2": self.sensitivity_ref_V_per_W_per_um2,
            "noise_V_per_rtHz": self.noise_V_per_rtHz,
            "pump_ref_mW": self.pump_ref_mW,
            "pump_sat_mW": self.pump_sat_mW,
            "offset_V": self.offset_V,
            "band_min_um": self.band_min_um,
            "band_max_um": self.band_max_um,
            "band_edge_um": self.band_edge_um,
            "lambda_ref_um": self.lambda_ref_um,
            "band_sigma_um": self.band_sigma_um,
            "response_time_s": self.response_time_s,
            "reference_frequency_Hz": self.reference_frequency_Hz,
        }
