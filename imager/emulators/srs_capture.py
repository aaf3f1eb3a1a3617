"""SR860 capture buffer in the emulator: ``CAPTURECFG CAPTURELEN CAPTURERATE CAPTURERATEMAX?
CAPTURESTART CAPTURESTOP CAPTURESTAT? CAPTUREBYTES? CAPTUREPROG? CAPTUREVAL? CAPTUREGET?
TRIG`` and the output offsets ``COFP COFA CEXP`` [SR860 manual, ch. 4, data capture].

* ``CAPTURECFG X|XY|RT|XYRT`` (0-3): the values stored per sample, float32 each.
  Setting it (or the length) resets the capture system: empty buffer, status 0.
* ``CAPTURELEN n``: 1-4096 kB, odd n rounded up to even (2 kB blocks).
* ``CAPTURERATE n``: rate = ``CAPTURERATEMAX?`` / 2^n, 0 <= n <= 20; the query
  answers the rate in Hz. ``CAPTURERATEMAX?`` follows the time constant
  (:func:`imager.instruments.srs.sr860_capture_rate_max_Hz`, a model).
* ``CAPTURESTART ONEshot|CONTinuous, IMMediate|TRIGstart|SAMPpertrig`` (or 0-1,
  0-2): a new capture, now, at the next trigger, or one sample per trigger
  (``TRIG`` or :meth:`~imager.emulators.srs_lockin.SRSLockInEmulator.trigger_input`).
  One shot stops when the buffer is full; continuous wraps around.
* ``CAPTURESTAT?``: bit 0 capturing, bit 1 triggered, bit 2 wrapped (also at the end
  of a one-shot capture); 0 while waiting for the first trigger.
* ``CAPTUREBYTES?``: bytes captured (a wrapped continuous capture: length - 2048 +
  the bytes of the block being filled); ``CAPTUREPROG?``: kB in 2 kB steps, the
  length after a wrap (capture stopped, else an execution error).
* ``CAPTUREVAL? n``: sample n (0 = oldest) as ASCII; ``CAPTUREGET? i,j``: j <= 64 kB
  from offset i kB (wrapping at the length), capture stopped, as an IEEE 488.2
  definite-length block ``#nLLLL<data>`` of float32 little endian, no terminator.
  The unfilled part of the buffer reads 0 (QCoDeS drops those zeros).
* ``COFP j,x`` (offset %, -999.99 ... 999.99), ``COFA j,i`` (offset on/off), ``CEXP
  j,i`` (expand 1, 10, 100) for j = X, Y, R: captured X, Y, R are minus the offset
  when it is on and clip at sensitivity / expand; other outputs are unaffected.

An emulator limit, not the instrument's: a capture rate above
``max_capture_rate_Hz`` (20 kHz unless changed) is refused with an execution error
(every sample is computed in Python; see :mod:`imager.emulators.srs_buffer`).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from imager.emulators.srs_buffer import (
    BinaryReply,
    StreamFeed,
    check_rate,
    clip,
    ieee_block,
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
    to_index,
    to_int,
)
from imager.instruments import srs

IDLE, ARMED, RUNNING = "idle", "armed", "running"
_CAPTURING, _TRIGGERED, _WRAPPED = 1, 2, 4
_MODES = ("ONEshot", "CONTinuous")
_STARTS = ("IMMediate", "TRIGstart", "SAMPpertrig")
_OUTPUTS = ("X", "Y", "R")
_ON_OFF = ("OFF", "ON")
_EXPAND_TOKENS = ("OFF", "X10", "X100")


def _number(value: float) -> str:
    """A rate in Hz with every digit (``1250000``, ``4882.8125``)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class SR860Capture:
    """Mixin of :class:`~imager.emulators.sr860.SR860Emulator`: the capture buffer."""

    COMMANDS: ClassVar[dict[str, tuple[str, str]]] = {
        "CAPTURECFG": ("_h_capcfg", BOTH), "CAPTURELEN": ("_h_caplen", BOTH),
        "CAPTURERATE": ("_h_caprate", BOTH), "CAPTURERATEMAX": ("_h_capratemax", QUERY),
        "CAPTURESTART": ("_h_capstart", SET), "CAPTURESTOP": ("_h_capstop", SET),
        "CAPTURESTAT": ("_h_capstat", QUERY), "CAPTUREBYTES": ("_h_capbytes", QUERY),
        "CAPTUREPROG": ("_h_capprog", QUERY), "CAPTUREVAL": ("_h_capval", QUERY),
        "CAPTUREGET": ("_h_capget", QUERY), "TRIG": ("_h_trig", SET),
        "COFP": ("_h_cofp", BOTH), "COFA": ("_h_cofa", BOTH), "CEXP": ("_h_cexp", BOTH),
    }
    max_capture_rate_Hz: float = 20e3
    """Fastest capture the emulator accepts, Hz (see the module notes)."""

    backend: Any
    sensitivity_V: float
    time_constant_s: float
    _no_args: Any
    _one: Any

    # ------------------------------------------------------------ state
    def _capture_state(self) -> None:
        """Power-on / ``*RST`` state: XY, 256 kB, rate n = 0, no offsets, empty buffer."""
        feed = getattr(self, "feed", None)
        if feed is None:
            self.feed = StreamFeed(self.backend, srs.SR860_CAPTURE_RATES_Hz)
        else:
            feed.stop()
        self.capture_config = 1
        self.capture_length_kB = 256
        self.capture_divider = 0
        self.capture_mode = self.capture_start_mode = 0
        self.offsets = [[0.0, 0, 0] for _ in _OUTPUTS]  # offset %, expand index, on
        self._capture_reset()

    def _capture_reset(self) -> None:
        self.feed.stop()
        self.capture = bytearray(self.capture_length_kB * 1024)
        self.capture_pos = 0  # bytes written (mod the length once wrapped)
        self.capture_status = 0
        self.capture_state = IDLE

    @property
    def capture_rate_Hz(self) -> float:
        """Capture rate now: ``CAPTURERATEMAX?`` / 2^n, Hz."""
        return srs.sr860_capture_rate_max_Hz(self.time_constant_s) / 2.0**self.capture_divider

    def _sample_bytes(self) -> int:
        return 4 * len(srs.SR860_CAPTURE_CONFIGS[self.capture_config])

    def _pull_streams(self) -> None:
        if self.capture_state == RUNNING:
            self._capture_store(*self.feed.pull())

    def _capture_values(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Rows of the configured values of samples X, Y."""
        s = self.sensitivity_V
        x, y = clip(x, s), clip(y, s)
        r, theta = magnitude_phase(x, y)
        shown = [self._offset(i, v) for i, v in enumerate((x, y, r))]
        columns = {"X": shown[0], "Y": shown[1], "R": shown[2], "T": theta}
        names = srs.SR860_CAPTURE_CONFIGS[self.capture_config]
        return np.stack([columns[c] for c in names], axis=1)

    def _offset(self, output: int, values: np.ndarray) -> np.ndarray:
        pct, expand, on = self.offsets[output]
        return offset_expand(values, self.sensitivity_V, pct if on else 0.0,
                             srs.EXPANDS[int(expand)])

    def _capture_store(self, x: np.ndarray, y: np.ndarray) -> None:
        if x.size == 0:
            return
        data = self._capture_values(x, y).astype("<f4").tobytes()
        size = len(self.capture)
        one_shot = self.capture_mode == 0
        if one_shot:
            data = data[: size - self.capture_pos]
        start = self.capture_pos % size
        if len(data) > size:  # continuous, more than a whole buffer since the last pull
            start = (start + len(data) - size) % size
            data = data[-size:]
        first = min(len(data), size - start)
        self.capture[start:start + first] = data[:first]
        self.capture[: len(data) - first] = data[first:]
        if start + len(data) >= size:
            self.capture_status |= _WRAPPED
        self.capture_pos = (start + len(data)) % size if not one_shot else start + len(data)
        if one_shot and self.capture_pos >= size:
            self.feed.stop()
            self.capture_state = IDLE
            self.capture_status &= ~_CAPTURING

    def _capture_begin(self) -> None:
        rate = self.capture_rate_Hz
        check_rate(rate, self.max_capture_rate_Hz)
        self.feed.start(rate, capacity=self._capacity())
        self.capture_state = RUNNING
        self.capture_status |= _CAPTURING | _TRIGGERED

    def _capacity(self) -> int:
        if self.capture_mode == 1:
            return StreamFeed.UNLIMITED
        return len(self.capture) // self._sample_bytes()

    def _trigger(self) -> None:
        self._pull_streams()
        if self.capture_state == ARMED:
            self._capture_begin()
        elif self.capture_state == RUNNING and self.capture_start_mode == 2:
            self.feed.trigger()
            self.capture_status |= _CAPTURING | _TRIGGERED
            self._pull_streams()

    def _idle(self, what: str) -> None:
        if self.capture_state != IDLE:
            raise ExecutionError(f"{what} while a capture is running")

    # ------------------------------------------------------------ commands
    def _h_capcfg(self, c: Command) -> str | None:
        if c.query:
            self._no_args(c)
            return str(self.capture_config)
        self._idle("CAPTURECFG")
        self.capture_config = to_index(self._one(c), len(srs.SR860_CAPTURE_CONFIGS),
                                       srs.SR860_CAPTURE_CONFIGS)
        self._capture_reset()
        return None

    def _h_caplen(self, c: Command) -> str | None:
        if c.query:
            self._no_args(c)
            return str(self.capture_length_kB)
        self._idle("CAPTURELEN")
        n = to_int(self._one(c), *srs.SR860_CAPTURE_LENGTH_KB)
        self.capture_length_kB = n + n % 2
        self._capture_reset()
        return None

    def _h_caprate(self, c: Command) -> str | None:
        if c.query:
            self._no_args(c)
            return _number(self.capture_rate_Hz)
        self.capture_divider = to_int(self._one(c), 0, srs.SR860_CAPTURE_DIVIDER_MAX)
        return None

    def _h_capratemax(self, c: Command) -> str:
        self._no_args(c)
        return _number(srs.sr860_capture_rate_max_Hz(self.time_constant_s))

    def _h_capstart(self, c: Command) -> None:
        if len(c.args) != 2:
            raise CommandError("CAPTURESTART needs i,j")
        mode = to_index(c.args[0], len(_MODES), _MODES)
        start = to_index(c.args[1], len(_STARTS), _STARTS)
        if start != 2:
            check_rate(self.capture_rate_Hz, self.max_capture_rate_Hz)
        self._capture_reset()
        self.capture_mode, self.capture_start_mode = mode, start
        if start == 0:
            self._capture_begin()
        elif start == 1:
            self.capture_state = ARMED
        else:
            self.feed.start(None, capacity=self._capacity())
            self.capture_state = RUNNING

    def _h_capstop(self, c: Command) -> None:
        self._no_args(c)
        if self.capture_state == RUNNING:
            self._capture_store(*self.feed.stop())
        self.feed.stop()
        self.capture_state = IDLE
        self.capture_status &= ~_CAPTURING

    def _h_capstat(self, c: Command) -> str:
        self._no_args(c)
        return str(self.capture_status)

    def _captured_bytes(self) -> int:
        size = len(self.capture)
        if not self.capture_status & _WRAPPED:
            return self.capture_pos
        if self.capture_state == RUNNING and self.capture_mode == 1:
            return size - srs.SR860_CAPTURE_BLOCK_BYTES + self.capture_pos % (
                srs.SR860_CAPTURE_BLOCK_BYTES)
        return size

    def _h_capbytes(self, c: Command) -> str:
        self._no_args(c)
        return str(self._captured_bytes())

    def _h_capprog(self, c: Command) -> str:
        self._no_args(c)
        self._idle("CAPTUREPROG?")
        if self.capture_status & _WRAPPED:
            return str(self.capture_length_kB)
        return str(2 * math.ceil(self.capture_pos / srs.SR860_CAPTURE_BLOCK_BYTES))

    def _h_capval(self, c: Command) -> str:
        width = self._sample_bytes()
        count = len(self.capture) // width
        n = to_int(self._one(c), 0, count - 1)
        if self.capture_status & _WRAPPED and self.capture_mode == 1:
            n = (self.capture_pos // width + n) % count
        row = np.frombuffer(bytes(self.capture[n * width:(n + 1) * width]), dtype="<f4")
        return ",".join(format_value(float(v)) for v in row)

    def _h_capget(self, c: Command) -> BinaryReply:
        if len(c.args) != 2:
            raise CommandError("CAPTUREGET? needs i,j")
        offset_kB = to_int(c.args[0], 0, self.capture_length_kB - 1)
        length_kB = to_int(c.args[1], 1, srs.SR860_CAPTUREGET_MAX_KB)
        self._idle("CAPTUREGET?")
        size = len(self.capture)
        index = (offset_kB * 1024 + np.arange(length_kB * 1024)) % size
        data = np.frombuffer(bytes(self.capture), dtype=np.uint8)[index].tobytes()
        return BinaryReply(ieee_block(data))

    def _h_trig(self, c: Command) -> None:
        self._no_args(c)
        self._trigger()

    def _output(self, c: Command) -> tuple[int, str | None]:
        """``j`` (X, Y, R) and the value argument of an offset command (None: query)."""
        if c.query:
            return to_index(self._one(c), len(_OUTPUTS), _OUTPUTS), None
        if len(c.args) != 2:
            raise CommandError(f"{c.name} needs j,x")
        return to_index(c.args[0], len(_OUTPUTS), _OUTPUTS), c.args[1]

    def _h_cofp(self, c: Command) -> str | None:
        j, arg = self._output(c)
        if arg is None:
            return format_setting(self.offsets[j][0])
        pct = to_float(arg)
        lo, hi = srs.SR860_OFFSET_RANGE_PCT
        if not lo <= pct <= hi:
            raise ExecutionError(f"offset {pct} % outside [{lo}, {hi}]")
        self.offsets[j][0] = round(pct, 2)
        return None

    def _h_cofa(self, c: Command) -> str | None:
        j, arg = self._output(c)
        if arg is None:
            return str(self.offsets[j][2])
        self.offsets[j][2] = to_index(arg, 2, _ON_OFF)
        return None

    def _h_cexp(self, c: Command) -> str | None:
        j, arg = self._output(c)
        if arg is None:
            return str(self.offsets[j][1])
        self.offsets[j][1] = to_index(arg, len(srs.EXPANDS), _EXPAND_TOKENS)
        return None
