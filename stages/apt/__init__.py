"""Thorlabs APT motion controllers: driver, unit tables, protocol and emulator.

* :class:`~stages.apt.driver.AptStage` - one axis as a :class:`stages.interface.Stage`,
  over thorlabs-apt-device (imported only when a controller is opened), with the
  fly-scan motion of :mod:`stages.apt.driver_fly` (velocity, velocity moves,
  K-Cube position triggers);
* :class:`~stages.apt.controller.AptController` - one controller on an explicit
  serial port, shared by the axes on its bays;
* :mod:`stages.apt.models` - counts/mm per stage and velocity/acceleration
  scaling per controller family, with sources;
* :mod:`stages.apt.tracking`, :mod:`stages.apt.settle` - which replies came
  after a command, and whether it has finished;
* :mod:`stages.apt.protocol`, :mod:`stages.apt.payloads` - APT frames, message
  ids, status bits and data packets;
* :mod:`stages.apt.emulator` (with :mod:`stages.apt.emulator_channel`,
  :mod:`stages.apt.emulated_axis` and :mod:`stages.apt.kcube_triggers`) - an APT
  controller on a pseudo-terminal (POSIX; not imported here).
"""

from stages.apt.controller import AptController
from stages.apt.driver import AptStage, AxisStatus
from stages.apt.models import CONTROLLER_MODELS, FAMILIES, STAGE_MODELS

__all__ = [
    "AptController",
    "AptStage",
    "AxisStatus",
    "CONTROLLER_MODELS",
    "FAMILIES",
    "STAGE_MODELS",
]
