"""Device interfaces (typed Protocols) shared by real, simulated and emulated drivers."""

from imager.devices.interfaces import (
    Chopper,
    DeviceError,
    LockIn,
    LockInReading,
    LockInStatus,
    PowerMeter,
    Projector,
    Pump,
    Source,
)

__all__ = ["Chopper", "DeviceError", "LockIn", "LockInReading", "LockInStatus", "PowerMeter",
           "Projector", "Pump", "Source"]
