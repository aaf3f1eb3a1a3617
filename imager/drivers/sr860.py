"""Stanford Research Systems SR860 lock-in amplifier driver (pyvisa).

Tables, ranges and status bits: :data:`imager.instruments.srs.SR860`
(sensitivity index 0 = 1 V ... 27 = 1 nV, the reverse of the SR830's order;
time constant 0 = 1 us ... 21 = 30 ks; reference source ``RSRC`` 0 internal,
1 external, 2 dual, 3 chop; ``SNAP? 0,1`` samples X and Y at one instant).

``LIAS?`` (latched) and ``CUROVLDSTAT?`` (current) bits used here: 0 CH1
output overload, 1 CH2 output overload, 3 external reference unlock, 4 input
range overload; mapped to :class:`~imager.devices.interfaces.LockInStatus`
as OUTPUT_OVERLOAD (0 or 1), REFERENCE_UNLOCK (3) and INPUT_OVERLOAD (4).
Replies end with ``\\n`` on every interface.

Buffered readout (:class:`~imager.devices.interfaces.StreamingLockIn`): the capture
buffer, X and Y (``CAPTURECFG XY``), 4096 kB (524288 samples), offsets off and no
expand (``COFA j,0``, ``CEXP j,0``), one shot, ``CAPTURESTART ONE,IMM`` at a rate
``CAPTURERATEMAX?`` / 2^n (the maximum follows the time constant, so
:attr:`SR860.stream_rates_Hz` does too) or ``ONE,SAMP``, one sample per trigger.
``read_stream`` after ``stop_stream`` reads the new samples with ``CAPTUREGET?``
(binary, 64 kB per query); while capturing the instrument refuses ``CAPTUREGET?``,
so it reads them one by one with ``CAPTUREVAL?`` (a round trip each: read a running
capture sparingly).
"""

from __future__ import annotations

import math

import numpy as np

from imager.devices.interfaces import LockInStatus, StreamData
from imager.drivers.errors import InstrumentError
from imager.drivers.srs_lockin import SRSLockIn
from imager.drivers.srs_settings import Setting, Table, lockin_settings
from imager.drivers.srs_stream import check_rate, empty_stream, floats_le
from imager.instruments import srs

_XY_BYTES = 8  # one XY sample: two float32
_CAPTURE_KB = srs.SR860_CAPTURE_LENGTH_KB[1]


class SR860(SRSLockIn):
    """SR860 over any VISA address; see :class:`~imager.drivers.srs_lockin.SRSLockIn`.

    Besides the common settings it has ``input_range_V`` (``IRNG``: the voltage
    input range, peak, 1 V ... 10 mV; set: rounds up), restored after a
    reconnection and recorded in :meth:`settings`.
    """

    SPEC = srs.SR860
    STOP_STREAM_COMMAND = "CAPTURESTOP"
    SETTINGS = (
        *lockin_settings(srs.SR860),
        Setting("input_range_V", "IRNG", Table(srs.SR860.input_ranges_V),
                "Voltage input range (peak), V: 1, 0.3, 0.1, 0.03 or 0.01 (set: rounds up)."),
    )
    input_range_V: float
    stream_capacity: int = _CAPTURE_KB * 1024 // _XY_BYTES
    """XY samples the capture buffer holds at its largest length."""

    def current_status(self) -> LockInStatus:
        """Overload/unlock state right now (``CUROVLDSTAT?``, not latched)."""
        return self.decode_status(self._link.query_int("CUROVLDSTAT?"))

    stream_rates_Hz: tuple[float, ...] = ()
    """Capture rates at the time constant, ascending, Hz: ``CAPTURERATEMAX?`` / 2^n, asked
    when the driver connects, sets the time constant or starts a recording."""

    def _initialise(self) -> None:
        super()._initialise()
        self._refresh_rates()

    def _refresh_rates(self) -> None:
        top = self._link.query_float("CAPTURERATEMAX?")
        self.stream_rates_Hz = tuple(
            top / 2.0**n for n in range(srs.SR860_CAPTURE_DIVIDER_MAX, -1, -1))

    def set_setting(self, setting: Setting, value: object) -> None:
        """Send one declared setting; a new time constant changes the capture rates."""
        super().set_setting(setting, value)
        if setting.command == "OFLT":
            self._refresh_rates()

    def _restore_after_reconnect(self) -> None:
        super()._restore_after_reconnect()
        self._refresh_rates()

    # ------------------------------------------------------------ buffered readout

    def start_stream(self, rate_Hz: float | None) -> None:
        """Capture X and Y from now at ``rate_Hz`` (one of :attr:`stream_rates_Hz`) or,
        with None, one sample per trigger.

        Raises
        ------
        ValueError
            If ``rate_Hz`` is not a capture rate at the present time constant.
        """
        t_call = self._clock.now_s()
        divider = 0
        if rate_Hz is not None:
            self._refresh_rates()  # the time constant may have changed at the front panel
            rates = self.stream_rates_Hz
            check_rate(rate_Hz, rates, self.MODEL)
            divider = round(math.log2(rates[-1] / rate_Hz))
        self.write(f"CAPTURESTOP;CAPTURECFG XY;CAPTURELEN {_CAPTURE_KB};CAPTURERATE {divider};"
                   "COFA 0,0;COFA 1,0;CEXP 0,0;CEXP 1,0")
        start = "IMM" if rate_Hz is not None else "SAMP"
        self._start_recording(rate_Hz, t_call, f"CAPTURESTART ONE,{start}")

    def read_stream(self) -> StreamData:
        """The samples captured since the last read, oldest first.

        Raises
        ------
        InstrumentError
            If the buffer holds fewer samples than were read (it was reset).
        """
        rec = self._recording
        if rec is None:
            return empty_stream()
        stored = self._link.query_int("CAPTUREBYTES?") // _XY_BYTES
        new = stored - rec.taken
        if new < 0:
            raise InstrumentError(f"{self.MODEL} at {self.address}: the capture buffer holds "
                                  f"{stored} samples, {rec.taken} were read: it was reset")
        if new == 0:
            return empty_stream()
        if rec.running and self._link.query_int("CAPTURESTAT?") & 1:
            rows = np.array([self._link.query_floats(f"CAPTUREVAL? {k}", 2)
                             for k in range(rec.taken, stored)])
        else:
            rows = self._capture_get(rec.taken * _XY_BYTES, stored * _XY_BYTES).reshape(-1, 2)
        return rec.data(rows[:, 0], rows[:, 1], self._clock)

    def _capture_get(self, first_byte: int, end_byte: int) -> np.ndarray:
        """Capture buffer bytes ``[first_byte, end_byte)`` as floats (``CAPTUREGET?``)."""
        first_kB, end_kB = first_byte // 1024, math.ceil(end_byte / 1024)
        chunks = []
        for offset in range(first_kB, end_kB, srs.SR860_CAPTUREGET_MAX_KB):
            size = min(srs.SR860_CAPTUREGET_MAX_KB, end_kB - offset)
            chunks.append(self._link.query_block(f"CAPTUREGET? {offset},{size}"))
        data = b"".join(chunks)[first_byte - first_kB * 1024:end_byte - first_kB * 1024]
        return floats_le(data)
