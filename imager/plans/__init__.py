"""Plans: pure generators of steps (:mod:`imager.plans.steps`), no I/O and no devices.

:func:`imager.engine.run_plan` runs any of them on a lab; sinks (the file
writer, the progress bar, a live view) hear what happens.
"""

from imager.plans.calibration import calibration_plan
from imager.plans.raster import RasterGrid, RasterPoint, grid_steps, raster_plan, raster_points
from imager.plans.resume import Plan, ResumeFrom
from imager.plans.single_pixel import single_pixel_plan

__all__ = ["Plan", "RasterGrid", "RasterPoint", "ResumeFrom", "calibration_plan", "grid_steps",
           "raster_plan", "raster_points", "single_pixel_plan"]
