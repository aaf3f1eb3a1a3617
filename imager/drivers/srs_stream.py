"""Buffered readout of the SRS lock-ins over the wire (fly scans): binary transfers and the
sample clock of :class:`~imager.devices.interfaces.StreamingLockIn`.

* :class:`BinaryVisaLink`: a :class:`~imager.drivers.visa_link.VisaLink` that also
  reads binary replies: ``count`` raw bytes (SR830 ``TRCB?``: float32, no header, no
  terminator) or an IEEE 488.2 definite-length block (SR860 ``CAPTUREGET?``:
  ``#nLLLL<data>``, no terminator). Reads take exactly the announced bytes, so a
  byte that happens to equal the read termination does not end them.
* :class:`Recording`: what a driver knows of the recording it started: rate, sample
  times (see below), how many samples it has handed out.

Sample times, in seconds since ``start_stream`` was called (the engine adds the lab
time at which it called it; :class:`~imager.devices.interfaces.StreamData`):

* rate-driven: ``t_k = d + k / rate``, where ``d`` is the time from the call to the
  middle of the round trip of the command that started the recording (the set-up
  commands before it take a few round trips); the instrument starts storing on its
  own sample clock, so ``d`` is uncertain by half that round trip (and the SR830's
  2 ms tick);
* one sample per trigger: the instrument does not time-stamp triggers, so every
  sample read gets the time of the read. Positions then come from counting the
  triggers (the k-th sample is the k-th position trigger), not from the times.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyvisa

from imager.devices.interfaces import StreamData
from imager.drivers.errors import InstrumentError
from imager.drivers.visa_link import VisaLink
from stages.interface import Clock


class BinaryVisaLink(VisaLink):
    """:class:`VisaLink` plus binary queries (same error translation and reconnection)."""

    def _read_bytes(self, command: str, count: int) -> bytes:
        self._ensure_connected()
        try:
            return bytes(self._res.read_bytes(count))
        except (pyvisa.errors.Error, OSError) as exc:
            raise self._fail(command, exc) from exc

    def query_bytes(self, command: str, count: int) -> bytes:
        """Send ``command`` and read exactly ``count`` bytes of binary reply."""
        self.write(command)
        return self._read_bytes(command, count)

    def query_block(self, command: str) -> bytes:
        """Send ``command`` and read an IEEE 488.2 definite-length block; return its data."""
        self.write(command)
        head = self._read_bytes(command, 2)
        if head[:1] != b"#" or not head[1:2].isdigit() or head[1:2] == b"0":
            raise InstrumentError(f"{self._where}: {command!r} did not answer a binary block "
                                  f"(got {head!r})")
        digits = self._read_bytes(command, int(head[1:2]))
        if not digits.isdigit():
            raise InstrumentError(f"{self._where}: bad block length {digits!r} from {command!r}")
        return self._read_bytes(command, int(digits))


def floats_le(data: bytes) -> np.ndarray:
    """float32 little-endian values of ``data``, as float64."""
    return np.frombuffer(data, dtype="<f4").astype(float)


@dataclass
class Recording:
    """A recording a driver started (see the module notes for the times).

    Attributes
    ----------
    rate_Hz : float or None
        Sample rate; None: one sample per trigger.
    t_call_s : float
        Driver clock when ``start_stream`` was called.
    delay_s : float
        ``d``: time from the call to the (estimated) first sample.
    taken : int
        Samples handed out by ``read_stream`` so far.
    running : bool
        Whether the driver has not stopped it.
    """

    rate_Hz: float | None
    t_call_s: float
    delay_s: float = 0.0
    taken: int = 0
    running: bool = True

    def times_s(self, count: int, clock: Clock) -> np.ndarray:
        """Times of the next ``count`` samples, s since the call."""
        if self.rate_Hz is None:
            return np.full(count, clock.now_s() - self.t_call_s)
        k = self.taken + np.arange(count)
        return self.delay_s + k / self.rate_Hz

    def data(self, x_V: np.ndarray, y_V: np.ndarray, clock: Clock) -> StreamData:
        """The next samples as :class:`StreamData`; counts them as handed out."""
        out = StreamData(self.times_s(len(x_V), clock), np.asarray(x_V, float),
                         np.asarray(y_V, float))
        self.taken += len(x_V)
        return out


def empty_stream() -> StreamData:
    """No samples."""
    return StreamData(np.empty(0), np.empty(0), np.empty(0))


def check_rate(rate_Hz: float | None, rates_Hz: tuple[float, ...], model: str) -> None:
    """ValueError naming the allowed rates unless ``rate_Hz`` is one (or None)."""
    if rate_Hz is None:
        return
    if not any(abs(float(rate_Hz) - r) <= 1e-9 * r for r in rates_Hz):
        listed = ", ".join(f"{r:g}" for r in rates_Hz)
        raise ValueError(f"stream rate_Hz {rate_Hz!r} is not a rate of the {model}: {listed} Hz")
