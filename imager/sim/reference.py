"""A MIR reference channel: a detector on a pick-off of the MIR beam, on a second lock-in.

The bucket of a single-pixel scan, and every raster pixel, carries the MIR
source's power fluctuation. A reference detector on a pick-off of the beam,
demodulated at the chopper frequency with the same filter as the signal
lock-in, sees the same fluctuation: dividing each reading by the reference's
(normalised to its mean) takes it out (:mod:`reconstruction.reference`).

The reference lock-in is a :class:`~imager.sim.lockin.SimulatedLockIn` whose
input is the chopped pick-off power on the detector, multiplied by the lab's
MIR fluctuation (:class:`~imager.sim.power_noise.PowerFluctuation`, the same
function of lab time the signal lock-in sees). Its time constant and slope
follow the signal lock-in's at every reading (a lab sets both alike).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from imager.devices.interfaces import LockInReading, Settings, StreamData
from imager.sim.lockin import NoiseModel, SimulatedLockIn
from imager.twin.detection import SQUARE_WAVE_FUNDAMENTAL

__all__ = ["ReferenceDetector", "SimulatedReferenceChannel", "fresnel_reflectance"]


def fresnel_reflectance(n: float) -> float:
    """Normal-incidence reflectance of one uncoated surface of index ``n``."""
    return ((n - 1.0) / (n + 1.0)) ** 2


@dataclass(frozen=True)
class ReferenceDetector:
    """The pick-off and detector of the reference channel.

    Attributes
    ----------
    pickoff_fraction : float
        Fraction of the MIR beam sent to the detector. Default: the front-surface
        Fresnel reflection of an uncoated CaF2 wedge, n = 1.40 at 4 um (standard
        refractive index of CaF2): ((n - 1) / (n + 1))**2 = 2.8 %.
    responsivity_V_per_W : float
        Detector + amplifier output per watt on the detector at the chopper
        frequency. Chosen: 100 V/W (the order of a thermoelectrically cooled PbSe
        or MCT photoconductor behind a transimpedance stage at 4 um).
    noise_V_per_rtHz : float
        Output noise density at the chopper frequency. Chosen: 0.1 uV/sqrt(Hz)
        (the same class of detector and amplifier).
    """

    pickoff_fraction: float = fresnel_reflectance(1.40)
    responsivity_V_per_W: float = 100.0
    noise_V_per_rtHz: float = 1.0e-7


class SimulatedReferenceChannel:
    """Reference detector + its lock-in in the twin (``lab.reference``).

    Parameters
    ----------
    lab : SimulatedLab
        Gives the clock, source, chopper, the signal lock-in (whose filter this one
        follows) and the MIR fluctuation.
    detector : ReferenceDetector
    seed : int
        Noise seed of this lock-in (different from the signal lock-in's).
    noise : bool
        With noise (detector noise and the MIR fluctuation) or without.
    """

    def __init__(self, lab: Any, detector: ReferenceDetector = ReferenceDetector(),  # noqa: B008
                 seed: int = 1, noise: bool = True) -> None:
        self.lab, self.detector = lab, detector
        self.lockin = SimulatedLockIn(
            lab.clock, self._phasor, chopper=lab.chopper, seed=seed,
            noise=NoiseModel(input_noise_V_per_rtHz=detector.noise_V_per_rtHz,
                             power_rel_rms=0.0, drift_rel_rms=0.0) if noise else None,
            sensitivity_V=1.0, gain_fluctuation=lab.mir_fluctuation.filtered if noise else None)

    def _phasor(self, t_s: float) -> complex:
        source = self.lab.source
        if not (source.on and self.lab.chopper.enabled):
            return 0j
        d = self.detector
        return complex(SQUARE_WAVE_FUNDAMENTAL * source.emitted_power_mW * 1e-3
                       * d.pickoff_fraction * d.responsivity_V_per_W)

    def _follow(self) -> None:
        main, ref = self.lab.lockin, self.lockin
        if ref.time_constant_s != main.time_constant_s:
            ref.time_constant_s = main.time_constant_s
        if ref.filter_slope_dB_per_oct != main.filter_slope_dB_per_oct:
            ref.filter_slope_dB_per_oct = main.filter_slope_dB_per_oct

    def expected_V(self) -> float:
        """Noise-free settled reference X now, V."""
        return self._phasor(self.lab.clock.now_s()).real

    # ------------------------------------------------------------- reading
    def begin_point(self, index: int) -> None:
        self.lockin.begin_point(index)

    def end_point(self) -> None:
        self.lockin.end_point()

    def read_xy(self) -> LockInReading:
        """The reference lock-in's X and Y now (filter as the signal lock-in's)."""
        self._follow()
        return self.lockin.read_xy()

    def start_stream(self, rate_Hz: float | None) -> None:
        self._follow()
        self.lockin.start_stream(rate_Hz)

    def stop_stream(self) -> None:
        self.lockin.stop_stream()

    def read_stream(self) -> StreamData:
        return self.lockin.read_stream()

    def trigger(self) -> None:
        self.lockin.trigger()

    def settings(self) -> Settings:
        """What the scan file records of the reference channel."""
        d = self.detector
        return {"kind": "simulated", "pickoff_fraction": d.pickoff_fraction,
                "responsivity_V_per_W": d.responsivity_V_per_W,
                "noise_V_per_rtHz": d.noise_V_per_rtHz,
                "time_constant_s": self.lockin.time_constant_s,
                "filter_slope_dB_per_oct": self.lockin.filter_slope_dB_per_oct,
                "expected_V": self.expected_V(),
                "relative_noise_rms": (d.noise_V_per_rtHz * math.sqrt(self.lockin.enbw_Hz())
                                       / max(self.expected_V(), 1e-300))}
