"""Spectral scans: read the cube, calibrate it, unmix it into material maps, export it.

=====================  ==========================================================
``cube``               :func:`load_cube` -> :class:`SpectralCube` (raster at several
                       MIR wavelengths, also partial files)
``calibrate``          power-normalised readings, transmittance (reference cube or
                       blank spot), intensity (W/um^2), each with sigma
``responsivity``       the film's responsivity per wavelength from a calibration
``analysis``           spectra at a pixel or region, band images, scores
``unmix``              non-negative unmixing with a free per-pixel scale, classes,
                       reference spectra (built-in library, CSV, the file's)
``library``            MIR transmittance of polymer films (cited bands)
``export``             TIFF stacks, per-pixel spectra (CSV/.npy), the NXprocess
``plot``               the analysis figure
=====================  ==========================================================

The names below are imported on first use (PEP 562), as in :mod:`reconstruction`
(the functions ``calibrate.calibrate`` and ``unmix.unmix`` share their module's name and
are not among them).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .analysis import band_image, pixel_spectrum, region_spectrum, score
    from .calibrate import (
        CalibratedCube,
        blank_transmittance,
        intensity,
        power_normalised,
        transmittance,
    )
    from .cube import SpectralCube, load_cube
    from .export import save_cube_tiff, save_maps_tiff, save_spectra, store_analysis
    from .responsivity import SpectralResponsivity, load_spectral_responsivity
    from .unmix import SpectralAnalysis, Unmixing, analyse, classify, reference_spectra

#: Public name -> submodule that defines it.
_LAZY = {
    "SpectralCube": "cube", "load_cube": "cube",
    "CalibratedCube": "calibrate", "blank_transmittance": "calibrate",
    "intensity": "calibrate", "power_normalised": "calibrate",
    "transmittance": "calibrate",
    "SpectralResponsivity": "responsivity", "load_spectral_responsivity": "responsivity",
    "band_image": "analysis", "pixel_spectrum": "analysis", "region_spectrum": "analysis",
    "score": "analysis",
    "SpectralAnalysis": "unmix", "Unmixing": "unmix", "analyse": "unmix",
    "classify": "unmix", "reference_spectra": "unmix",
    "save_cube_tiff": "export", "save_maps_tiff": "export", "save_spectra": "export",
    "store_analysis": "export",
}

__all__ = [
    "analyse", "band_image", "blank_transmittance", "CalibratedCube", "classify", "intensity",
    "load_cube", "load_spectral_responsivity", "pixel_spectrum", "power_normalised",
    "reference_spectra", "region_spectrum", "save_cube_tiff", "save_maps_tiff", "save_spectra",
    "score", "SpectralAnalysis", "SpectralCube", "SpectralResponsivity", "store_analysis",
    "transmittance", "Unmixing",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
