"""Noise budget of one lock-in reading, from the twin's model of the lab a recipe describes.

Every term comes from the model the simulated lab runs on, at the recipe's settings:

* additive: the photodiode chain (shot, Johnson, amplifier; for the patterned pump
  the photocurrent of the lit field) and the lock-in's input noise, over the
  filter's equivalent noise bandwidth (:meth:`SimulatedLockIn.noise_rms_V`);
* MIR power: the source's fluctuation as the filter holds it
  (:meth:`imager.sim.power_noise.PowerFluctuation.filtered_rms`), taken out by a
  reference channel;
* pump power: its fluctuation times the film's exponent ``d ln V / d ln P``
  (~0.6 for the focused spot, ~1.9 for a patterned field);
* drift: the slow gain drift, as the rms of a linear ramp over the scan.

The amplifier's DC output is checked against its swing (saturation), and the
largest reading against the lock-in's sensitivity (overload).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imager.lab import apply_settings


@dataclass(frozen=True)
class ReadingBudget:
    """What one lock-in reading carries at a recipe's settings.

    Attributes
    ----------
    additive_V : float
        Additive noise in X, rms volts (detector and lock-in, over the filter's ENBW).
    mir_rel, pump_rel : float
        Relative rms of the MIR and pump power fluctuations as the filter holds them
        (the pump's times the film's exponent; MIR 0 with a reference channel).
    mir_corr, pump_corr : float
        Their correlation between two readings one pattern period apart.
    drift_rel : float
        rms of the slow gain drift over the scan (a linear ramp).
    amplifier_V : float
        DC output of the photodiode amplifier, V (NaN: no photodiode model).
    swing_V : float
        The amplifier's output swing, V.
    warnings : tuple of str
    """

    additive_V: float
    mir_rel: float
    pump_rel: float
    mir_corr: float
    pump_corr: float
    drift_rel: float
    amplifier_V: float
    swing_V: float
    warnings: tuple[str, ...] = field(default=())

    @property
    def multiplicative_rel(self) -> float:
        """The power fluctuations together (independent), relative rms: noise that
        multiplies the signal. (The slow drift is a gain error of the whole image,
        counted in the image quality, not as pixel noise.)"""
        return math.hypot(self.mir_rel, self.pump_rel)

    def pair_rel(self) -> float:
        """Relative rms of the difference of two readings one pattern apart, per unit of
        their common level: ``sqrt(2 (1 - rho))`` of each fluctuation."""
        return math.sqrt(2.0 * (self.mir_rel**2 * (1.0 - self.mir_corr)
                                + self.pump_rel**2 * (1.0 - self.pump_corr)))


def model_lab(recipe: Any) -> Any:
    """The twin of the lab ``recipe`` describes, with the recipe's settings applied."""
    from imager.sim.from_recipe import simulated_lab_for

    lab = simulated_lab_for(recipe)
    apply_settings(lab, recipe)
    return lab


def drift_rel(lab: Any, duration_s: float) -> float:
    """rms of the slow gain drift over ``duration_s`` (its steepest: a linear ramp)."""
    nm = lab.lockin.noise
    if nm is None:
        return 0.0
    slope = nm.drift_rel_rms * math.sqrt(2.0) * 2.0 * math.pi / nm.drift_period_s
    return min(nm.drift_rel_rms, slope * duration_s / math.sqrt(12.0))


def reading_budget(lab: Any, patterned: bool, period_s: float, duration_s: float,
                   lit_fraction_max: float = 1.0) -> ReadingBudget:
    """The budget of one reading on ``lab`` as it is set up now.

    Parameters
    ----------
    lab : SimulatedLab
        With the recipe applied and, for ``patterned``, a pattern on display.
    patterned : bool
        The pump is patterned by the DMD (single pixel).
    period_s : float
        Time between two readings that are subtracted (a pattern and its complement).
    duration_s : float
        Length of the whole scan (for the drift).
    lit_fraction_max : float
        Largest fraction of the field a pattern lights (saturation is checked there).
    """
    from imager.sim.signal_chain import detector_dc_A

    li = lab.lockin
    tau, n = li.time_constant_s, li.filter_slope_dB_per_oct // 6
    noisy = li.noise is not None
    reference = lab.capabilities().reference is not None
    mir = lab.mir_fluctuation
    pump = lab.pump_fluctuation
    exponent = lab.pump_exponent()
    detector = getattr(lab.film, "detector", None)
    dc_A = detector_dc_A(lab, patterned, lit_fraction_max if patterned else None)
    amplifier_V = float("nan") if dc_A is None or detector is None else \
        dc_A * detector.transimpedance_V_per_A
    swing_V = float("nan") if detector is None else detector.output_swing_V
    warnings = []
    if amplifier_V > swing_V:
        usable = [g for g in _gains() if dc_A * g <= 0.8 * swing_V]
        hint = f"; use detector_gain_V_per_A <= {max(usable):g}" if usable else ""
        what = "the brightest pattern puts" if patterned else "the pump spot puts"
        warnings.append(f"photodiode amplifier saturates: {what} {amplifier_V:.3g} V DC on it, "
                        f"beyond its {swing_V:g} V swing: the signal is lost{hint}")
    return ReadingBudget(
        additive_V=li.noise_rms_V() if noisy else 0.0,
        mir_rel=0.0 if (reference or not noisy) else mir.filtered_rms(tau, n),
        pump_rel=abs(exponent) * pump.filtered_rms(tau, n) if noisy else 0.0,
        mir_corr=mir.filtered_correlation(period_s, tau, n),
        pump_corr=pump.filtered_correlation(period_s, tau, n),
        drift_rel=drift_rel(lab, duration_s) if noisy else 0.0,
        amplifier_V=amplifier_V, swing_V=swing_V, warnings=tuple(warnings))


def _gains() -> tuple[float, ...]:
    from imager.twin.detection import AMPLIFIER_GAINS_V_PER_A

    return AMPLIFIER_GAINS_V_PER_A


def stream_pair_noise(lab: Any, dwell_tc: float, rate_Hz: float, level_V: float,
                      trials: int = 8, patterns: int = 48, seed: int = 0) -> tuple[float, float]:
    """Noise of the difference of two streamed patterns' fitted bucket values.

    Patterns of ``dwell_tc`` time constants are recorded at ``rate_Hz`` and fitted
    through the filter (:func:`reconstruction.pattern_stream.pattern_values`), as the
    stream readout does. Two sources, returned separately:

    * additive: white input noise held over each sample interval ``dt`` (rms ``1 /
      sqrt(2 dt)`` per quadrature for a unit density: the lock-in twin's model),
      filtered stage by stage - per unit density (V rms per V/sqrt(Hz));
    * power fluctuations: the lab's MIR process (none with a reference channel) and
      pump process times the film's exponent, as the filter holds them, multiplying
      a bucket level of ``level_V`` - in volts. The fit's deconvolution sees their
      variation within a pattern, which single readings average away.

    Returns
    -------
    (additive_per_density, fluctuation_V) : tuple of float
        rms of the pair differences over the middle patterns of ``trials`` blocks.
    """
    from scipy.signal import lfilter

    from reconstruction.pattern_stream import pattern_values

    li = lab.lockin
    tau_s, n_poles = li.time_constant_s, li.filter_slope_dB_per_oct // 6
    rng = np.random.default_rng(seed)
    dt = 1.0 / rate_Hz
    dwell_s = dwell_tc * tau_s
    t = np.arange(0.0, patterns * dwell_s, dt)
    switch = np.arange(patterns) * dwell_s
    a = math.exp(-dt / tau_s)
    settle = int(20 * tau_s / dt)
    exponent = lab.pump_exponent()
    reference = lab.capabilities().reference is not None
    additive, fluctuation = [], []

    def pairs(y: np.ndarray) -> np.ndarray:
        v = pattern_values(t, y, switch, tau_s, n_poles)[2:-2]
        return v[0::2] - v[1::2]

    for k in range(trials):
        u = rng.standard_normal(t.size + settle) / math.sqrt(2.0 * dt)
        for _stage in range(n_poles):  # first-order stages, exact for a held input
            u = lfilter([1.0 - a], [1.0, -a], u)
        additive.append(pairs(u[settle:]))
        t0 = 1000.0 * k + 17.0  # independent stretches of the processes
        g = exponent * lab.pump_fluctuation.filtered_series(t0 + t, tau_s, n_poles)
        if not reference:
            g = g + lab.mir_fluctuation.filtered_series(t0 + t, tau_s, n_poles)
        fluctuation.append(pairs(level_V * g))
    return float(np.std(np.concatenate(additive))), float(np.std(np.concatenate(fluctuation)))
