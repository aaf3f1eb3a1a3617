"""Stanford Research Systems SR830 lock-in amplifier driver (pyvisa).

Tables, ranges and status bits: :data:`imager.instruments.srs.SR830`
(sensitivity index 0 = 2 nV ... 26 = 1 V, time constant 0 = 10 us ... 19 =
30 ks; reference source ``FMOD`` 0 external, 1 internal; ``SNAP?1,2`` samples
X and Y at one instant; ``LIAS?`` bits 0-3 are
:class:`~imager.devices.interfaces.LockInStatus` as they are).

Interfaces: the SR830 answers on the interface chosen by ``OUTX`` (0 RS-232,
1 GPIB); the driver sends ``OUTX 0`` on serial (ASRL) addresses and ``OUTX 1``
on all others (GPIB, GPIB adapters, GPIB-LAN bridges on ``TCPIP`` sockets).
Its RS-232 replies end with ``\\r``; the default terminations are ``\\r`` for
ASRL and ``\\n`` elsewhere.

Buffered readout (:class:`~imager.devices.interfaces.StreamingLockIn`): the data
buffer holds the CH1 and CH2 displays, which ``start_stream`` sets to X and Y
without offset or expand (``DDEF 1,0,0``, ``DDEF 2,0,0``, ``OEXP 1,0,0``,
``OEXP 2,0,0``; a user's offsets are cleared), one shot (``SEND 0``, 16383
points), at ``SRAT`` 0-13 or ``SRAT 14`` (one point per trigger), then ``STRT``.
``read_stream`` asks ``SPTS?`` and reads the new points with ``TRCB?`` (float32).
"""

from __future__ import annotations

from imager.devices.interfaces import StreamData
from imager.drivers.errors import InstrumentError
from imager.drivers.srs_lockin import SRSLockIn
from imager.drivers.srs_settings import lockin_settings
from imager.drivers.srs_stream import check_rate, empty_stream, floats_le
from imager.instruments import srs


class SR830(SRSLockIn):
    """SR830 over any VISA address; see :class:`~imager.drivers.srs_lockin.SRSLockIn`.

    Examples
    --------
    >>> lia = SR830("GPIB0::8::INSTR")                        # doctest: +SKIP
    >>> lia.time_constant_s = 0.03; lia.sensitivity_V = 1e-3  # doctest: +SKIP
    >>> lia.read_xy()                                         # doctest: +SKIP
    LockInReading(x_V=..., y_V=..., status=<LockInStatus.OK: 0>)
    """

    SPEC = srs.SR830
    SETTINGS = lockin_settings(srs.SR830)
    STOP_STREAM_COMMAND = "PAUS"
    stream_rates_Hz: tuple[float, ...] = srs.SR830_BUFFER_RATES_Hz
    """Data buffer rates (``SRAT`` 0-13), Hz."""
    stream_capacity: int = srs.SR830_BUFFER_POINTS
    """Points the data buffer holds (one shot)."""

    @classmethod
    def default_terminations(cls, interface: str) -> tuple[str, str]:
        """``("\\r", "\\r")`` on serial, ``("\\n", "\\n")`` elsewhere."""
        return ("\r", "\r") if interface == "ASRL" else ("\n", "\n")

    def _initialise(self) -> None:
        self._link.write("OUTX 0" if self._link.interface == "ASRL" else "OUTX 1")
        super()._initialise()

    # ------------------------------------------------------------ buffered readout
    def start_stream(self, rate_Hz: float | None) -> None:
        """Erase the data buffer and store X and Y at ``rate_Hz`` (one of
        :attr:`stream_rates_Hz`) or, with None, one point per trigger (``SRAT 14``).

        Raises
        ------
        ValueError
            If ``rate_Hz`` is not a rate of the SR830.
        """
        check_rate(rate_Hz, self.stream_rates_Hz, self.MODEL)
        t_call = self._clock.now_s()
        srat = srs.SR830_SRAT_TRIGGER if rate_Hz is None else min(
            range(len(self.stream_rates_Hz)), key=lambda i: abs(self.stream_rates_Hz[i] - rate_Hz))
        self.write(f"REST;SRAT {srat};SEND 0;TSTR 0;DDEF 1,0,0;DDEF 2,0,0;OEXP 1,0,0;OEXP 2,0,0")
        self._start_recording(rate_Hz, t_call, "STRT")

    def read_stream(self) -> StreamData:
        """The points stored since the last read (``SPTS?``, ``TRCB?``), oldest first.

        Raises
        ------
        InstrumentError
            If the buffer holds fewer points than were read (it was reset).
        """
        rec = self._recording
        if rec is None:
            return empty_stream()
        stored = self._link.query_int("SPTS?")
        new = stored - rec.taken
        if new < 0:
            raise InstrumentError(f"{self.MODEL} at {self.address}: the data buffer holds "
                                  f"{stored} points, {rec.taken} were read: it was reset")
        if new == 0:
            return empty_stream()
        x, y = (floats_le(self._link.query_bytes(f"TRCB? {ch},{rec.taken},{new}", 4 * new))
                for ch in (1, 2))
        return rec.data(x, y, self._clock)
