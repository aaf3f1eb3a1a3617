"""Motion: the stage interface and its implementations.

``stages`` knows nothing of imaging. It offers one single-axis
:class:`~stages.interface.Stage` protocol, a simulated implementation
(:class:`~stages.simulated.SimulatedStage`) that runs on any clock with
``now_s()``/``sleep(dt_s)``, and :class:`~stages.xy.XYStage`, which pairs
two axes for raster scans.
"""

from stages.interface import Clock, Stage, StageError, TravelLimitError
from stages.simulated import SimulatedStage, StageDynamics
from stages.xy import XYStage

__all__ = [
    "Clock",
    "Stage",
    "StageError",
    "TravelLimitError",
    "SimulatedStage",
    "StageDynamics",
    "XYStage",
]
