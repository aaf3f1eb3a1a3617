"""Simulated calibration instruments: temperature stage, band photometer, decay recorder.

They implement the Protocols of :mod:`imager.devices.probes` on top of the
rate-equation film (:class:`imager.sim.twin_film.RateEquationFilm`) and see
the lab through :class:`LabView` (pump, MIR at the stage position, chopper).
Noise is seeded like the lock-in's: inside a scan point (``begin_point``) from
``(seed, point)``, outside from a per-reading counter, in streams of their own.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import numpy as np

from imager.devices.interfaces import Settings
from imager.devices.probes import BANDS
from imager.sim.clock import VirtualClock
from imager.sim.instruments import _HookedDevice
from imager.sim.twin_film import RateEquationFilm


class LabView(Protocol):
    """What the probes read from the lab."""

    clock: VirtualClock
    film: RateEquationFilm

    def pump_mW(self) -> float: ...

    def mir_state(self) -> tuple[float, float, float]:
        """``(local MIR intensity W/um^2 while on, wavelength um, duty 0..1)``."""
        ...

    def mir_power_noise(self) -> float:
        """Relative rms of the MIR power per reading."""
        ...


class _Seeded:
    """Per-point reproducible noise in stream ``spawn``."""

    def __init__(self, seed: int, spawn: int) -> None:
        self._seed, self._spawn = int(seed), int(spawn)
        self._point: int | None = None
        self._rng: np.random.Generator | None = None
        self._counter = 0

    def begin_point(self, index: int) -> None:
        self._point, self._rng = int(index), None

    def end_point(self) -> None:
        self._point, self._rng = None, None

    def rng(self) -> np.random.Generator:
        if self._point is not None:
            if self._rng is None:
                ss = np.random.SeedSequence([self._seed, self._point], spawn_key=(self._spawn,))
                self._rng = np.random.default_rng(ss)
            return self._rng
        ss = np.random.SeedSequence([self._seed, self._counter], spawn_key=(self._spawn + 1,))
        self._counter += 1
        return np.random.default_rng(ss)


class SimulatedTemperatureController(_HookedDevice):
    """Heating/cooling sample stage (implements ``TemperatureController``).

    The film follows the set point at once (the lattice temperature of the
    model changes when the value is set); :meth:`wait_stable` lets the lab
    time a real stage needs pass.

    Parameters
    ----------
    clock : VirtualClock
    temperature_K : float
        Initial set point.
    settle_s : float
        Time to settle after a change. Chosen: 120 s (a small heating stage).
    on_set : callable, optional
        ``on_set(T_K)`` after every change (the lab updates the film).
    """

    RANGE_K = (77.0, 500.0)

    def __init__(self, clock: VirtualClock, temperature_K: float = 298.0,
                 settle_s: float = 120.0,
                 on_set: Callable[[float], None] | None = None) -> None:
        super().__init__()
        self._clock = clock
        self._T = self._check(temperature_K)
        self.settle_s = float(settle_s)
        self._on_set = on_set
        self._stable_at_s = clock.now_s()

    def _check(self, value: float) -> float:
        value = float(value)
        lo, hi = self.RANGE_K
        if not lo <= value <= hi:
            raise ValueError(f"temperature.temperature_K must be within [{lo:g}, {hi:g}] K, "
                             f"got {value!r}")
        return value

    @property
    def temperature_K(self) -> float:
        """Sample (stage) temperature, K; setting it changes the set point."""
        return self._T

    @temperature_K.setter
    def temperature_K(self, value: float) -> None:
        value = self._check(value)
        if value == self._T:
            return
        self._changing()
        self._T = value
        self._stable_at_s = self._clock.now_s() + self.settle_s
        if self._on_set is not None:
            self._on_set(value)

    def wait_stable(self) -> None:
        """Advance lab time until the stage has settled after the last change."""
        now = self._clock.now_s()
        if self._stable_at_s > now:
            self._clock.advance_to(self._stable_at_s)

    def settings(self) -> Settings:
        """Every setting worth recording in a scan file."""
        return {"kind": "simulated", "temperature_K": self._T, "settle_s": self.settle_s}


class SimulatedBandPhotometer:
    """Three photodiodes behind 525/545/660 nm band-passes, read as DC volts.

    Each reading integrates for ``integration_time_s`` of lab time: the
    photocurrents of the full (non-linearised) model -- averaged over the
    chopper cycle when the MIR is chopped -- through the detector's gain, with
    shot, Johnson and amplifier noise in the bandwidth ``1 / (2 t)`` and the
    MIR power fluctuation on the MIR-induced part.

    The volts are photocurrents, so ``V525 / V545`` is the photon ratio
    ``I525 / I545`` times the instrument's relative response (responsivity and
    photon energy: 0.973 with the default detector), as with a real photometer.
    """

    def __init__(self, lab: LabView, seed: int = 0, integration_time_s: float = 0.1,
                 noise: bool = True) -> None:
        if not integration_time_s > 0:
            raise ValueError("photometer.integration_time_s must be > 0")
        self._lab = lab
        self.integration_time_s = float(integration_time_s)
        self.noise = bool(noise)
        self._seeded = _Seeded(seed, 3)
        self.begin_point, self.end_point = self._seeded.begin_point, self._seeded.end_point

    def read_bands(self) -> dict[str, float]:
        """One reading: ``{"525": V, "545": V, "660": V}``."""
        lab = self._lab
        film = lab.film
        intensity, wavelength, duty = lab.mir_state()
        rng = self._seeded.rng() if self.noise else None
        if rng is not None and intensity > 0:
            intensity *= max(0.0, 1.0 + lab.mir_power_noise() * float(rng.standard_normal()))
        currents = film.band_photocurrents_A(intensity, lab.pump_mW(), wavelength, duty)
        det = film.detector
        bandwidth = 1.0 / (2.0 * self.integration_time_s)
        out = {}
        for band in BANDS:
            value = currents[band]
            if rng is not None:
                value += (det.current_noise_A_per_rtHz(value) * math.sqrt(bandwidth)
                          * float(rng.standard_normal()))
            out[band] = det.transimpedance_V_per_A * value
        lab.clock.sleep(self.integration_time_s)
        return out

    def settings(self) -> Settings:
        """Every setting worth recording in a scan file."""
        return {"kind": "simulated", "integration_time_s": self.integration_time_s,
                "noise": self.noise,
                "transimpedance_V_per_A": self._lab.film.detector.transimpedance_V_per_A}


class SimulatedDecayRecorder:
    """Pulsed pump + photon-counting detector + multichannel scaler.

    The pump is switched on for ``pump_on_s`` (long enough to reach the steady
    state), then off; counts in each time bin after switch-off are summed over
    ``pulses`` repetitions. The MIR stays on through the trace (the pump pulses
    are gated into the chopper's open phase). Signal: counts per bin (Poisson).

    Parameters
    ----------
    lab : LabView
    seed : int
    pulses : int
        Repetitions summed per trace. Chosen: 1000.
    counting_efficiency : float
        Photon-counting detector efficiency (counts per photon reaching it).
        Chosen: 0.1 (multialkali photomultiplier in the visible).
    pump_on_s : float
        Pump pulse length. Chosen: 5 ms (several Yb and Er lifetimes).
    noise : bool
        Poisson counting noise.
    """

    def __init__(self, lab: LabView, seed: int = 0, pulses: int = 1000,
                 counting_efficiency: float = 0.1, pump_on_s: float = 5e-3,
                 noise: bool = True) -> None:
        if int(pulses) < 1 or not 0 < counting_efficiency <= 1 or not pump_on_s > 0:
            raise ValueError("decay_recorder: need pulses >= 1, 0 < counting_efficiency <= 1, "
                             "pump_on_s > 0")
        self._lab = lab
        self.pulses = int(pulses)
        self.counting_efficiency = float(counting_efficiency)
        self.pump_on_s = float(pump_on_s)
        self.noise = bool(noise)
        self._seeded = _Seeded(seed, 5)
        self.begin_point, self.end_point = self._seeded.begin_point, self._seeded.end_point

    def expected_decay(self, band: str, duration_s: float,
                       n_samples: int) -> tuple[np.ndarray, np.ndarray]:
        """Noise-free mean counts per bin (the truth behind :meth:`record_decay`)."""
        if band not in BANDS:
            raise ValueError(f"band must be one of {BANDS}, got {band!r}")
        if not (duration_s > 0 and int(n_samples) >= 2):
            raise ValueError("record_decay: need duration_s > 0 and n_samples >= 2")
        lab = self._lab
        rq_film = lab.film
        intensity, wavelength, _ = lab.mir_state()
        t = np.linspace(0.0, float(duration_s), int(n_samples))
        per_ion = rq_film.film.decay(band, t, rq_film.temperature_K, lab.pump_mW() * 1e-3,
                                     intensity, wavelength)
        dt = float(duration_s) / (int(n_samples) - 1)
        photons = (per_ion * rq_film.film.emitters_in_spot
                   * rq_film.detector.collection_efficiency * dt * self.pulses)
        return t, photons * self.counting_efficiency

    def record_decay(self, band: str, duration_s: float,
                     n_samples: int) -> tuple[np.ndarray, np.ndarray]:
        """Times after the pump switch-off (s) and counts per bin summed over the pulses."""
        t, mean = self.expected_decay(band, duration_s, n_samples)
        counts = mean
        if self.noise:
            counts = self._seeded.rng().poisson(mean).astype(float)
        self._lab.clock.sleep(self.pulses * (self.pump_on_s + float(duration_s)))
        return t, counts

    def settings(self) -> Settings:
        """Every setting worth recording in a scan file."""
        return {"kind": "simulated", "pulses": self.pulses,
                "counting_efficiency": self.counting_efficiency, "pump_on_s": self.pump_on_s,
                "noise": self.noise}
