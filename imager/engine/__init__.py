"""The engine: runs a plan on a lab's devices and writes the scan file."""

from imager.engine.raster import ScanResult, StopRequest, run_raster

__all__ = ["ScanResult", "StopRequest", "run_raster"]
