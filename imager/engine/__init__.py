"""The engine: runs a plan on a lab's devices and writes the scan file."""

from imager.engine.raster import ScanResult, StopRequest, run_raster
from imager.engine.single_pixel import SinglePixelResult, run_single_pixel

__all__ = ["ScanResult", "SinglePixelResult", "StopRequest", "run_raster", "run_single_pixel"]
