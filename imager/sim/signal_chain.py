"""From the film's response to the lock-in's input: transfer, saturation, noise, pump law.

The simulated lab's photodiode chain in two modes: the focused pump spot (rasters)
and the DMD-patterned field (single pixel), where every lit pixel is a flat-top
film at its spot-equivalent pump (:func:`imager.sim.projector.flat_top_film`).
Functions of a :class:`~imager.sim.lab.SimulatedLab`; the acquisition planner
(:mod:`imager.planner`) asks the same questions.
"""

from __future__ import annotations

import math
from typing import Any

from imager.sim.projector import flat_top_film, lit_pixel_pump_mW


def film_at(lab: Any, patterned: bool) -> tuple[Any, float]:
    """``(film response, pump mW)`` of the focused spot, or of one lit DMD pixel."""
    if not patterned:
        return lab.film, lab.pump.power_mW
    return (flat_top_film(lab.film),
            lit_pixel_pump_mW(lab.pump.power_mW, lab.projector.fov_um, lab.config.pump_fwhm_um))


def detector_dc_A(lab: Any, patterned: bool, lit_fraction: float | None = None) -> float | None:
    """DC photocurrent into the amplifier (the spot's, or all lit pixels'), A; None for a
    film response without a photodiode model. ``lit_fraction`` overrides the pattern on
    display (default: it, or half the field)."""
    film, pump_mW = film_at(lab, patterned)
    if getattr(film, "detector", None) is None or not hasattr(film, "response"):
        return None
    currents = film.response(pump_mW, lab.source.wavelength_um).photocurrents_A
    dc_A = currents["660"] if film.channel == "660" else max(currents["525"], currents["545"])
    if patterned:
        if lit_fraction is None:
            pattern = lab.projector.current_pattern()
            lit_fraction = float(pattern.mean()) if pattern is not None else 0.5
        dc_A *= lit_fraction * lab.projector.fov_um**2 / film.film.spot_area_um2
    return dc_A


def film_transfer(lab: Any, patterned: bool = False) -> complex:
    """Film and photodiode amplifier at the chopper frequency, complex (1: instantaneous).

    The film response's ``modulation_transfer`` (see :mod:`imager.sim.film`) at
    the focused pump, or with ``patterned`` the flat-top film of a lit DMD pixel
    at its spot-equivalent pump, times the amplifier's first-order low-pass (its
    phase relative to the film's reference frequency, where the lock-in is phased)
    and its saturation: 0 when the DC photocurrent drives the output beyond its
    swing (:class:`imager.twin.detection.Detector`).
    """
    film, pump_mW = film_at(lab, patterned)
    f_Hz = lab.chopper.frequency_Hz
    transfer = getattr(film, "modulation_transfer", None)
    h = 1.0 + 0j if transfer is None else transfer(f_Hz, pump_mW, lab.source.wavelength_um)
    dc_A = detector_dc_A(lab, patterned)
    if dc_A is None:
        return h
    detector = film.detector
    amplifier = detector.transfer_phased(f_Hz, getattr(film, "reference_frequency_Hz", None))
    return h * amplifier * detector.output_factor(dc_A)


def detector_noise_V_per_rtHz(lab: Any) -> float:
    """Photodiode-chain noise density now (focused spot, or the lit DMD field).

    Patterned mode, 660 nm channel: the shot noise of the photocurrent of all lit
    pixels plus the chain's Johnson and amplifier noise. Other channels keep the
    spot density. Both pass the amplifier's low-pass at the chopper frequency.
    """
    film = lab.film
    detector = getattr(film, "detector", None)
    roll_off = 1.0 if detector is None else abs(detector.transfer(lab.chopper.frequency_Hz))
    pattern = lab.projector.current_pattern()
    if pattern is None or getattr(film, "channel", None) != "660":
        return film.detector_noise_V_per_rtHz(lab.pump.power_mW, lab.source.wavelength_um) \
            * roll_off
    current_A = detector_dc_A(lab, True)
    return detector.transimpedance_V_per_A * detector.current_noise_A_per_rtHz(current_A) \
        * roll_off


def pump_exponent(lab: Any, patterned: bool) -> float:
    """``d ln(signal) / d ln(pump power)``: how the signal follows a pump fluctuation
    (focused spot, or a lit DMD pixel's flat-top film), by a +-1 % difference."""
    film, pump_mW = film_at(lab, patterned)
    h, intensity = 0.01, 1e-9  # small MIR intensity: the signal is linear in it
    wavelength_um = lab.source.wavelength_um
    up = film.dV_V(intensity, pump_mW * (1.0 + h), wavelength_um)
    down = film.dV_V(intensity, pump_mW * (1.0 - h), wavelength_um)
    if up <= 0.0 or down <= 0.0:
        return 0.0
    return math.log(up / down) / math.log((1.0 + h) / (1.0 - h))
