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
"""

from __future__ import annotations

import math

import numpy as np

from imager.devices.interfaces import Settings
from imager.twin import Film
from imager.twin.detection import CHANNELS, ChannelResponse, Detector, channel_response


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
    """

    def __init__(self, film: Film | None = None, detector: Detector | None = None,
                 channel: str = "660", temperature_K: float = 298.0) -> None:
        if channel not in CHANNELS:
            raise ValueError(f"channel must be one of {CHANNELS}, got {channel!r}")
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
                         "temperature_K": self._temperature_K}
        out.update(self.film.params.as_dict())
        out.update({f"detector_{k}": v for k, v in self.detector.settings().items()})
        return out
