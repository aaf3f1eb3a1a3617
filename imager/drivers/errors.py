"""Errors raised by the instrument drivers."""

from __future__ import annotations

from imager.devices.interfaces import DeviceError


class InstrumentError(DeviceError):
    """An instrument did not do or answer what was asked.

    The message names the instrument, its address or port, and the command.
    """


class InstrumentTimeoutError(InstrumentError, TimeoutError):
    """No (complete) reply within the timeout."""
