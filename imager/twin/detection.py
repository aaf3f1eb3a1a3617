"""From film emission to photodiode signals, lock-in slopes and noise.

The readout of the paper: a Si photodiode behind a band-pass filter (660 nm by
default) collects the emission of the pump spot; a transimpedance amplifier
turns the photocurrent into volts; the MIR is chopped (square wave, 50 % duty)
and a lock-in reads the amplitude at the chopper frequency. Optionally two
photodiodes (525 and 545 nm) feed an analog divider and the lock-in reads the
chopped ratio (``channel="ratio"``).

Photocurrent of band ``b``::

    I_b = (photons/s per ion) * N_spot * collection * h nu_b * responsivity_b

Lock-in amplitude (rms of the fundamental) of a square wave of peak-to-peak
``dV`` is ``sqrt(2)/pi * dV``. Noise densities at the lock-in input:
photocurrent shot noise ``sqrt(2 q I)``, the feedback resistor's Johnson noise
``sqrt(4 k T / R_f)`` and the amplifier's input current noise, times the gain.

The transimpedance amplifier has a switchable gain (:data:`AMPLIFIER_GAINS_V_PER_A`),
a first-order bandwidth ``1 / (2 pi R_f C_f)`` that rolls off the chopped signal
(:meth:`Detector.transfer`), and an output that saturates at
:attr:`Detector.output_swing_V`: a DC level beyond the swing pins the output to
the rail and the chopped modulation is lost (:meth:`Detector.output_factor`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from imager.twin.constants import (
    BAND_WAVELENGTH_NM,
    BANDS,
    K_B_J_PER_K,
    Q_E_C,
    photon_energy_J,
)

if TYPE_CHECKING:  # the film needs scipy; recipes import this module's facts
    from imager.twin.film import Film

SQUARE_WAVE_FUNDAMENTAL = math.sqrt(2.0) / math.pi
"""rms of the fundamental of a 0/1 square wave (50 % duty): sqrt(2)/pi = 0.450."""
CHANNELS = ("660", "ratio")
AMPLIFIER_GAINS_V_PER_A: tuple[float, ...] = tuple(
    float(f"{m}e{e}") for e in range(3, 12) for m in (1, 2, 5)) + (1e12,)
"""Selectable transimpedance gains, V/A: the 1-2-5 ladder of a switchable current
preamplifier, 1e3 to 1e12 V/A (the sensitivity ladder of the Stanford Research
Systems SR570 current preamplifier, 1 mA/V to 1 pA/V in 1-2-5 steps; SR570
manual, "Specifications")."""


def check_gain(gain_V_per_A: float, field: str = "detector_gain_V_per_A") -> float:
    """Return the gain if it is on :data:`AMPLIFIER_GAINS_V_PER_A`, else raise ValueError."""
    value = float(gain_V_per_A)
    if not any(math.isclose(value, g, rel_tol=1e-9) for g in AMPLIFIER_GAINS_V_PER_A):
        raise ValueError(f"{field} must be one of 1e3, 2e3, 5e3, ... 5e11, 1e12 V/A "
                         f"(a 1-2-5 ladder), got {gain_V_per_A!r}")
    return value


def _default_responsivity() -> dict[str, float]:
    return {"525": 0.30, "545": 0.32, "660": 0.42}


@dataclass(frozen=True)
class Detector:
    """Photodiode + transimpedance amplifier behind band-pass filters.

    Attributes
    ----------
    collection_efficiency : float
        Fraction of the spot's emitted photons (in a band) reaching the
        photodiode through its band-pass filter. Chosen: 0.02 (an NA ~0.45
        objective collects ~5 % of 4 pi; filter and relay optics pass ~40 %).
    responsivity_A_per_W : dict
        Si photodiode responsivity per band (standard Si curve: 0.30 A/W at
        525 nm, 0.32 at 545 nm, 0.42 at 660 nm).
    transimpedance_V_per_A : float
        Amplifier gain, 5e8 V/A (chosen: femtowatt-class receiver; keeps the
        lock-in amplitude of a default raster, also at twice the MIR power,
        inside the lock-in's default 1 mV range). A lab selects it from
        :data:`AMPLIFIER_GAINS_V_PER_A`; its Johnson noise, bandwidth and
        saturation follow the choice.
    amplifier_noise_A_per_rtHz : float
        Input current noise of the amplifier's op-amp, 1 fA/sqrt(Hz) (chosen:
        FET-input op-amp class), added to the feedback resistor's Johnson noise.
    feedback_capacitance_F : float
        Capacitance across the feedback resistor, 0.1 pF (chosen: the parasitic
        capacitance of a high-value chip resistor and its layout, ~0.1-0.3 pF). It
        sets the bandwidth ``1 / (2 pi R_f C_f)``: 3.2 kHz at 5e8 V/A, 318 Hz at
        5e9 V/A, 32 Hz at 5e10 V/A, 1.6 Hz at 1e12 V/A.
    output_swing_V : float
        Output saturates at +-this, 10 V (into high impedance: the swing of
        Thorlabs amplified photodetectors, e.g. the PDB440/450 monitor outputs'
        "+10 V for high impedance loads", and of +-15 V op-amp stages).
    resistor_temperature_K : float
        Temperature of the feedback resistor, 295 K.
    ratio_scale_V : float
        Output of the divider per unit of ``V525 / V545`` for the ratio channel:
        10 mV (chosen: keeps a default raster within the 1 mV lock-in range).
    """

    collection_efficiency: float = 0.02
    responsivity_A_per_W: dict[str, float] = field(default_factory=_default_responsivity)
    transimpedance_V_per_A: float = 5e8
    amplifier_noise_A_per_rtHz: float = 1e-15
    resistor_temperature_K: float = 295.0
    ratio_scale_V: float = 0.01
    feedback_capacitance_F: float = 0.1e-12
    output_swing_V: float = 10.0

    def __post_init__(self) -> None:
        if not 0.0 < self.collection_efficiency <= 1.0:
            raise ValueError("Detector.collection_efficiency must be within (0, 1]")
        if set(self.responsivity_A_per_W) != set(BANDS):
            raise ValueError(f"Detector.responsivity_A_per_W needs the bands {BANDS}")
        for name in ("transimpedance_V_per_A", "resistor_temperature_K", "ratio_scale_V",
                     "feedback_capacitance_F", "output_swing_V"):
            if not getattr(self, name) > 0:
                raise ValueError(f"Detector.{name} must be > 0")
        if not self.amplifier_noise_A_per_rtHz >= 0:
            raise ValueError("Detector.amplifier_noise_A_per_rtHz must be >= 0")

    def amps_per_ion_rate(self, film: Film, band: str) -> float:
        """Photocurrent per (photon/s per ion) of emission in ``band``, A."""
        return (film.emitters_in_spot * self.collection_efficiency
                * photon_energy_J(BAND_WAVELENGTH_NM[band]) * self.responsivity_A_per_W[band])

    def photocurrents_A(self, film: Film, emission: dict[str, float]) -> dict[str, float]:
        """Photocurrent of each band for an :meth:`Film.emission` result."""
        return {b: emission[b] * self.amps_per_ion_rate(film, b) for b in BANDS}

    def current_noise_A_per_rtHz(self, current_A: float) -> float:
        """Input current noise: shot noise of ``current_A`` + Johnson + amplifier."""
        johnson = 4.0 * K_B_J_PER_K * self.resistor_temperature_K / self.transimpedance_V_per_A
        return math.sqrt(2.0 * Q_E_C * abs(current_A) + johnson
                         + self.amplifier_noise_A_per_rtHz**2)

    @property
    def bandwidth_Hz(self) -> float:
        """-3 dB bandwidth of the transimpedance stage, ``1 / (2 pi R_f C_f)``, Hz."""
        return 1.0 / (2.0 * math.pi * self.transimpedance_V_per_A * self.feedback_capacitance_F)

    def transfer(self, f_Hz: float) -> complex:
        """First-order low-pass of the amplifier at ``f_Hz`` (complex, 1 at DC)."""
        return 1.0 / (1.0 + 1j * f_Hz / self.bandwidth_Hz)

    def transfer_phased(self, f_Hz: float, ref_Hz: float | None) -> complex:
        """:meth:`transfer` at ``f_Hz`` with the phase it has at ``ref_Hz`` taken out.

        The lock-in's reference phase is set at ``ref_Hz`` (as the film's slope is
        expressed there, :mod:`imager.sim.twin_film`): the magnitude is absolute, the
        phase the extra lag relative to ``ref_Hz``. ``None``: plain :meth:`transfer`.
        """
        h = self.transfer(f_Hz)
        if ref_Hz is None:
            return h
        r = self.transfer(ref_Hz)
        return h * abs(r) / r

    def saturated(self, dc_current_A: float) -> bool:
        """True if a photocurrent ``dc_current_A`` drives the output beyond its swing."""
        return abs(dc_current_A) * self.transimpedance_V_per_A > self.output_swing_V

    def output_factor(self, dc_current_A: float) -> float:
        """Fraction of the chopped signal the output still carries: 1, or 0 when saturated.

        The MIR modulation is a small fraction of the photocurrent, so the DC level
        decides: beyond the swing the output sits at the rail and the lock-in sees
        no modulation.
        """
        return 0.0 if self.saturated(dc_current_A) else 1.0

    def settings(self) -> dict[str, float]:
        """Flat settings for scan files."""
        out = {k: v for k, v in asdict(self).items() if k != "responsivity_A_per_W"}
        out.update({f"responsivity_{b}_A_per_W": v for b, v in self.responsivity_A_per_W.items()})
        out["bandwidth_Hz"] = self.bandwidth_Hz
        return out


@dataclass(frozen=True)
class ChannelResponse:
    """Lock-in view of one readout channel at fixed pump, temperature and wavelength.

    Attributes
    ----------
    slope_V_per_W_per_um2 : float
        Lock-in amplitude per unit local MIR intensity (small signal). For the
        660 nm channel it is the amplitude of the *decrease* of the red signal:
        the photodiode signal is in antiphase with the chopper's open phase, and
        the sign is folded into the detector phase so that more MIR reads
        positive, as an experimenter sets the reference phase.
    dc_V : float
        The channel's output with the MIR off.
    noise_V_per_rtHz : float
        Noise density of the channel output at the chopper frequency.
    photocurrents_A : dict
        MIR-off photocurrent of each band.
    """

    slope_V_per_W_per_um2: float
    dc_V: float
    noise_V_per_rtHz: float
    photocurrents_A: dict[str, float]

    def noise_equivalent_intensity_W_per_um2(self, enbw_Hz: float,
                                             extra_noise_V_per_rtHz: float = 0.0) -> float:
        """MIR intensity giving SNR = 1 in the lock-in's X output (the paper's definition)."""
        density = math.hypot(self.noise_V_per_rtHz, extra_noise_V_per_rtHz)
        return density * math.sqrt(enbw_Hz) / abs(self.slope_V_per_W_per_um2)


def channel_response(film: Film, detector: Detector, channel: str = "660",
                     T_K: float = 298.0, pump_W: float = 5e-4,
                     mir_wavelength_um: float = 7.4) -> ChannelResponse:
    """Slope, DC level and noise of a readout channel (one rate-equation evaluation set)."""
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {CHANNELS}, got {channel!r}")
    gain = detector.transimpedance_V_per_A
    off = film.emission(T_K, pump_W, 0.0, mir_wavelength_um)
    slope = film.mir_slope(T_K, pump_W, mir_wavelength_um)
    currents = detector.photocurrents_A(film, off)
    amps = {b: detector.amps_per_ion_rate(film, b) for b in BANDS}
    if channel == "660":
        d_current = -slope["660"] * amps["660"]
        return ChannelResponse(SQUARE_WAVE_FUNDAMENTAL * gain * d_current,
                               gain * currents["660"],
                               gain * detector.current_noise_A_per_rtHz(currents["660"]),
                               currents)
    i525, i545 = currents["525"], currents["545"]
    if i545 <= 0.0:
        return ChannelResponse(0.0, 0.0, 0.0, currents)
    ratio = i525 / i545
    d_ratio = (slope["525"] * amps["525"] - ratio * slope["545"] * amps["545"]) / i545
    rel = math.hypot(detector.current_noise_A_per_rtHz(i525) / i525,
                     detector.current_noise_A_per_rtHz(i545) / i545)
    scale = detector.ratio_scale_V
    return ChannelResponse(SQUARE_WAVE_FUNDAMENTAL * scale * d_ratio, scale * ratio,
                           scale * ratio * rel, currents)
