"""Calibration as a product feature: the same code on hardware and on the twin.

The sweeps are a plan (:mod:`imager.plans.calibration`) run by the engine; the
file is written by :class:`CalibrationFileSink`.
"""

from imager.calibration.run import CalibrationResult, check_calibration, run_calibration
from imager.calibration.sink import CalibrationFileSink, CalibrationProgressSink

__all__ = ["CalibrationFileSink", "CalibrationProgressSink", "CalibrationResult",
           "check_calibration", "run_calibration"]
