"""SR830 data buffer in the emulator: ``SRAT SEND TSTR STRT STRD PAUS REST TRIG SPTS?
TRCA? TRCB? TRCL? FAST OEXP`` [SR830 manual, ch. 5, data storage and transfer].

The buffer stores the two display channels (``DDEF``: CH1 X, R, X noise, Aux 1, Aux 2;
CH2 Y, theta, Y noise, Aux 3, Aux 4), 16383 points each, at ``SRAT`` 0-13
(62.5 mHz x 2^i ... 512 Hz) or, at ``SRAT 14``, one point per trigger (``TRIG`` or
:meth:`SR830DataBuffer.trigger_input`, a pulse on the rear-panel TRIG IN). ``SEND 0``
stops storing when the buffer is full, ``SEND 1`` (loop) overwrites the oldest points.
Displays of X, Y and R show the output minus the ``OEXP`` offset (percent of full
scale) and clip at the expanded full scale (sensitivity / expand); theta is as it is;
noise, aux and ratio displays are not simulated (0). ``OUTP?`` and ``SNAP? 1-4`` are
not affected by offsets.

Scan states: reset (empty), running, paused, done (one shot, full). ``STRT`` starts or
resumes (ignored while running or done); ``STRD`` does the same after 0.5 s;
``PAUS`` pauses; ``REST`` erases. With ``TSTR 1`` and a rate (``SRAT`` 0-13) a
trigger starts (or resumes) the scan too; at ``SRAT 14`` a trigger stores a point
while the scan runs (a scan is started with ``STRT``), and is ignored otherwise.
A change of ``SRAT`` or ``SEND`` applies from the next start. The instrument takes a triggered
point on its next 512 Hz tick (within 2 ms); here it is taken at once.

Transfers, ``i`` = channel 1 or 2, ``j`` = first point (0 = oldest), ``k`` = count,
``j + k <= SPTS?`` (else an execution error and no reply):

* ``TRCA? i,j,k``: ASCII, each value followed by a comma (the last one too;
  pyvisa's ``query_ascii_values`` drops the empty tail);
* ``TRCB? i,j,k``: IEEE 754 float32, LSB first, 4k bytes, no header, no terminator;
* ``TRCL? i,j,k``: non-normalised, int16 mantissa + int16 exponent, LSB first,
  value = m * 2^(e - 124), 4k bytes, no terminator.

``FAST 0|1|2`` is stored: the emulator never streams binary points by itself (on
the instrument that is a GPIB-only mode; PyMeasure's ``buffer_measure`` sends
``FAST2;STRD`` and then reads the buffer with ``TRCB?``, which works here).
"""

from __future__ import annotations

import struct
from typing import Any, ClassVar

import numpy as np

from imager.emulators.srs_buffer import (
    BinaryReply,
    StreamFeed,
    clip,
    magnitude_phase,
    offset_expand,
)
from imager.emulators.srs_status import BOTH, QUERY, SET
from imager.emulators.srs_syntax import (
    Command,
    CommandError,
    ExecutionError,
    format_setting,
    format_value,
    to_float,
    to_int,
)
from imager.instruments import srs

RESET, RUNNING, PAUSED, DONE = "reset", "running", "paused", "done"


class SR830DataBuffer:
    """Mixin of :class:`~imager.emulators.sr830.SR830Emulator`: the data buffer and offsets."""

    COMMANDS: ClassVar[dict[str, tuple[str, str]]] = {
        "STRT": ("_h_strt", SET), "STRD": ("_h_strt", SET), "PAUS": ("_h_paus", SET),
        "REST": ("_h_rest", SET), "TRIG": ("_h_trig", SET), "SPTS": ("_h_spts", QUERY),
        "TRCA": ("_h_trace", QUERY), "TRCB": ("_h_trace", QUERY), "TRCL": ("_h_trace", QUERY),
        "OEXP": ("_h_oexp", BOTH),
    }
    BUFFER_POINTS: ClassVar[int] = srs.SR830_BUFFER_POINTS

    values: dict[str, float]
    backend: Any
    ddef: list[list[int]]
    sensitivity_V: float
    _no_args: Any

    # ------------------------------------------------------------ state
    def _buffer_state(self) -> None:
        """Power-on / ``*RST`` state of the buffer and offsets (an empty, reset buffer)."""
        feed = getattr(self, "feed", None)
        if feed is None:
            self.feed = StreamFeed(self.backend, srs.SR830_BUFFER_RATES_Hz)
        else:
            feed.stop()
        self.offsets = [[0.0, 0], [0.0, 0], [0.0, 0]]  # X, Y, R: offset %, expand index
        self._erase()

    def _erase(self) -> None:
        self.data = np.zeros((self.BUFFER_POINTS, 2))
        self.count = 0  # points stored (at most BUFFER_POINTS)
        self.head = 0  # where the next point goes
        self.scan = RESET

    def _pull_streams(self) -> None:
        """Store the points the backend took since the last pull."""
        if self.scan == RUNNING:
            self._store(*self.feed.pull())

    def _store(self, x: np.ndarray, y: np.ndarray) -> None:
        if x.size == 0:
            return
        rows = self._displays(x, y)
        loop = int(self.values["SEND"]) == 1
        if not loop:
            rows = rows[: self.BUFFER_POINTS - self.count]
        n, size = len(rows), self.BUFFER_POINTS
        end = (self.head + n) % size
        if n > size:  # loop mode, more than a whole buffer since the last pull
            rows = rows[-size:]
        self.data[(end - len(rows) + np.arange(len(rows))) % size] = rows
        self.head = int(end)
        self.count = min(size, self.count + n)
        if not loop and self.count >= size:
            self.feed.stop()
            self.scan = DONE

    def _displays(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """CH1 and CH2 display values of samples X, Y (rows)."""
        s = self.sensitivity_V
        x, y = clip(x, s), clip(y, s)
        r, theta = magnitude_phase(x, y)
        shown = {(0, 0): lambda: self._offset(0, x), (0, 1): lambda: self._offset(2, r),
                 (1, 0): lambda: self._offset(1, y), (1, 1): lambda: theta}
        out = np.zeros((x.size, 2))
        for ch in (0, 1):
            kind, ratio = self.ddef[ch]
            if ratio == 0 and (ch, kind) in shown:  # noise, aux, ratio: not simulated (0)
                out[:, ch] = shown[ch, kind]()
        return out

    def _offset(self, output: int, values: np.ndarray) -> np.ndarray:
        """``values`` of output 0 X, 1 Y, 2 R with that output's offset and expand."""
        pct, expand = self.offsets[output]
        return offset_expand(values, self.sensitivity_V, pct, srs.EXPANDS[int(expand)])

    def display_value(self, channel: int, x_V: float, y_V: float) -> float:
        """What display ``channel`` (1 or 2) shows for outputs X, Y."""
        return float(self._displays(np.array([x_V]), np.array([y_V]))[0, channel - 1])

    def _start(self, delay_s: float = 0.0) -> None:
        srat = int(self.values["SRAT"])
        loop = int(self.values["SEND"]) == 1
        capacity = StreamFeed.UNLIMITED if loop else self.BUFFER_POINTS - self.count
        if srat == srs.SR830_SRAT_TRIGGER:
            self.feed.start(None, capacity=capacity)
        else:
            self.feed.start(srs.SR830_BUFFER_RATES_Hz[srat], capacity=capacity, delay_s=delay_s)
        self.scan = RUNNING

    def _trigger(self) -> None:
        """A trigger (``TRIG`` or TRIG IN): store a point, or start a ``TSTR 1`` scan."""
        self._pull_streams()
        triggered = int(self.values["SRAT"]) == srs.SR830_SRAT_TRIGGER
        if triggered and self.scan == RUNNING:
            self.feed.trigger()
            self._pull_streams()
        elif not triggered and int(self.values["TSTR"]) == 1 and self.scan in (RESET, PAUSED):
            self._start()

    # ------------------------------------------------------------ commands
    def _h_strt(self, c: Command) -> None:
        self._no_args(c)
        if self.scan in (RESET, PAUSED):
            self._start(srs.SR830_STRD_DELAY_S if c.name == "STRD" else 0.0)

    def _h_paus(self, c: Command) -> None:
        self._no_args(c)
        if self.scan == RUNNING:
            self._store(*self.feed.stop())
            if self.scan == RUNNING:
                self.scan = PAUSED

    def _h_rest(self, c: Command) -> None:
        self._no_args(c)
        self.feed.stop()
        self._erase()

    def _h_trig(self, c: Command) -> None:
        self._no_args(c)
        self._trigger()

    def _h_spts(self, c: Command) -> str:
        self._no_args(c)
        return str(self.count)

    def _h_trace(self, c: Command) -> str:
        if len(c.args) != 3:
            raise CommandError(f"{c.name}? needs i,j,k")
        channel = to_int(c.args[0], 1, 2)
        first = to_int(c.args[1], 0, self.BUFFER_POINTS - 1)
        n = to_int(c.args[2], 1, self.BUFFER_POINTS)
        if first + n > self.count:
            raise ExecutionError(f"{c.name}? {first}+{n} points beyond the {self.count} stored")
        oldest = (self.head - self.count) % self.BUFFER_POINTS
        values = self.data[(oldest + first + np.arange(n)) % self.BUFFER_POINTS, channel - 1]
        if c.name == "TRCA":
            return "".join(f"{format_value(v)}," for v in values.tolist())
        if c.name == "TRCB":
            return BinaryReply(struct.pack(f"<{n}f", *values.tolist()))
        return BinaryReply(srs.sr830_trcl_encode(values))

    def _h_oexp(self, c: Command) -> str | None:
        """``OEXP i,x,j``: offset x % and expand j of output i (1 X, 2 Y, 3 R)."""
        if c.query:
            if len(c.args) != 1:
                raise CommandError("OEXP? needs i")
            pct, expand = self.offsets[to_int(c.args[0], 1, 3) - 1]
            return f"{format_setting(round(pct, 2))},{expand}"
        if len(c.args) != 3:
            raise CommandError("OEXP needs i,x,j")
        output = to_int(c.args[0], 1, 3) - 1
        pct = to_float(c.args[1])
        lo, hi = srs.SR830_OFFSET_RANGE_PCT
        if not lo <= pct <= hi:
            raise ExecutionError(f"offset {pct} % outside [{lo}, {hi}]")
        self.offsets[output] = [round(pct, 2), to_int(c.args[2], 0, len(srs.EXPANDS) - 1)]
        return None
