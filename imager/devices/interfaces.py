"""Small typed Protocols for the instruments around the film.

One interface per kind of instrument; the simulated twin (``imager.sim``),
real drivers and emulator-backed drivers all implement these. The stage
interface lives in :mod:`stages.interface`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

Settings = dict[str, float | int | str | bool]


class DeviceError(RuntimeError):
    """A device did not answer, answered garbage or dropped off (worth a bounded retry)."""


class LockInStatus(enum.IntFlag):
    """Status bits of a lock-in reading (modelled on SR830 LIAS?)."""

    OK = 0
    INPUT_OVERLOAD = 1
    FILTER_OVERLOAD = 2
    OUTPUT_OVERLOAD = 4
    REFERENCE_UNLOCK = 8


@dataclass(frozen=True, slots=True)
class LockInReading:
    """One simultaneous X/Y sample, volts, with the status bits at that moment."""

    x_V: float
    y_V: float
    status: LockInStatus = LockInStatus.OK

    @property
    def r_V(self) -> float:
        """Magnitude sqrt(X^2 + Y^2) in volts."""
        return float((self.x_V**2 + self.y_V**2) ** 0.5)


@dataclass(frozen=True)
class StreamData:
    """Samples from a lock-in's buffer: times ``t_s`` (seconds since the stream started:
    ``k / rate`` for a rate-driven buffer) and outputs ``x_V``, ``y_V``; ``ref_x_V``: the
    MIR reference channel's X recorded alongside (None: no reference channel)."""

    t_s: np.ndarray
    x_V: np.ndarray
    y_V: np.ndarray
    ref_x_V: np.ndarray | None = None


@runtime_checkable
class StreamingLockIn(Protocol):
    """A lock-in that records X and Y into a buffer (fly scans).

    ``start_stream(rate_Hz)`` clears the buffer and records at one of
    ``stream_rates_Hz`` (the first sample at once) or, with ``None``, one sample
    per ``trigger()`` pulse (a stage's position trigger); ``read_stream()``
    returns the samples recorded since the last read, with their times since the
    start (the engine adds the lab time at which it started the stream);
    ``stop_stream()`` stops recording.
    """

    stream_rates_Hz: tuple[float, ...]
    stream_capacity: int

    def start_stream(self, rate_Hz: float | None) -> None: ...

    def trigger(self) -> None: ...

    def stop_stream(self) -> None: ...

    def read_stream(self) -> StreamData: ...


@runtime_checkable
class LockIn(Protocol):
    """Lock-in amplifier demodulating the photodiode at the chopper frequency."""

    time_constant_s: float
    sensitivity_V: float
    sensitivities_V: tuple[float, ...]
    """Every full scale the instrument offers, V, ascending (the engine ranges up along it)."""
    filter_slope_dB_per_oct: int
    reference_phase_deg: float

    def read_xy(self) -> LockInReading:
        """Sample X and Y now (simultaneously)."""
        ...

    def settle_time_s(self, fraction: float = 0.99) -> float:
        """Time after a step for the output to reach ``fraction`` of it."""
        ...

    def settings(self) -> Settings:
        """Every setting worth recording in a scan file."""
        ...


@runtime_checkable
class Chopper(Protocol):
    """Optical chopper on the MIR beam; its reference drives the lock-in."""

    frequency_Hz: float
    enabled: bool

    def settings(self) -> Settings: ...


@runtime_checkable
class Source(Protocol):
    """MIR source (QCL): wavelength, power, emission on/off."""

    wavelength_um: float
    power_mW: float
    on: bool

    def settings(self) -> Settings: ...


@runtime_checkable
class PowerMeter(Protocol):
    """MIR power monitor (a thermal sensor behind a pick-off), read during scans.

    The engine compares its reading with the scan's starting value to catch a
    drop of the MIR power (:mod:`imager.engine.power`); only ratios matter, so
    the pick-off fraction need not be known exactly.
    """

    wavelength_um: float

    def read_power_mW(self) -> float:
        """Power on the sensor now, mW."""
        ...

    def settings(self) -> Settings: ...


@runtime_checkable
class Pump(Protocol):
    """980 nm pump laser."""

    power_mW: float

    def settings(self) -> Settings: ...


@runtime_checkable
class Projector(Protocol):
    """Pattern projector (DMD) structuring the pump over the field of view.

    Patterns are binary frames of ``shape`` (rows, columns); a sequence is
    loaded into the device's memory, then shown one at a time by index.
    """

    shape: tuple[int, int]
    max_patterns: int

    def load(self, patterns: object) -> None:
        """Load a sequence of binary patterns, array ``(k, rows, cols)``; replaces the last."""
        ...

    def show(self, k: int) -> None:
        """Display pattern ``k`` of the loaded sequence (blocking until it is on)."""
        ...

    def settings(self) -> Settings: ...
