"""Pure reconstruction: raster assembly, corrections, metrics, export (no hardware)."""

from .export import save_png, save_tiff
from .metrics import compare, correlation, psnr, ssim
from .raster import RasterImage, reconstruct_raster
from .scanfile import RasterScan, ScanFileError, load_raster
from .spi import FourierBasis, HadamardBasis, RandomBasis, basis_from_spec, reconstruct

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
]
