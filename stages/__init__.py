"""Motion: the stage interface and its implementations.

``stages`` knows nothing of imaging. It offers one single-axis
:class:`~stages.interface.Stage` protocol, a simulated implementation
(:class:`~stages.simulated.SimulatedStage`) that runs on any clock with
``now_s()``/``sleep(dt_s)``, and :class:`~stages.xy.XYStage`, which pairs
two axes for raster scans. :class:`~stages.apt.AptStage` drives Thorlabs APT
controllers through thorlabs-apt-device, imported only when a controller is
opened; :class:`~stages.clock.WallClock` is real time. For fly scans both
implement :class:`~stages.interface.FlyStage` (cruise velocity, velocity moves,
stops, position triggers); motion is a :class:`~stages.trajectory.Trajectory`
whose position crossings are known when a move starts.
"""

from typing import Any

from stages.clock import WallClock
from stages.interface import Clock, FlyStage, Stage, StageError, TravelLimitError
from stages.simulated import SimulatedStage, StageDynamics
from stages.xy import XYStage

__all__ = [
    "AptController",
    "AptStage",
    "Clock",
    "FlyStage",
    "Stage",
    "StageError",
    "TravelLimitError",
    "SimulatedStage",
    "StageDynamics",
    "WallClock",
    "XYStage",
]

_LAZY = {"AptController", "AptStage"}


def __getattr__(name: str) -> Any:
    """Import the APT driver only when it is asked for (keeps ``import stages`` cheap)."""
    if name in _LAZY:
        from stages import apt

        return getattr(apt, name)
    raise AttributeError(f"module 'stages' has no attribute {name!r}")
