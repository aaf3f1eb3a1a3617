"""The engine: runs any plan (:mod:`imager.plans`) on a lab; sinks hear what happens."""

from imager.engine.context import PointEvent, RunResult, RunStart, ScanContext, Sink
from imager.engine.raster import ScanResult, run_raster
from imager.engine.run import run_plan
from imager.engine.single_pixel import SinglePixelResult, run_single_pixel
from imager.engine.sinks import ArraySink, ProgressSink
from imager.engine.stop import StopRequest

__all__ = ["ArraySink", "PointEvent", "ProgressSink", "RunResult", "RunStart", "ScanContext",
           "ScanResult", "SinglePixelResult", "Sink", "StopRequest", "run_plan", "run_raster",
           "run_single_pixel"]
