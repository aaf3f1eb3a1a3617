"""Acquisition planner: predicted noise, image quality and lab time before acquiring.

:func:`predict` gives a recipe's :class:`Prediction` from the twin's noise budget
(:mod:`imager.planner.budget`); :func:`recommend` searches pump, gain, dwell and
readout for the fastest acquisition per mode that reaches a target per-pixel SNR.
``mirimager plan RECIPE`` prints both.
"""

from imager.planner.predict import Prediction, memory_fraction, predict
from imager.planner.recommend import recommend

__all__ = ["Prediction", "memory_fraction", "predict", "recommend"]
