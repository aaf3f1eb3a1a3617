"""The film's responsivity against MIR wavelength, from a calibration (pure but for reading
the calibration file).

A calibration run (``mirimager calibrate``) fits the responsivity (V per W/um^2) of an
MIR-power sweep at its own wavelength (``/entry/calibration/responsivity``) and, when the
recipe sweeps the wavelength, at each of those (``/entry/calibration/spectral_sweep/<i>``).
:func:`load_spectral_responsivity` collects them into a :class:`SpectralResponsivity`,
interpolated linearly between the calibrated wavelengths; a scan's stored calibration
(``/entry/calibration``, one responsivity) is :func:`responsivity_of_scan`. Used by
:func:`reconstruction.spectral.calibrate.intensity`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .cube import SpectralCube

__all__ = ["SpectralResponsivity", "load_spectral_responsivity", "responsivity_of_scan"]


@dataclass(frozen=True)
class SpectralResponsivity:
    """The film's responsivity against MIR wavelength, from a calibration.

    Attributes
    ----------
    wavelength_um : ndarray, shape (k,)
        Wavelengths of the calibration's sweeps (sorted; NaN if the one responsivity
        does not say where it was measured).
    slope_V_per_W_per_um2, slope_err_V_per_W_per_um2, offset_V, offset_err_V : ndarray
        The fit at each.
    spectral : bool
        True when measured at two or more wavelengths (interpolated between them); False:
        one responsivity used at every wavelength.
    source : str
        Where it comes from (a calibration file, or the scan's stored calibration).
    """

    wavelength_um: np.ndarray
    slope_V_per_W_per_um2: np.ndarray
    slope_err_V_per_W_per_um2: np.ndarray
    offset_V: np.ndarray
    offset_err_V: np.ndarray
    spectral: bool
    source: str

    def at(self, wavelength_um: np.ndarray) -> tuple[np.ndarray, ...]:
        """``(slope, slope_err, offset, offset_err)`` at ``wavelength_um`` (linear
        interpolation between the calibrated wavelengths).

        Raises
        ------
        ValueError
            A wavelength outside the calibrated range (spectral calibrations only).
        """
        w = np.asarray(wavelength_um, dtype=float)
        fields = (self.slope_V_per_W_per_um2, self.slope_err_V_per_W_per_um2,
                  self.offset_V, self.offset_err_V)
        if not self.spectral:
            return tuple(np.full(w.shape, float(a[0])) for a in fields)
        lo, hi = float(self.wavelength_um[0]), float(self.wavelength_um[-1])
        margin = 1e-6 * hi
        outside = (w < lo - margin) | (w > hi + margin)
        if outside.any():
            raise ValueError(f"{self.source} calibrates {lo:g}-{hi:g} um; the scan's "
                             f"{', '.join(f'{v:g}' for v in w[outside])} um lie outside")
        return tuple(np.interp(w, self.wavelength_um, a) for a in fields)


def _responsivity(fits: list[tuple[float, Any]], source: str) -> SpectralResponsivity:
    distinct = {w for w, _ in fits if math.isfinite(w)}
    if len(distinct) < 2:  # the first (the file's main responsivity) at every wavelength
        fits = fits[:1]
    else:  # one fit per wavelength (the first of repeats)
        seen: dict[float, Any] = {}
        for w, fit in fits:
            if math.isfinite(w):
                seen.setdefault(w, fit)
        fits = sorted(seen.items())
    return SpectralResponsivity(
        np.array([w for w, _ in fits]),
        *(np.array([getattr(fit, name) for _, fit in fits]) for name in (
            "slope_V_per_W_per_um2", "slope_err_V_per_W_per_um2", "offset_V",
            "offset_err_V")), spectral=len(fits) >= 2, source=source)


def load_spectral_responsivity(path: str | os.PathLike[str]) -> SpectralResponsivity:
    """The responsivity of a calibration file (``mirimager calibrate``), per wavelength.

    Every MIR-power sweep of the file (``responsivity`` and ``spectral_sweep/<i>``) with
    a ``wavelength_um`` attribute gives the responsivity there; two or more distinct
    wavelengths make it spectral.

    Raises
    ------
    ValueError
        One line naming the file: missing, not a calibration, or a sweep whose fit is
        malformed (a `ScanFileError` when it cannot be read as a mirimager file).
    """
    import h5py

    from ..calibration import load_calibration, responsivity_from_attrs
    from ..scanfile import read_scan_file
    from ..schema import CALIBRATION, member

    path = Path(os.fspath(path))
    first, context = load_calibration(path)  # the checks: a calibration file, its main fit

    def sweeps(f: h5py.File, p: Path) -> list[tuple[str, dict[str, Any]]]:
        group = member(f, f"{CALIBRATION}/spectral_sweep", p)
        out = []
        for name in (list(group) if isinstance(group, h5py.Group) else []):
            sweep = member(group, name, p)
            if isinstance(sweep, h5py.Group) and "slope_V_per_W_per_um2" in sweep.attrs:
                attrs = {k: (v.item() if np.size(v) == 1 and hasattr(v, "item") else v)
                         for k, v in sweep.attrs.items()}
                out.append((f"spectral_sweep/{name}", attrs))
        return out

    fits = [(float(context["wavelength_um"]), first)]
    for name, attrs in read_scan_file(path, sweeps):
        try:
            fit = responsivity_from_attrs(attrs)
        except ValueError as exc:
            raise ValueError(f"{path}: /entry/calibration/{name}: {exc}") from None
        w = attrs.get("wavelength_um")
        fits.append((float(w) if isinstance(w, int | float) else math.nan, fit))
    return _responsivity(fits, path.name)


def responsivity_of_scan(cube: SpectralCube) -> SpectralResponsivity | None:
    """The responsivity stored with the scan (``/entry/calibration``), or None.

    Raises
    ------
    ValueError
        The stored calibration is malformed (one line naming the field).
    """
    from ..calibration import responsivity_from_attrs

    if not cube.calibration:
        return None
    try:
        fit = responsivity_from_attrs(cube.calibration)
    except ValueError as exc:
        raise ValueError(f"{cube.path}: /entry/calibration: {exc}") from None
    w = cube.calibration.get("wavelength_um", math.nan)
    return _responsivity([(float(w) if isinstance(w, int | float) else math.nan, fit)],
                         f"{cube.path.name} /entry/calibration")
