"""The experimenter's analyses, applied to the twin's outputs.

Lifetimes from decay traces (single exponential with a free baseline, the fit
``reconstruction.calibration.fit_decay`` also uses), Boltzmann fits of band
ratios, and straight-line fits with R^2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

from imager.twin.constants import K_B_CM1_PER_K


@dataclass(frozen=True)
class ExponentialFit:
    """``amplitude * exp(-(t - t0) / tau_s) + baseline`` fitted to a trace."""

    tau_s: float
    amplitude: float
    baseline: float


def fit_single_exponential(t_s: np.ndarray, signal: np.ndarray) -> ExponentialFit:
    """Least-squares single exponential with a free baseline over the whole trace.

    Variable projection: for each ``tau`` the amplitude and baseline are linear
    and solved exactly; ``log(tau)`` is found by a bounded scalar search between
    a tenth of the sample spacing and ten times the trace length.
    """
    t = np.asarray(t_s, dtype=float).ravel()
    s = np.asarray(signal, dtype=float).ravel()
    if t.size < 5 or t.size != s.size:
        raise ValueError("fit_single_exponential needs >= 5 samples of equal length")
    t = t - t[0]
    ones = np.ones_like(t)

    def solve(log_tau: float) -> tuple[float, np.ndarray]:
        design = np.column_stack([np.exp(-t / math.exp(log_tau)), ones])
        coef, *_ = np.linalg.lstsq(design, s, rcond=None)
        return float(np.sum((design @ coef - s) ** 2)), coef

    lo = math.log(max(float(np.min(np.diff(t))), 1e-300) / 10.0)
    hi = math.log(float(t[-1]) * 10.0)
    grid = np.linspace(lo, hi, 40)  # coarse scan first: the cost can have shallow plateaus
    best = grid[int(np.argmin([solve(g)[0] for g in grid]))]
    step = grid[1] - grid[0]
    res = minimize_scalar(lambda v: solve(v)[0], bounds=(best - step, best + step),
                          method="bounded", options={"xatol": 1e-7})
    _, coef = solve(float(res.x))
    return ExponentialFit(math.exp(float(res.x)), float(coef[0]), float(coef[1]))


@dataclass(frozen=True)
class Line:
    """``y = slope * x + intercept`` with the coefficient of determination."""

    slope: float
    intercept: float
    r_squared: float


def fit_line(x: np.ndarray, y: np.ndarray) -> Line:
    """Ordinary least-squares straight line."""
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (slope * x + intercept)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else 1.0
    return Line(float(slope), float(intercept), r2)


@dataclass(frozen=True)
class Boltzmann:
    """``R = prefactor * exp(-gap_cm1 / (k_B T))`` from ln R against 1/T."""

    gap_cm1: float
    prefactor: float
    r_squared: float

    def ratio(self, T_K: np.ndarray | float) -> np.ndarray:
        return self.prefactor * np.exp(-self.gap_cm1 / (K_B_CM1_PER_K * np.asarray(T_K)))


def fit_boltzmann(T_K: np.ndarray, ratio: np.ndarray) -> Boltzmann:
    """Apparent gap and prefactor of a thermal band ratio."""
    line = fit_line(1.0 / np.asarray(T_K, dtype=float), np.log(np.asarray(ratio, dtype=float)))
    return Boltzmann(-line.slope * K_B_CM1_PER_K, math.exp(line.intercept), line.r_squared)
