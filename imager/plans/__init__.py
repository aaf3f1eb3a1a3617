"""Plans: pure generators of what to measure, no I/O and no devices."""

from imager.plans.raster import RasterGrid, RasterPoint, raster_points

__all__ = ["RasterGrid", "RasterPoint", "raster_points"]
