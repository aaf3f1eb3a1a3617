"""Correlated power fluctuations of the MIR source (and the pump), shared by every reader.

A laser's relative power fluctuation ``d(t)`` is modelled as a stationary Gaussian
process with rms ``rel_rms`` and exponential autocorrelation
``rel_rms**2 * exp(-|dt| / correlation_s)`` (a Lorentzian spectrum, the
Ornstein-Uhlenbeck process). It is synthesised as a sum of cosines on
log-spaced, jittered frequencies from ``1e-3`` to ``1e3`` times ``1 /
(2 pi correlation_s)``, each carrying the spectrum's power in its band, with
random phases from the seed:

    d(t) = sum_k a_k cos(w_k t + phi_k)

so ``d`` is a pure function of lab time. Two lock-ins reading the same beam (the
signal and a reference detector on a MIR pick-off) therefore see the same
fluctuation, and a resumed scan sees what an uninterrupted one saw at the same
lab time. A lock-in reading at time ``t`` carries the fluctuation passed through
its own n-pole RC filter, exact for each cosine in steady state:

    d_f(t) = Re sum_k a_k H(w_k) exp(i (w_k t + phi_k)),  H(w) = (1 + i w tau)**-n

The multiplication of the settled signal by ``1 + d_f`` neglects the cross term
of the fluctuation with the filter's own transients (both are small).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["FluctuationModel", "PowerFluctuation"]


@dataclass(frozen=True)
class FluctuationModel:
    """Statistics of a relative power fluctuation.

    Attributes
    ----------
    rel_rms : float
        rms of the relative power fluctuation (unfiltered), >= 0.
    correlation_s : float
        Correlation time of the fluctuation, s (> 0).
    modes : int
        Cosines in the synthesis (more: a smoother spectrum, slower evaluation).
    """

    rel_rms: float
    correlation_s: float
    modes: int = 48

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rel_rms) and self.rel_rms >= 0.0):
            raise ValueError(f"rel_rms must be >= 0, got {self.rel_rms!r}")
        if not (math.isfinite(self.correlation_s) and self.correlation_s > 0.0):
            raise ValueError(f"correlation_s must be > 0 s, got {self.correlation_s!r}")
        if int(self.modes) < 4:
            raise ValueError(f"modes must be >= 4, got {self.modes!r}")


class PowerFluctuation:
    """One realisation of a :class:`FluctuationModel`, a pure function of lab time.

    Parameters
    ----------
    model : FluctuationModel
    seed : int
        The lab's seed.
    stream : int
        Which fluctuation of that seed (MIR source, pump, ...): independent realisations.
    """

    def __init__(self, model: FluctuationModel, seed: int, stream: int) -> None:
        self.model = model
        k = int(model.modes)
        rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(17, int(stream))))
        wc = 1.0 / model.correlation_s  # corner (angular) frequency of the Lorentzian
        edges = np.geomspace(1e-3 * wc, 1e3 * wc, k + 1)
        band = np.arctan(edges[1:] / wc) - np.arctan(edges[:-1] / wc)
        power = band / band.sum() * model.rel_rms**2  # variance carried by each band
        self._w = edges[:-1] * (edges[1:] / edges[:-1]) ** rng.uniform(size=k)
        self._a = np.sqrt(2.0 * power)  # a cosine of amplitude a has variance a^2 / 2
        self._phi = rng.uniform(0.0, 2.0 * math.pi, size=k)
        self._filters: dict[tuple[float, int], np.ndarray] = {}

    def _gain(self, tau_s: float, n_poles: int) -> np.ndarray:
        key = (float(tau_s), int(n_poles))
        g = self._filters.get(key)
        if g is None:
            g = self._a * (1.0 + 1j * self._w * tau_s) ** (-int(n_poles))
            if len(self._filters) > 16:
                self._filters.clear()
            self._filters[key] = g
        return g

    def value(self, t_s: float) -> float:
        """Unfiltered relative fluctuation at lab time ``t_s``."""
        return float(self._a @ np.cos(self._w * t_s + self._phi))

    def filtered(self, t_s: float, tau_s: float, n_poles: int) -> float:
        """The fluctuation at ``t_s`` as a lock-in with time constant ``tau_s`` and
        ``n_poles`` RC stages holds it."""
        if self.model.rel_rms == 0.0:
            return 0.0
        return float((self._gain(tau_s, n_poles) * np.exp(1j * (self._w * t_s + self._phi))
                      ).real.sum())

    def filtered_series(self, t_s: np.ndarray, tau_s: float, n_poles: int) -> np.ndarray:
        """:meth:`filtered` at every time of ``t_s`` (one array operation)."""
        t = np.asarray(t_s, dtype=float)
        if self.model.rel_rms == 0.0:
            return np.zeros_like(t)
        phase = np.multiply.outer(t, self._w) + self._phi
        return (np.exp(1j * phase) @ self._gain(tau_s, n_poles)).real

    def filtered_rms(self, tau_s: float, n_poles: int) -> float:
        """rms of :meth:`filtered` over time (the budget of a planner)."""
        g = self._gain(tau_s, n_poles)
        return float(math.sqrt(float(np.sum(np.abs(g) ** 2)) / 2.0))

    def filtered_correlation(self, lag_s: float, tau_s: float, n_poles: int) -> float:
        """Correlation coefficient of :meth:`filtered` at two times ``lag_s`` apart."""
        g2 = np.abs(self._gain(tau_s, n_poles)) ** 2
        total = float(g2.sum())
        return float(g2 @ np.cos(self._w * lag_s)) / total if total > 0.0 else 0.0
