"""Pure reconstruction: raster assembly, corrections, metrics, export (no hardware).

The names below are imported on first use (PEP 562), so ``import reconstruction`` and
``from reconstruction import ScanFileError`` stay cheap: matplotlib (export), SciPy
(corrections, metrics) and h5py (scan files) load only when a function that needs them
is first looked up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import ScanFileError

if TYPE_CHECKING:  # for type checkers and IDEs; at run time see __getattr__
    from .export import save_png, save_tiff
    from .fly import LockInFilter, assemble_fly, assemble_line, deconvolve_line
    from .fly_line import reassemble_fly_file
    from .metrics import compare, correlation, psnr, ssim
    from .raster import RasterImage, reconstruct_raster
    from .scanfile import RasterScan, load_raster
    from .spectral.cube import SpectralCube, load_cube
    from .spi import FourierBasis, HadamardBasis, RandomBasis, basis_from_spec, reconstruct

#: Public name -> submodule that defines it.
_LAZY = {
    "LockInFilter": "fly",
    "assemble_fly": "fly",
    "assemble_line": "fly",
    "deconvolve_line": "fly",
    "reassemble_fly_file": "fly_line",
    "save_png": "export",
    "save_tiff": "export",
    "compare": "metrics",
    "correlation": "metrics",
    "psnr": "metrics",
    "ssim": "metrics",
    "RasterImage": "raster",
    "reconstruct_raster": "raster",
    "RasterScan": "scanfile",
    "load_raster": "scanfile",
    # single-pixel imaging (reconstruction.spi)
    "FourierBasis": "spi",
    "HadamardBasis": "spi",
    "RandomBasis": "spi",
    "basis_from_spec": "spi",
    "reconstruct": "spi",
    # spectral scans (reconstruction.spectral)
    "SpectralCube": "spectral.cube",
    "load_cube": "spectral.cube",
}

__all__ = [
    "RasterImage",
    "RasterScan",
    "ScanFileError",
    "compare",
    "correlation",
    "load_raster",
    "psnr",
    "reconstruct_raster",
    "save_png",
    "save_tiff",
    "ssim",
    # single-pixel imaging (reconstruction.spi)
    "FourierBasis",
    "HadamardBasis",
    "RandomBasis",
    "basis_from_spec",
    "reconstruct",
    # fly scans (reconstruction.fly, reconstruction.fly_line)
    "LockInFilter",
    "assemble_fly",
    "assemble_line",
    "deconvolve_line",
    "reassemble_fly_file",
    # spectral scans (reconstruction.spectral)
    "SpectralCube",
    "load_cube",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
