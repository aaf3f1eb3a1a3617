"""A MIR reference channel on real instruments: a second lock-in that follows the first.

A lab configuration's ``[reference_lockin]`` names a lock-in reading a detector on a
pick-off of the MIR beam (``imager.labconfig``). For the normalisation to take the MIR
fluctuation out, its output filter must hold the fluctuation as the signal lock-in's
does: :class:`FollowingLockIn` copies the signal lock-in's time constant and slope onto
it before every reading and every buffered recording, then reads it.
"""

from __future__ import annotations

from typing import Any

from imager.devices.interfaces import LockInReading, Settings, StreamData

__all__ = ["FollowingLockIn"]

#: The filter settings the reference takes over from the signal lock-in.
FOLLOWED = ("time_constant_s", "filter_slope_dB_per_oct")


class FollowingLockIn:
    """``device`` (the reference lock-in) with the filter of ``leader`` (the signal one).

    Parameters
    ----------
    device : LockIn
        The reference lock-in (a driver, or any class implementing the Protocol).
    leader : LockIn
        The signal lock-in whose filter it follows.
    """

    def __init__(self, device: Any, leader: Any) -> None:
        self.device, self.leader = device, leader

    def _follow(self) -> None:
        for name in FOLLOWED:
            want = getattr(self.leader, name, None)
            if want is not None and getattr(self.device, name, None) != want:
                setattr(self.device, name, want)

    def read_xy(self) -> LockInReading:
        """The reference's X and Y now, its filter as the signal lock-in's."""
        self._follow()
        return self.device.read_xy()

    def start_stream(self, rate_Hz: float | None) -> None:
        """Start its buffer beside the signal lock-in's (same rate or trigger)."""
        self._follow()
        self.device.start_stream(rate_Hz)

    def stop_stream(self) -> None:
        self.device.stop_stream()

    def read_stream(self) -> StreamData:
        return self.device.read_stream()

    def settings(self) -> Settings:
        """The reference lock-in's settings, and what it follows."""
        return {**self.device.settings(), "follows": "lockin (" + ", ".join(FOLLOWED) + ")"}
