"""Calibrated spectral cubes, each value with its 1-sigma uncertainty.

A reading of a spectral raster is, per wavelength ``l`` and grid point ``(x, y)``,
``X = R(l) * I(l, x, y) + noise``: the film's spectral responsivity ``R`` (V per W/um^2,
it follows the film's absorption band) times the MIR intensity reaching the film, which is
the source's power ``P(l)`` spread over the beam profile ``B(x, y)`` and passed by the
sample's transmittance ``T(l, x, y)``. The functions here remove the parts that are known:

* :func:`power_normalised`: ``X / (P / mean P)``, the power differences between
  wavelengths removed (``R`` is not);
* :func:`transmittance`: divided by a reference cube (same grid and wavelengths, no
  sample): ``T`` itself, since ``R``, ``P`` and ``B`` cancel point by point;
* :func:`blank_transmittance`: divided by the readings at the blank (sample-free) spot,
  ``(X/P) / (X_blank/P_blank)`` = ``T(l, x, y) * B(x, y) / B(blank)``: ``R`` and ``P``
  cancel, but the result **also carries the MIR beam profile relative to the blank spot**
  (a spectrally flat factor per pixel; :func:`reconstruction.spectral.unmix.unmix` fits
  it as a free per-pixel scale);
* :func:`intensity`: ``(X - offset) / R(l)``, W/um^2, from a calibration's responsivity,
  interpolated over wavelength from its spectral sweeps.

Uncertainty: the lock-in's noise per wavelength is estimated from the quadrature ``Y``
(which holds no signal when the phase is set, only the same noise as ``X``): the robust
scatter (1.4826 MAD) of ``Y`` after removing any part proportional to ``X`` (a phase
offset), over the measured pixels of that wavelength (pooled over all wavelengths when a
wavelength has fewer than `MIN_PIXELS`). It is propagated through the ratios to first
order. Each calibrated cube keeps two parts apart: ``sigma``, independent from pixel to
pixel (the pixel's own reading, a reference cube's reading there), and ``common_rel``, a
relative uncertainty shared by every pixel of a wavelength (the one blank-spot reading,
the power meter's standard error where it measured more than once, the calibration's
slope): it does not average down over a region (:mod:`reconstruction.spectral.analysis`
adds it back to a region's mean). MIR power fluctuations during a scan are not in ``Y``
and not in these sigmas.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from .cube import SpectralCube
from .responsivity import (  # noqa: F401 - part of this module's API
    SpectralResponsivity,
    load_spectral_responsivity,
    responsivity_of_scan,
)

__all__ = ["CalibratedCube", "SpectralResponsivity", "blank_transmittance", "calibrate",
           "intensity", "load_spectral_responsivity", "noise_V", "power_normalised",
           "relative_power", "responsivity_of_scan", "spectral_shape", "transmittance"]

MIN_PIXELS = 8
"""Fewest measured pixels of a wavelength for its own noise estimate."""

KINDS = {"transmittance": "1", "relative transmittance": "1",
         "intensity_W_per_um2": "W/um^2", "power-normalised V": "V"}
"""The kinds of calibrated cube, and their units."""


@dataclass(frozen=True)
class CalibratedCube:
    """A calibrated cube and its 1-sigma uncertainty.

    Attributes
    ----------
    values : ndarray, shape (nw, ny, nx)
        NaN where not measured.
    sigma : ndarray, shape (nw, ny, nx)
        1-sigma of each value from the noise independent between pixels.
    common_rel : ndarray, shape (nw,)
        Relative 1-sigma shared by all pixels of a wavelength; a single value's total is
        :meth:`total_sigma`.
    kind : str
        ``"transmittance"``, ``"relative transmittance"``, ``"intensity_W_per_um2"`` or
        ``"power-normalised V"`` (`KINDS`).
    units : str
        ``"1"``, ``"W/um^2"`` or ``"V"``.
    wavelength_um, x_um, y_um : ndarray
        The cube's axes.
    power_rel : ndarray, shape (nw,)
        The MIR power relative to its mean over wavelengths (1 where not measured).
    notes : tuple of str
        What the values do and do not correct (shown to the user).
    """

    values: np.ndarray
    sigma: np.ndarray
    kind: str
    units: str
    wavelength_um: np.ndarray
    x_um: np.ndarray
    y_um: np.ndarray
    power_rel: np.ndarray
    common_rel: np.ndarray
    notes: tuple[str, ...] = ()

    def total_sigma(self) -> np.ndarray:
        """1-sigma of each single value: ``hypot(sigma, |values| * common_rel)``."""
        return np.hypot(self.sigma, np.abs(self.values) * self.common_rel[:, None, None])


def _robust_sigma(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    if values.size < 2:
        return math.nan
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def noise_V(cube: SpectralCube) -> np.ndarray:
    """Lock-in noise per wavelength, volts, from the quadrature ``Y`` (module docstring).

    Parameters
    ----------
    cube : SpectralCube

    Returns
    -------
    ndarray, shape (nw,)
        Standard deviation of one reading of ``X`` at each wavelength; NaN when nothing
        was measured. Without enough pixels at a wavelength: the value pooled over all
        wavelengths (the blank's ``Y`` readings included).
    """
    nw = cube.shape[0]
    out = np.full(nw, np.nan)
    residuals = []
    for iw in range(nw):
        x, y = cube.X_V[iw].ravel(), cube.Y_V[iw].ravel()
        ok = np.isfinite(x) & np.isfinite(y)
        x, y = x[ok], y[ok]
        if y.size >= 3 and np.ptp(x) > 0:  # remove a part of Y that follows X (phase)
            y = y - np.polyval(np.polyfit(x, y, 1), x)
        residuals.append(y)
        if y.size >= MIN_PIXELS:
            out[iw] = _robust_sigma(y)
    pooled = np.concatenate(residuals + ([cube.blank_Y_V] if cube.blank_Y_V is not None
                                         else []))
    missing = ~np.isfinite(out) & cube.measured.reshape(nw, -1).any(axis=1)
    out[missing] = _robust_sigma(pooled)
    return out


def relative_power(cube: SpectralCube) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """MIR power at each wavelength relative to its mean: ``(p_rel, p_rel_sigma, notes)``.

    Wavelengths without a power reading get 1 (nothing corrected there, said in notes).
    """
    power, sem = cube.power_mW, cube.power_sem_mW
    ok = np.isfinite(power) & (power > 0)
    if not ok.any():
        return np.ones_like(power), np.zeros_like(power), (
            "no MIR power recorded: power differences between wavelengths not removed",)
    mean = float(power[ok].mean())
    p_rel = np.where(ok, power / mean, 1.0)
    p_sigma = np.where(ok, np.nan_to_num(sem) / mean, 0.0)
    notes = () if ok.all() else (
        f"no MIR power at {', '.join(f'{w:g}' for w in cube.wavelength_um[~ok])} um: "
        "not power-normalised there",)
    return p_rel, p_sigma, notes


def _axes(cube: SpectralCube) -> dict[str, np.ndarray]:
    return {"wavelength_um": cube.wavelength_um, "x_um": cube.x_um, "y_um": cube.y_um}


def power_normalised(cube: SpectralCube) -> CalibratedCube:
    """``X / (P / mean P)``: the readings with the power differences between wavelengths
    removed (volts, at the mean power); the film's spectral response remains.

    Parameters
    ----------
    cube : SpectralCube

    Returns
    -------
    CalibratedCube
        kind ``"power-normalised V"``.
    """
    p_rel, p_sigma, notes = relative_power(cube)
    values = cube.X_V / p_rel[:, None, None]
    # (+ 0 * values: NaN where not measured)
    sigma = noise_V(cube)[:, None, None] / p_rel[:, None, None] + 0 * values
    note = ("the film's spectral responsivity is not removed (give a reference cube, a "
            "blank spot or a calibration)")
    return CalibratedCube(values, sigma, "power-normalised V", "V", power_rel=p_rel,
                          common_rel=p_sigma / p_rel, notes=(*notes, note), **_axes(cube))


def _ratio(num: np.ndarray, num_sigma: np.ndarray, den: np.ndarray, den_sigma: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray]:
    """``num / den`` and its sigma to first order (``hypot(num_sigma, ratio den_sigma) /
    |den|``, which holds also where ``num`` is near 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = num / den
        return ratio, np.hypot(num_sigma, ratio * den_sigma) / np.abs(den)


def same_grid_problem(cube: SpectralCube, reference: SpectralCube) -> str | None:
    """Why ``reference`` cannot serve as ``cube``'s reference (None: it can)."""
    if reference.shape != cube.shape:
        return (f"{reference.path.name} is {'x'.join(map(str, reference.shape))} "
                f"(wavelengths x ny x nx), the scan {'x'.join(map(str, cube.shape))}")
    for name in ("wavelength_um", "x_um", "y_um"):
        a, b = getattr(cube, name), getattr(reference, name)
        scale = max(float(np.ptp(a)), float(np.abs(a).max()), 1e-12)
        if not np.allclose(a, b, rtol=0, atol=1e-6 * scale):
            return (f"{reference.path.name} has {name} {b.min():g}..{b.max():g}, the scan "
                    f"{a.min():g}..{a.max():g} (not the same grid)")
    return None


def transmittance(cube: SpectralCube, reference: SpectralCube) -> CalibratedCube:
    """Transmittance: the cube divided by a reference cube without sample.

    Each reading is first divided by the MIR power measured at its wavelength in its own
    scan, so a change of the source between the two scans cancels too (when either scan
    lacks a power reading at some wavelength, the readings are divided as they are, and
    the notes say so).

    Parameters
    ----------
    cube : SpectralCube
        The sample's scan.
    reference : SpectralCube
        A scan of the same grid and wavelengths with no sample.

    Returns
    -------
    CalibratedCube
        kind ``"transmittance"``, units ``"1"``.

    Raises
    ------
    ValueError
        The reference is not on the same grid or wavelengths (one line saying how).
    """
    problem = same_grid_problem(cube, reference)
    if problem is not None:
        raise ValueError(problem)
    parts, notes, common = [], (), np.zeros(cube.shape[0])
    powered = all(np.isfinite(c.power_mW).all() and (c.power_mW > 0).all()
                  for c in (cube, reference))
    if not powered:
        notes = ("MIR power not recorded at every wavelength of both scans: a change of "
                 "the source between them is not removed",)
    for c in (cube, reference):
        p = c.power_mW if powered else np.ones(c.shape[0])
        if powered:
            common = np.hypot(common, np.nan_to_num(c.power_sem_mW / p))
        parts += [c.X_V / p[:, None, None], noise_V(c)[:, None, None] / p[:, None, None]]
    values, sigma = _ratio(*parts)  # both readings per pixel: independent between pixels
    return CalibratedCube(values, sigma, "transmittance", "1",
                          power_rel=relative_power(cube)[0], common_rel=common, notes=notes,
                          **_axes(cube))


def blank_transmittance(cube: SpectralCube) -> CalibratedCube:
    """Transmittance relative to the blank spot: ``(X/P) / (X_blank/P_blank)``.

    The film's responsivity and the source's power cancel (both readings at the same
    wavelength, divided by the same power-meter mean: ``X / X_blank``). The result **also
    carries the MIR beam profile relative to the blank spot**: ``T(l, x, y) * B(x, y) /
    B(blank)``, a spectrally flat factor per pixel that unmixing fits as a free scale.

    Parameters
    ----------
    cube : SpectralCube
        With blank-spot readings (``cube.blank_X_V``).

    Returns
    -------
    CalibratedCube
        kind ``"relative transmittance"``, units ``"1"``; NaN at wavelengths without a
        blank reading.

    Raises
    ------
    ValueError
        The scan has no blank-spot readings.
    """
    if cube.blank_X_V is None:
        raise ValueError(f"{cube.path.name} has no blank-spot readings (/entry/spectral/blank)")
    noise = noise_V(cube)
    blank = cube.blank_X_V
    with np.errstate(divide="ignore", invalid="ignore"):
        values = cube.X_V / blank[:, None, None]
        sigma = noise[:, None, None] / np.abs(blank[:, None, None]) + 0 * values
        common = noise / np.abs(blank)  # the one blank reading: shared by its image
    x, y = cube.blank_xy_um or (math.nan, math.nan)
    notes = (f"relative to the blank spot at ({x:g}, {y:g}) um: includes the MIR beam "
             "profile relative to that spot (a flat factor per pixel)",)
    return CalibratedCube(values, sigma, "relative transmittance", "1",
                          power_rel=relative_power(cube)[0], common_rel=common, notes=notes,
                          **_axes(cube))


def intensity(cube: SpectralCube, responsivity: SpectralResponsivity) -> CalibratedCube:
    """MIR intensity at the film per wavelength, W/um^2: ``(X - offset) / R(l)``.

    Parameters
    ----------
    cube : SpectralCube
    responsivity : SpectralResponsivity
        From :func:`load_spectral_responsivity` (interpolated over wavelength when the
        calibration swept it) or :func:`responsivity_of_scan`. A single responsivity is
        used at every wavelength, with a warning: the film's spectral response is then
        not corrected.

    Returns
    -------
    CalibratedCube
        kind ``"intensity_W_per_um2"``; sigma holds the lock-in noise and the offset's
        uncertainty, common_rel the slope's.

    Raises
    ------
    ValueError
        A scan wavelength outside a spectral calibration's range.
    """
    slope, slope_err, offset, offset_err = (a[:, None, None] for a in
                                            responsivity.at(cube.wavelength_um))
    values = (cube.X_V - offset) / slope
    sigma = np.hypot(noise_V(cube)[:, None, None], offset_err) / np.abs(slope) + 0 * values
    common = np.abs(slope_err / slope)[:, 0, 0]
    notes: tuple[str, ...] = ()
    if not responsivity.spectral:
        note = (f"one responsivity ({responsivity.source}) used at every wavelength: the "
                "film's spectral response is not corrected")
        warnings.warn(note, UserWarning, stacklevel=2)
        notes = (note,)
    p_rel, _, power_notes = relative_power(cube)
    return CalibratedCube(values, sigma, "intensity_W_per_um2", "W/um^2", power_rel=p_rel,
                          common_rel=common, notes=notes + power_notes, **_axes(cube))


def calibrate(cube: SpectralCube, reference: SpectralCube | None = None,
              responsivity: SpectralResponsivity | None = None) -> CalibratedCube:
    """The best calibration the inputs allow: a reference cube's transmittance, else the
    intensity with a responsivity, else the transmittance relative to the blank spot,
    else the power-normalised readings."""
    if reference is not None:
        return transmittance(cube, reference)
    if responsivity is not None:
        return intensity(cube, responsivity)
    if cube.blank_X_V is not None and np.isfinite(cube.blank_X_V).any():
        return blank_transmittance(cube)
    return power_normalised(cube)


def spectral_shape(cal: CalibratedCube) -> tuple[np.ndarray, np.ndarray]:
    """``(values, sigma)`` proportional to the transmittance at each pixel, for unmixing:
    an intensity cube divided by the relative MIR power (the source's spectrum), any other
    kind as it is."""
    if cal.kind == "intensity_W_per_um2":
        p = cal.power_rel[:, None, None]
        return cal.values / p, cal.sigma / p
    return cal.values, cal.sigma
