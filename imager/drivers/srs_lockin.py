"""Shared driver logic of the SRS SR830 and SR860 lock-in amplifiers (over pyvisa).

The two models share most of their command set; they differ in the index
tables (the SR860's sensitivity order is reversed), the reference-source
command, the ``SNAP?`` parameter numbering and the LIA status bits, all of
which come from :mod:`imager.instruments.srs` (the model's
:class:`~imager.instruments.srs.LockInModel`, ``SPEC``).

Settings are declared once, as a table of
:class:`~imager.drivers.srs_settings.Setting` (the way PyMeasure's
``Instrument.control`` declares a property; :mod:`imager.drivers.srs_settings`):
each row gives the property (its name carries the unit), the command, how a
value goes over the wire and whether it is restored after a reconnection.
From that one table come the properties, :meth:`SRSLockIn.settings` and the
restore list.

Every setting property reads from or writes to the instrument (no cache).
Setters snap to the instrument's tables: time constant and sensitivity round
*up* to the next available value (so a requested range always fits), and each
set is sent as ``"<command>;*ESR?"``; a set the instrument rejects (execution
or command error bit) raises :class:`~imager.drivers.errors.InstrumentError`.

Reconnection: the driver remembers the state it expects of the instrument
(the settings read when it connected, updated by every accepted set). When
the connection is lost (:class:`~imager.drivers.visa_link.VisaLink`: a closed
socket, a vanished serial port), the failing call raises; the next one opens
the address again, re-selects the interface and clears the status
(``_initialise``), reads every remembered setting back and re-sends those that
differ (an instrument that was power-cycled or reset), then carries on.

Buffered readout (:class:`~imager.devices.interfaces.StreamingLockIn`, fly scans):
the models implement ``start_stream`` / ``read_stream`` over the SR830's data buffer
and the SR860's capture buffer; the binary transfers and sample times are in
:mod:`imager.drivers.srs_stream`. A recording is not restored after a reconnection
(a power-cycled instrument has lost its buffer): ``read_stream`` then raises.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import pyvisa

from imager.devices.interfaces import LockInReading, LockInStatus, Settings
from imager.drivers.errors import InstrumentError
from imager.drivers.srs_settings import ALWAYS, WITH_INTERNAL_REFERENCE, Setting
from imager.drivers.srs_stream import BinaryVisaLink, Recording
from imager.drivers.visa_link import VisaLink, interface_type
from imager.instruments import srs
from stages.clock import WallClock
from stages.interface import Clock

_ESR_EXE, _ESR_CMD = 1 << 4, 1 << 5


def _same_setting(reply: str, value: str) -> bool:
    """Whether an instrument's reply equals a remembered setting (numbers within 1e-5)."""
    try:
        return math.isclose(float(reply), float(value), rel_tol=1e-5, abs_tol=1e-9)
    except ValueError:
        return reply.strip().upper() == value.strip().upper()


class SRSLockIn:
    """Base driver; implements :class:`imager.devices.interfaces.LockIn`.

    A model subclass sets ``SPEC`` (its :class:`~imager.instruments.srs.LockInModel`)
    and ``SETTINGS`` (its :class:`Setting` table); the properties are made from
    the table when the subclass is defined.

    Parameters
    ----------
    address : str
        VISA address (GPIB, USB, ASRL serial or pty, TCPIP socket/INSTR).
    timeout_s : float
        I/O timeout; a query without reply raises
        :class:`~imager.drivers.errors.InstrumentTimeoutError`.
    resource_manager : pyvisa.ResourceManager, optional
        Shared manager; default: a new one on ``backend``.
    backend : str
        pyvisa backend when no manager is given (``"@py"``: pyvisa-py).
    read_termination, write_termination : str, optional
        Override the model's defaults for the interface.
    baud_rate : int, optional
        Serial baud rate (ASRL only).
    sleep : callable
        ``sleep(seconds)`` used while waiting for the filter to settle.
    read_status : bool
        Whether :meth:`read_xy` also queries ``LIAS?`` (one more round trip).
    clock : Clock, optional
        Host clock of the buffered readout's sample times (``now_s()``); default a
        wall clock.

    Attributes
    ----------
    sensitivities_V : tuple of float
        The model's full scales, ascending (the ladder the engine re-ranges on).
    """

    SPEC: ClassVar[srs.LockInModel]
    SETTINGS: ClassVar[tuple[Setting, ...]] = ()
    MODEL: ClassVar[str] = ""
    SENSITIVITIES_V: ClassVar[tuple[float, ...]] = ()
    TIME_CONSTANTS_S: ClassVar[tuple[float, ...]] = ()
    SENSITIVITY_COMMAND: ClassVar[str] = ""
    REFERENCE_COMMAND: ClassVar[str] = ""
    REFERENCE_SOURCES: ClassVar[Mapping[str, int]] = {}
    SNAP_XY: ClassVar[str] = ""
    sensitivities_V: ClassVar[tuple[float, ...]] = ()

    # made from SETTINGS (see __init_subclass__)
    time_constant_s: float
    sensitivity_V: float
    filter_slope_dB_per_oct: int
    reference_phase_deg: float
    reference_source: str
    reference_frequency_Hz: float
    harmonic: int

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        spec = cls.SPEC
        cls.MODEL, cls.SNAP_XY = spec.name, spec.snap_xy
        cls.SENSITIVITIES_V, cls.TIME_CONSTANTS_S = spec.sensitivities_V, spec.time_constants_s
        cls.SENSITIVITY_COMMAND = spec.sensitivity_command
        cls.REFERENCE_COMMAND, cls.REFERENCE_SOURCES = (spec.reference_command,
                                                        spec.reference_sources)
        cls.sensitivities_V = spec.ladder_V
        for setting in cls.SETTINGS:
            setattr(cls, setting.name, setting.as_property())

    def __init__(
        self,
        address: str,
        *,
        timeout_s: float = 2.0,
        resource_manager: pyvisa.ResourceManager | None = None,
        backend: str = "@py",
        read_termination: str | None = None,
        write_termination: str | None = None,
        baud_rate: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
        read_status: bool = True,
        clock: Clock | None = None,
    ) -> None:
        default_read, default_write = self.default_terminations(interface_type(address))
        self._clock: Clock = clock if clock is not None else WallClock()
        self._recording: Recording | None = None
        self._link = BinaryVisaLink(
            address,
            name=self.MODEL,
            read_termination=default_read if read_termination is None else read_termination,
            write_termination=default_write if write_termination is None else write_termination,
            timeout_s=timeout_s,
            resource_manager=resource_manager,
            backend=backend,
            baud_rate=baud_rate,
        )
        self._sleep = sleep
        self.read_status = bool(read_status)
        self.restored_after_reconnect: tuple[str, ...] = ()
        try:
            self._initialise()
            self._expected = self._read_restorable()
        except BaseException:
            self._link.close()
            raise
        self._link.on_reconnect = self._restore_after_reconnect

    # ------------------------------------------------------------ model hooks
    @classmethod
    def default_terminations(cls, interface: str) -> tuple[str, str]:
        """``(read, write)`` terminations for an interface type (``"ASRL"``, ...)."""
        return "\n", "\n"

    def _initialise(self) -> None:
        """Bring the instrument into a known protocol state after opening."""
        self._link.query("*ESR?")  # clear power-on and stale error bits
        self._link.query("LIAS?")  # clear latched status

    def decode_status(self, lias: int) -> LockInStatus:
        """Map the model's ``LIAS?`` value to :class:`LockInStatus`."""
        return self.SPEC.decode_status(lias)

    # ------------------------------------------------------------ settings
    def get_setting(self, setting: Setting) -> Any:
        """Query one declared setting and return its value."""
        command = f"{setting.command}?"
        if setting.codec.parse == "int":
            raw: float = self._link.query_int(command)
        else:
            raw = self._link.query_float(command)
        try:
            return setting.codec.decode(raw)  # type: ignore[arg-type]
        except LookupError as exc:
            raise InstrumentError(f"{self.MODEL}: {command} {exc}") from None

    def set_setting(self, setting: Setting, value: Any) -> None:
        """Send one declared setting (checked: see :meth:`write`)."""
        self.write(f"{setting.command} {setting.codec.encode(value, setting.name)}")

    def settings(self) -> Settings:
        """Every setting worth recording in a scan file (read from the instrument)."""
        out: Settings = {"kind": self.MODEL, "address": self.address, "idn": self.identify()}
        out.update({s.name: self.get_setting(s) for s in self.SETTINGS})
        return out

    # ------------------------------------------------------------ reconnection
    def _restored(self, when: str) -> tuple[str, ...]:
        return tuple(s.command for s in self.SETTINGS if s.restore == when)

    @property
    def restored_commands(self) -> tuple[str, ...]:
        """Setting commands whose values are restored after a reconnection (and ``FREQ``)."""
        return self._restored(ALWAYS)

    def _read_restorable(self) -> dict[str, str]:
        """``{command: reply}`` of every restored setting, ``FREQ`` with the internal reference."""
        state = {head: self._link.query(f"{head}?") for head in self.restored_commands}
        if self._internal_reference(state[self.REFERENCE_COMMAND]):
            last = self._restored(WITH_INTERNAL_REFERENCE)
            state.update({head: self._link.query(f"{head}?") for head in last})
        return state

    def _internal_reference(self, reply: str) -> bool:
        try:
            return round(float(reply)) == self.REFERENCE_SOURCES["internal"]
        except ValueError:
            return False

    def _remember(self, command: str) -> None:
        """Record an accepted ``"<HEAD> <value>"`` set as the expected state."""
        head, _, value = command.strip().partition(" ")
        head, value = head.upper(), value.strip()
        if value and ";" not in command and any(head == s.command for s in self.SETTINGS):
            self._expected[head] = value

    @property
    def expected_settings(self) -> dict[str, str]:
        """The remembered state: ``{command: value}`` restored after a reconnection."""
        return dict(self._expected)

    def _restore_after_reconnect(self) -> None:
        """Bring a reconnected instrument back to the expected state (see the module notes).

        Sets :attr:`restored_after_reconnect` to the commands that had to be
        re-sent, and if there are any waits for the filter to settle (to
        99.99 %). ``FREQ`` is restored last and only with the internal reference.

        Raises
        ------
        InstrumentError
            If the instrument does not answer or rejects a restored value.
        """
        self._initialise()
        last = [h for h in self._restored(WITH_INTERNAL_REFERENCE) if h in self._expected]
        restored = [head for head, value in list(self._expected.items())
                    if head not in last and self._resend(head, value)]
        if last and self._internal_reference(self._link.query(f"{self.REFERENCE_COMMAND}?")):
            restored += [head for head in last if self._resend(head, self._expected[head])]
        self.restored_after_reconnect = tuple(restored)
        if restored:  # the output restarts from the changed settings: let it settle
            self.wait_settled(0.9999)

    def _resend(self, head: str, value: str) -> bool:
        """Send ``head value`` if the instrument holds something else; whether it was sent."""
        if _same_setting(self._link.query(f"{head}?"), value):
            return False
        self.write(f"{head} {value}")
        return True

    # ------------------------------------------------------------ I/O
    @property
    def address(self) -> str:
        """VISA address."""
        return self._link.address

    @property
    def link(self) -> VisaLink:
        """The underlying :class:`VisaLink` (for commands this driver lacks)."""
        return self._link

    def query(self, command: str) -> str:
        """Send any query and return the reply."""
        return self._link.query(command)

    def write(self, command: str, *, check: bool = True) -> None:
        """Send any command; with ``check`` raise if the instrument rejects it."""
        if not check:
            self._link.write(command)
            return
        esr = self._link.query_int(f"{command};*ESR?")
        if esr & (_ESR_EXE | _ESR_CMD):
            kind = "an unknown command or bad syntax" if esr & _ESR_CMD else "out of range"
            raise InstrumentError(
                f"{self.MODEL} at {self.address} rejected {command!r}: {kind} (*ESR? = {esr})"
            )
        self._remember(command)

    def identify(self) -> str:
        """The ``*IDN?`` string."""
        return self._link.query("*IDN?")

    def close(self) -> None:
        """Close the connection."""
        self._link.close()

    def __enter__(self) -> SRSLockIn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ readings
    def status(self) -> LockInStatus:
        """Status bits latched since the last status read (reading clears them)."""
        return self.decode_status(self._link.query_int("LIAS?"))

    def read_xy(self) -> LockInReading:
        """Sample X and Y simultaneously (``SNAP?``), with the latched status bits.

        The status covers the time since the previous status read (including
        this sample); with ``read_status=False`` it is always ``OK``.
        """
        x_V, y_V = self._link.query_floats(self.SNAP_XY, 2)
        status = self.status() if self.read_status else LockInStatus.OK
        return LockInReading(x_V, y_V, status)

    def settle_time_s(self, fraction: float = 0.99) -> float:
        """Time after an input step for the output to reach ``fraction`` of it, s
        (:func:`imager.instruments.srs.settle_time_s` at the present settings)."""
        srs.check_settle_fraction(fraction)
        return srs.settle_time_s(self.time_constant_s, self.filter_slope_dB_per_oct, fraction)

    def wait_settled(self, fraction: float = 0.99) -> float:
        """Sleep :meth:`settle_time_s` and return the time slept, s."""
        dt_s = self.settle_time_s(fraction)
        self._sleep(dt_s)
        return dt_s

    # ------------------------------------------------------------ buffered readout
    def _start_recording(self, rate_Hz: float | None, t_call_s: float, command: str) -> None:
        """Send the command that starts storing; time it (see :mod:`~.srs_stream`)."""
        t0 = self._clock.now_s()
        self.write(command)
        t1 = self._clock.now_s()
        self._recording = Recording(rate_Hz, t_call_s, delay_s=0.5 * (t0 + t1) - t_call_s)

    def trigger(self) -> None:
        """A software trigger (``TRIG``): one sample when recording on triggers."""
        self.write("TRIG")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.address!r})"

    STOP_STREAM_COMMAND = ""
    """The model's command that stops recording (``PAUS``, ``CAPTURESTOP``)."""

    def stop_stream(self) -> None:
        """Stop recording (:attr:`STOP_STREAM_COMMAND`); the samples stay readable."""
        self.write(self.STOP_STREAM_COMMAND)
        if self._recording is not None:
            self._recording.running = False
