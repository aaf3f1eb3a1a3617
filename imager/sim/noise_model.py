"""The simulated lock-in's noise: the model parameters and where each value comes from.

Every parameter is documented with its source (the paper, a data sheet) or as
chosen; :class:`imager.sim.lockin.SimulatedLockIn` draws the noise.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NoiseModel:
    """Noise added to each simulated lock-in reading.

    Attributes
    ----------
    input_noise_V_per_rtHz : float
        Input-referred voltage noise density at the chopper frequency that is not
        supplied by the lock-in's ``detector_noise`` callback. X and Y each get
        Gaussian noise of rms ``sqrt(input**2 + detector**2) * sqrt(ENBW)``.
        Default 1 uV/sqrt(Hz): a whole amplified Si photodiode (amplifier + shot
        noise), of the order of a switchable-gain photodiode amplifier's output
        noise at mid gain (e.g. Thorlabs PDA36A class, ~0.3-10 uV/sqrt(Hz)), for a
        lock-in used on its own. The simulated lab uses
        :data:`LOCKIN_INPUT_NOISE_V_PER_RTHZ` instead, because its film response
        supplies the photodiode's own noise (shot, Johnson, amplifier).
    power_rel_rms : float
        Relative rms of the MIR power fluctuation, applied multiplicatively.
        Chosen: 1 %, inside the paper's "QCL power noise < 3 %". A lock-in on its
        own draws it independently per reading; in the simulated lab it is one
        correlated process of lab time (:mod:`imager.sim.power_noise`, correlation
        time ``power_correlation_s``) shared by the signal and reference lock-ins.
    power_correlation_s : float
        Correlation time of that fluctuation in the simulated lab, s. Chosen: 1 s
        (a QCL's output power wanders with its TEC regulation and mode competition
        on second scales; the paper gives no spectrum, only the < 3 % bound).
    pump_rel_rms : float
        Relative rms of the 980 nm pump power fluctuation (simulated lab only).
        Chosen: 0.3 % (a current-stabilised laser-diode pump; pump-module data
        sheets quote 0.1-1 % power stability). The signal follows it with the
        film's local exponent ``d ln dV / d ln P`` (~0.6 for the focused spot at
        0.5 mW, ~1.9 for a DMD-patterned field at 500 mW: the twin's rate equations).
    pump_correlation_s : float
        Its correlation time, s. Chosen: 1 s (the driver's thermal regulation).
    drift_rel_rms : float
        Slow multiplicative drift ``1 + a * sin(2 pi t / period + phi)`` with rms
        ``a / sqrt(2)`` equal to this; ``phi`` comes from the seed, ``t`` is lab time.
        Chosen: 3.74 %, the paper's ratio standard deviation over 5 h (a stand-in:
        that figure is for the spectral-ratio readout and includes all noise).
    drift_period_s : float
        Period of the drift. Chosen: 5 h, the span of that stability record.

    Notes
    -----
    Every reading draws independent noise (a real lock-in's output noise is
    correlated over about one time constant). The drift depends on lab time, so
    a resumed scan reproduces an uninterrupted one exactly only if the lab clock
    is first advanced to where the interrupted scan left it.
    """

    input_noise_V_per_rtHz: float = 1.0e-6
    power_rel_rms: float = 0.01
    power_correlation_s: float = 1.0
    pump_rel_rms: float = 0.003
    pump_correlation_s: float = 1.0
    drift_rel_rms: float = 0.0374
    drift_period_s: float = 5.0 * 3600.0


LOCKIN_INPUT_NOISE_V_PER_RTHZ = 6e-9
"""The lock-in's own input voltage noise (SR830 specification: 6 nV/sqrt(Hz) at 1 kHz)."""
