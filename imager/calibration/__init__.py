"""Calibration as a product feature: the same code on hardware and on the twin."""

from imager.calibration.run import CalibrationResult, run_calibration

__all__ = ["CalibrationResult", "run_calibration"]
