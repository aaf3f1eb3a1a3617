"""The rate-equation film behind the simulated lab's :class:`FilmResponse` seam.

:class:`RateEquationFilm` puts the twin (:class:`imager.twin.Film`) and its
detector (:class:`imager.twin.detection.Detector`) behind the interface the lab
already uses for :class:`~imager.sim.film.FirstOrderFilm`. The lock-in signal
is the model's small-signal response, exactly linear in the local MIR
intensity: the slope ``dV/dI`` (and the detector noise) are computed from the
rate equations once per change of pump power, MIR wavelength or temperature
and cached, so a raster point costs a multiplication.

The linear response is the paper's finding and the lab's contract, but the 660 nm
band itself saturates: at the peak of the default raster (50 mW in a 500 um
beam, 0.18 uW/um^2) the full model's red signal falls by 7.7 %, and the
linear response overstates that change by about 6 % (the 525/545 ratio channel
stays linear to 0.2 %). :meth:`RateEquationFilm.band_photocurrents_A` and the
probes use the full model.

The film does not follow the chopped MIR instantly:
:meth:`RateEquationFilm.modulation_transfer` is its response at the chopper
frequency (lifetimes and MIR-heating conduction, :mod:`imager.twin.modulation`)
relative to :attr:`RateEquationFilm.reference_frequency_Hz`, 100 Hz by default:
the slope above is the lock-in slope *at the reference frequency* with the
reference phase set there, as an experimenter sets it, so the calibrated
default lab (100 Hz) is unchanged and other chopper frequencies cost or gain
what the model says. The lab multiplies its lock-in input by it.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from imager.devices.interfaces import Settings
from imager.twin import Film
from imager.twin.detection import CHANNELS, ChannelResponse, Detector, channel_response
from imager.twin.modulation import (
    CORNER_FRACTION,
    SmallSignalModel,
    channel_band_weights,
    small_signal_model,
)

REFERENCE_CHOPPER_HZ = 100.0
"""Chopper frequency at which the lab's lock-in slope is expressed (the paper's ~100 Hz)."""
_log = logging.getLogger(__name__)


class RateEquationFilm:
    """Film response from the rate-equation twin (the simulated lab's default).

    Parameters
    ----------
    film : imager.twin.Film, optional
        The twin (default parameters if omitted).
    detector : imager.twin.detection.Detector, optional
        Photodiode chain (defaults documented there).
    channel : {"660", "ratio"}
        ``"660"``: one photodiode behind a 660 nm band-pass (the paper's readout);
        ``"ratio"``: 525 and 545 nm photodiodes into an analog divider.
    temperature_K : float
        Lattice (stage) temperature; the lab's temperature controller sets it.
    reference_frequency_Hz : float or None
        Chopper frequency at which :meth:`slope_V_per_W_per_um2` holds (see
        :meth:`modulation_transfer`); default :data:`REFERENCE_CHOPPER_HZ`. ``None``:
        the slope is the quasi-static one and every frequency pays its full ``H(f)``.
    """

    def __init__(self, film: Film | None = None, detector: Detector | None = None,
                 channel: str = "660", temperature_K: float = 298.0,
                 reference_frequency_Hz: float | None = REFERENCE_CHOPPER_HZ) -> None:
        if channel not in CHANNELS:
            raise ValueError(f"channel must be one of {CHANNELS}, got {channel!r}")
        if reference_frequency_Hz is not None and not (
                math.isfinite(reference_frequency_Hz) and reference_frequency_Hz > 0):
            raise ValueError("reference_frequency_Hz must be > 0 or None, "
                             f"got {reference_frequency_Hz!r}")
        self.reference_frequency_Hz = reference_frequency_Hz
        self._models: dict[tuple[float, float, float], tuple[SmallSignalModel, dict]] = {}
        self._transfer_key: tuple[float, float, float, float] | None = None
        self._transfer = 1.0 + 0j
        self._warned: set[tuple[float, float, float, float]] = set()
        self.film = film if film is not None else Film()
        self.detector = detector if detector is not None else Detector()
        self.channel = channel
        self._temperature_K = self._check_T(temperature_K)
        self._responses: dict[tuple[float, float, float], ChannelResponse] = {}
        self._key: tuple[float, float] | None = None
        self._slope = 0.0
        self._noise = 0.0

    @staticmethod
    def _check_T(value: float) -> float:
        value = float(value)
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"temperature_K must be > 0, got {value!r}")
        return value

    @property
    def temperature_K(self) -> float:
        """Lattice temperature of the film, K."""
        return self._temperature_K

    @temperature_K.setter
    def temperature_K(self, value: float) -> None:
        self._temperature_K = self._check_T(value)
        self._key = None

    def response(self, pump_mW: float, wavelength_um: float) -> ChannelResponse:
        """Slope, DC level and noise of the channel at these settings (cached)."""
        key = (float(pump_mW), float(wavelength_um), self._temperature_K)
        hit = self._responses.get(key)
        if hit is None:
            if len(self._responses) > 256:
                self._responses.clear()
            hit = channel_response(self.film, self.detector, self.channel,
                                   self._temperature_K, pump_mW * 1e-3, wavelength_um)
            self._responses[key] = hit
        return hit

    def _update(self, pump_mW: float, wavelength_um: float) -> None:
        r = self.response(pump_mW, wavelength_um)
        self._slope = r.slope_V_per_W_per_um2
        self._noise = r.noise_V_per_rtHz
        self._key = (pump_mW, wavelength_um)

    def slope_V_per_W_per_um2(self, pump_mW: float, wavelength_um: float) -> float:
        """Lock-in amplitude per unit local MIR intensity, V per W/um^2."""
        if self._key != (pump_mW, wavelength_um):
            self._update(pump_mW, wavelength_um)
        return self._slope

    def dV_V(self, mir_W_per_um2: float | np.ndarray, pump_mW: float,
             wavelength_um: float) -> float | np.ndarray:
        """Lock-in amplitude in volts (scalar or array, like ``mir_W_per_um2``)."""
        if self._key != (pump_mW, wavelength_um):
            self._update(pump_mW, wavelength_um)
        return self._slope * mir_W_per_um2

    def detector_noise_V_per_rtHz(self, pump_mW: float, wavelength_um: float) -> float:
        """Noise density of the channel at the lock-in input (shot + Johnson + amplifier)."""
        if self._key != (pump_mW, wavelength_um):
            self._update(pump_mW, wavelength_um)
        return self._noise

    def small_signal(self, pump_mW: float, wavelength_um: float
                     ) -> tuple[SmallSignalModel, dict[str, float]]:
        """The linearised film and this channel's band weights at these settings (cached)."""
        key = (float(pump_mW), float(wavelength_um), self._temperature_K)
        hit = self._models.get(key)
        if hit is None:
            if len(self._models) > 64:
                self._models.clear()
            T, pump_W = self._temperature_K, pump_mW * 1e-3
            hit = (small_signal_model(self.film, T, pump_W, wavelength_um),
                   channel_band_weights(self.film, self.detector, self.channel, T, pump_W,
                                        wavelength_um))
            self._models[key] = hit
        return hit

    def corner_frequency_Hz(self, pump_mW: float, wavelength_um: float) -> float:
        """Chopper frequency at which the film's ``|H|`` falls to 0.5 for this channel, Hz."""
        model, weights = self.small_signal(pump_mW, wavelength_um)
        return model.corner_frequency_Hz(weights, CORNER_FRACTION)

    def modulation_transfer(self, f_Hz: float, pump_mW: float, wavelength_um: float) -> complex:
        """Complex factor on :meth:`dV_V` for MIR chopped at ``f_Hz``.

        ``H(f) / H(f_ref)`` of :mod:`imager.twin.modulation` for this channel,
        ``f_ref`` = :attr:`reference_frequency_Hz` (``H(f)`` itself if that is
        ``None``): 1 at the reference frequency; its magnitude is the signal lost
        (or gained) and its angle the extra phase lag. Logs a one-line warning
        (once per setting) when ``|H(f)|`` is below 0.5, above the film's corner.
        Pump powers <= 0 give 1 (there is no signal to shape).
        """
        key = (float(f_Hz), float(pump_mW), float(wavelength_um), self._temperature_K)
        if key == self._transfer_key:
            return self._transfer
        if pump_mW <= 0.0:
            return 1.0 + 0j
        model, weights = self.small_signal(pump_mW, wavelength_um)
        ref = self.reference_frequency_Hz
        both = model.transfer(np.array([f_Hz, 0.0 if ref is None else ref]), weights)
        h_abs = complex(both[0])
        h = 1.0 + 0j if f_Hz == ref else h_abs / complex(both[1])  # exactly 1 at the reference
        if abs(h_abs) < CORNER_FRACTION and key[:3] not in self._warned:
            self._warned.add(key[:3])
            _log.warning("chopper at %.4g Hz is above the film's corner (%.4g Hz): the film "
                         "passes %.0f %% of its MIR response", f_Hz,
                         model.corner_frequency_Hz(weights, CORNER_FRACTION), 100 * abs(h_abs))
        self._transfer_key, self._transfer = key, h
        return h

    def band_photocurrents_A(self, mir_W_per_um2: float, pump_mW: float, wavelength_um: float,
                             mir_duty: float = 1.0) -> dict[str, float]:
        """Mean photocurrent of each band (full model, not linearised).

        ``mir_duty`` is the fraction of time the MIR is on (0.5 while chopped).
        """
        film, det, T = self.film, self.detector, self._temperature_K
        pump_W = pump_mW * 1e-3
        off = det.photocurrents_A(film, film.emission(T, pump_W, 0.0, wavelength_um))
        if mir_duty <= 0.0 or mir_W_per_um2 <= 0.0:
            return off
        on = det.photocurrents_A(film, film.emission(T, pump_W, mir_W_per_um2, wavelength_um))
        return {b: (1.0 - mir_duty) * off[b] + mir_duty * on[b] for b in off}

    def settings(self) -> Settings:
        """Model, channel, every film parameter and the detector chain."""
        out: Settings = {"model": "rate_equations", "channel": self.channel,
                         "temperature_K": self._temperature_K,
                         "reference_frequency_Hz": self.reference_frequency_Hz or 0.0}
        out.update(self.film.params.as_dict())
        out.update({f"detector_{k}": v for k, v in self.detector.settings().items()})
        return out
