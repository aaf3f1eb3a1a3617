"""What the SR830 data buffer and the SR860 capture buffer share in the emulators: binary
replies and the feed of samples from the backend's own buffer.

* :class:`BinaryReply`: a reply sent as raw bytes with no terminator (``TRCB?``,
  ``TRCL?``, ``CAPTUREGET?``), as the manuals specify.
* :class:`StreamFeed`: starts, triggers and stops the backend's recording
  (:class:`imager.devices.interfaces.StreamingLockIn`: the simulated lock-in samples
  its exact filter output at the rate, or at each trigger) and hands over the
  samples taken since the last call. The emulators pull before every command line,
  so a buffer always holds what the instrument would hold when the line arrives,
  and copy the samples into a buffer of their own, which clients read in any range.

Cost: the backend computes each sample in Python (tens of microseconds each), when
it is pulled. The SR830's 512 Hz is nothing; the SR860 emulator refuses capture
rates above its ``max_capture_rate_Hz`` (20 kHz by default) so that a client cannot
set the twin a pace it cannot keep. Tests stay at a few kHz or less.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from imager.devices.interfaces import StreamingLockIn
from imager.emulators.srs_syntax import ExecutionError


class BinaryReply(str):
    """A reply that goes on the wire as the raw bytes :attr:`data`, with no terminator.

    A ``str`` (its characters are the bytes as Latin-1) so that it travels through the
    emulators' ``execute()`` like any reply; the session
    (:class:`imager.emulators.serve.LockInSession`) sends :attr:`data` as it is.
    """

    data: bytes

    def __new__(cls, data: bytes) -> BinaryReply:
        reply = super().__new__(cls, bytes(data).decode("latin-1"))
        reply.data = bytes(data)
        return reply


def ieee_block(data: bytes) -> bytes:
    """IEEE 488.2 definite-length block: ``#`` + digit count + length + data."""
    length = str(len(data))
    return b"#" + str(len(length)).encode("ascii") + length.encode("ascii") + bytes(data)


class StreamFeed:
    """The backend's recording, seen from an emulator's buffer.

    Parameters
    ----------
    backend : object
        The emulator's backend; buffer commands need it to implement
        :class:`~imager.devices.interfaces.StreamingLockIn` (otherwise they are
        execution errors).
    rates_Hz : tuple of float, optional
        Rates the instrument records at; given to the backend
        (``backend.stream_rates_Hz``) when it streams.
    """

    UNLIMITED = sys.maxsize
    """Capacity for a recording the emulator stops itself (loop mode, continuous capture)."""

    def __init__(self, backend: object, rates_Hz: tuple[float, ...] | None = None) -> None:
        self.backend = backend if isinstance(backend, StreamingLockIn) else None
        if self.backend is not None and rates_Hz is not None:
            self.backend.stream_rates_Hz = tuple(rates_Hz)
        self.running = False

    def _need(self) -> StreamingLockIn:
        if self.backend is None:
            raise ExecutionError("the backend has no data buffer")
        return self.backend

    def start(self, rate_Hz: float | None, *, capacity: int, delay_s: float = 0.0) -> None:
        """Start recording at ``rate_Hz`` (None: on triggers), at most ``capacity`` samples."""
        backend = self._need()
        try:
            backend.start_stream(rate_Hz, capacity=capacity, delay_s=delay_s)  # type: ignore[call-arg]
        except ValueError as exc:
            raise ExecutionError(str(exc)) from None
        self.running = True

    def trigger(self) -> None:
        """One trigger pulse (samples once if recording on triggers)."""
        if self.running:
            self._need().trigger()

    def stop(self) -> tuple[np.ndarray, np.ndarray]:
        """Stop recording; return the samples not yet pulled."""
        if not self.running:
            return np.empty(0), np.empty(0)
        backend = self._need()
        backend.stop_stream()
        self.running = False
        data = backend.read_stream()
        return np.asarray(data.x_V, float), np.asarray(data.y_V, float)

    def pull(self) -> tuple[np.ndarray, np.ndarray]:
        """X and Y of the samples taken since the last pull, oldest first, V."""
        if not self.running:
            return np.empty(0), np.empty(0)
        data = self._need().read_stream()
        return np.asarray(data.x_V, float), np.asarray(data.y_V, float)


def clip(values: np.ndarray, limit: float) -> np.ndarray:
    """``values`` clipped to ``+-limit``."""
    return np.clip(values, -limit, limit)


def offset_expand(values: np.ndarray, sensitivity_V: float, offset_pct: float,
                  expand: int) -> np.ndarray:
    """An output as displayed and recorded: minus ``offset_pct`` % of full scale, clipped
    at the expanded full scale ``sensitivity_V / expand``."""
    shown = values - offset_pct / 100.0 * sensitivity_V
    return clip(shown, sensitivity_V / expand)


def magnitude_phase(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """R (V) and theta (degrees) of X, Y."""
    return np.hypot(x, y), np.degrees(np.arctan2(y, x))


def check_rate(rate_Hz: float, limit_Hz: float) -> None:
    """ExecutionError if an emulated buffer would have to sample faster than ``limit_Hz``."""
    if not math.isfinite(rate_Hz) or rate_Hz > limit_Hz * (1.0 + 1e-9):
        raise ExecutionError(f"capture rate {rate_Hz:g} Hz exceeds the emulator's limit "
                             f"{limit_Hz:g} Hz")
