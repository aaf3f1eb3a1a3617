"""Shared driver logic of the SRS SR830 and SR860 lock-in amplifiers (over pyvisa).

The two models share most of their command set; they differ in the index
tables (the SR860's sensitivity order is reversed), the reference-source
command, the ``SNAP?`` parameter numbering and the LIA status bits. The model
drivers (:class:`imager.drivers.sr830.SR830`, :class:`imager.drivers.sr860.SR860`)
fill those in.

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
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import ClassVar

import pyvisa
from scipy.special import gammaincinv

from imager.devices.interfaces import LockInReading, LockInStatus, Settings
from imager.drivers.errors import InstrumentError
from imager.drivers.visa_link import VisaLink, interface_type

SLOPES_DB_PER_OCT = (6, 12, 18, 24)
_ESR_EXE, _ESR_CMD = 1 << 4, 1 << 5
_REL = 1e-6


def wrap_phase_deg(phase_deg: float) -> float:
    """Wrap a phase into ``(-180, 180]`` degrees."""
    wrapped = math.fmod(float(phase_deg), 360.0)
    if wrapped > 180.0:
        wrapped -= 360.0
    elif wrapped <= -180.0:
        wrapped += 360.0
    return wrapped


def _same_setting(reply: str, value: str) -> bool:
    """Whether an instrument's reply equals a remembered setting (numbers within 1e-5)."""
    try:
        return math.isclose(float(reply), float(value), rel_tol=1e-5, abs_tol=1e-9)
    except ValueError:
        return reply.strip().upper() == value.strip().upper()


def index_at_least(table: tuple[float, ...], value: float, what: str) -> int:
    """Index of the smallest table entry ``>= value`` (within 1 ppm).

    Raises
    ------
    ValueError
        If ``value`` is not positive or exceeds every entry.
    """
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(f"{what} must be > 0, got {value!r}")
    fits = [i for i, v in enumerate(table) if v >= value * (1.0 - _REL)]
    if not fits:
        raise ValueError(f"{what} {value!r} exceeds the largest available {max(table):g}")
    return min(fits, key=lambda i: table[i])


class SRSLockIn:
    """Base driver; implements :class:`imager.devices.interfaces.LockIn`.

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
    """

    MODEL: ClassVar[str] = ""
    SENSITIVITIES_V: ClassVar[tuple[float, ...]] = ()
    TIME_CONSTANTS_S: ClassVar[tuple[float, ...]] = ()
    SENSITIVITY_COMMAND: ClassVar[str] = ""
    REFERENCE_COMMAND: ClassVar[str] = ""
    REFERENCE_SOURCES: ClassVar[dict[str, int]] = {}
    SNAP_XY: ClassVar[str] = ""
    EXTRA_RESTORED: ClassVar[tuple[str, ...]] = ()
    """Model-specific setting commands restored after a reconnection."""

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
    ) -> None:
        default_read, default_write = self.default_terminations(interface_type(address))
        self._link = VisaLink(
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
        raise NotImplementedError

    # ------------------------------------------------------------ reconnection
    @property
    def restored_commands(self) -> tuple[str, ...]:
        """Setting commands whose values are restored after a reconnection (and ``FREQ``)."""
        return ("OFLT", self.SENSITIVITY_COMMAND, "OFSL", "PHAS", "HARM",
                self.REFERENCE_COMMAND, *self.EXTRA_RESTORED)

    def _read_restorable(self) -> dict[str, str]:
        """``{command: reply}`` of every restored setting, ``FREQ`` with the internal reference."""
        state = {head: self._link.query(f"{head}?") for head in self.restored_commands}
        if self._internal_reference(state[self.REFERENCE_COMMAND]):
            state["FREQ"] = self._link.query("FREQ?")
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
        if value and ";" not in command and (head in self.restored_commands or head == "FREQ"):
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
        restored: list[str] = []
        for head, value in list(self._expected.items()):
            if head == "FREQ":
                continue
            if not _same_setting(self._link.query(f"{head}?"), value):
                self.write(f"{head} {value}")
                restored.append(head)
        freq = self._expected.get("FREQ")
        if freq is not None and self._internal_reference(
            self._link.query(f"{self.REFERENCE_COMMAND}?")
        ) and not _same_setting(self._link.query("FREQ?"), freq):
            self.write(f"FREQ {freq}")
            restored.append("FREQ")
        self.restored_after_reconnect = tuple(restored)
        if restored:  # the output restarts from the changed settings: let it settle
            self.wait_settled(0.9999)

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

    # ------------------------------------------------------------ settings
    @property
    def time_constant_s(self) -> float:
        """Output filter time constant, s (set: rounds up to the next table value)."""
        return self.TIME_CONSTANTS_S[self._table_index("OFLT?", self.TIME_CONSTANTS_S)]

    @time_constant_s.setter
    def time_constant_s(self, value: float) -> None:
        self.write(f"OFLT {index_at_least(self.TIME_CONSTANTS_S, value, 'time_constant_s')}")

    @property
    def sensitivity_V(self) -> float:
        """Full-scale sensitivity, V (set: rounds up to the next range)."""
        table = self.SENSITIVITIES_V
        return table[self._table_index(f"{self.SENSITIVITY_COMMAND}?", table)]

    @sensitivity_V.setter
    def sensitivity_V(self, value: float) -> None:
        index = index_at_least(self.SENSITIVITIES_V, value, "sensitivity_V")
        self.write(f"{self.SENSITIVITY_COMMAND} {index}")

    @property
    def filter_slope_dB_per_oct(self) -> int:
        """Filter roll-off: 6, 12, 18 or 24 dB/octave."""
        return SLOPES_DB_PER_OCT[self._table_index("OFSL?", SLOPES_DB_PER_OCT)]

    @filter_slope_dB_per_oct.setter
    def filter_slope_dB_per_oct(self, value: int) -> None:
        if value not in SLOPES_DB_PER_OCT:
            raise ValueError(f"filter_slope_dB_per_oct must be one of {SLOPES_DB_PER_OCT}")
        self.write(f"OFSL {SLOPES_DB_PER_OCT.index(value)}")

    @property
    def reference_phase_deg(self) -> float:
        """Reference phase shift, degrees (set: wrapped into (-180, 180])."""
        return self._link.query_float("PHAS?")

    @reference_phase_deg.setter
    def reference_phase_deg(self, value: float) -> None:
        if not math.isfinite(value):
            raise ValueError(f"reference_phase_deg must be finite, got {value!r}")
        self.write(f"PHAS {wrap_phase_deg(value):.4f}")

    @property
    def reference_source(self) -> str:
        """Reference source name (keys of ``REFERENCE_SOURCES``)."""
        index = self._link.query_int(f"{self.REFERENCE_COMMAND}?")
        for source, i in self.REFERENCE_SOURCES.items():
            if i == index:
                return source
        raise InstrumentError(f"{self.MODEL}: unknown reference source index {index}")

    @reference_source.setter
    def reference_source(self, value: str) -> None:
        key = str(value).lower()
        if key not in self.REFERENCE_SOURCES:
            raise ValueError(f"reference_source must be one of {sorted(self.REFERENCE_SOURCES)}")
        self.write(f"{self.REFERENCE_COMMAND} {self.REFERENCE_SOURCES[key]}")

    @property
    def reference_frequency_Hz(self) -> float:
        """Reference frequency, Hz (the measured one with an external reference)."""
        return self._link.query_float("FREQ?")

    @reference_frequency_Hz.setter
    def reference_frequency_Hz(self, value: float) -> None:
        if not (math.isfinite(value) and value > 0.0):
            raise ValueError(f"reference_frequency_Hz must be > 0, got {value!r}")
        self.write(f"FREQ {value:.6g}")

    @property
    def harmonic(self) -> int:
        """Detection harmonic."""
        return self._link.query_int("HARM?")

    @harmonic.setter
    def harmonic(self, value: int) -> None:
        self.write(f"HARM {int(value)}")

    def _table_index(self, command: str, table: tuple[float, ...] | tuple[int, ...]) -> int:
        index = self._link.query_int(command)
        if not 0 <= index < len(table):
            raise InstrumentError(f"{self.MODEL}: {command} returned index {index} out of table")
        return index

    def settings(self) -> Settings:
        """Every setting worth recording in a scan file (read from the instrument)."""
        return {
            "kind": self.MODEL,
            "address": self.address,
            "idn": self.identify(),
            "time_constant_s": self.time_constant_s,
            "sensitivity_V": self.sensitivity_V,
            "filter_slope_dB_per_oct": self.filter_slope_dB_per_oct,
            "reference_phase_deg": self.reference_phase_deg,
            "reference_source": self.reference_source,
            "reference_frequency_Hz": self.reference_frequency_Hz,
            "harmonic": self.harmonic,
        }

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
        """Time after an input step for the output to reach ``fraction`` of it.

        For ``n = slope / 6`` identical RC stages of time constant ``tau``:
        ``x * tau`` with ``1 - exp(-x) * sum_{j<n} x**j / j! = fraction``.
        """
        if not 0.0 < fraction < 1.0:
            raise ValueError(f"settle_time_s: fraction must be in (0, 1), got {fraction!r}")
        n = self.filter_slope_dB_per_oct // 6
        return float(gammaincinv(n, fraction)) * self.time_constant_s

    def wait_settled(self, fraction: float = 0.99) -> float:
        """Sleep :meth:`settle_time_s` and return the time slept, s."""
        dt_s = self.settle_time_s(fraction)
        self._sleep(dt_s)
        return dt_s

    def auto_sensitivity(
        self,
        *,
        high: float = 0.9,
        low: float = 0.1,
        target: float = 0.5,
        settle_fraction: float = 0.99,
        max_steps: int = 40,
    ) -> float:
        """Choose the sensitivity for the present signal, with hysteresis.

        Repeats: wait for the filter to settle, discard old status, read. On
        an output overload go up three ranges (a clipped reading says nothing
        about the size), above ``high`` x full scale one range; below ``low``
        x full scale go straight to the smallest range that puts the reading
        under ``target`` x full scale. Stops when the reading lies between
        ``low`` and ``high`` (or at the end of the table) and returns the
        sensitivity, V.

        Raises
        ------
        InstrumentError
            If no stable range is found within ``max_steps`` changes.
        """
        if not 0.0 < low < target < high <= 1.0:
            raise ValueError("auto_sensitivity needs 0 < low < target < high <= 1")
        ladder = sorted(self.SENSITIVITIES_V)
        fs = self.sensitivity_V
        for _ in range(max_steps):
            self.wait_settled(settle_fraction)
            self.status()
            x_V, y_V = self._link.query_floats(self.SNAP_XY, 2)
            overload = bool(self.status() & LockInStatus.OUTPUT_OVERLOAD)
            r_V = math.hypot(x_V, y_V)
            pos = ladder.index(fs)
            if overload or r_V > high * fs:
                new_pos = min(pos + (3 if overload else 1), len(ladder) - 1)
            elif r_V < low * fs:
                new_pos = next(i for i, s in enumerate(ladder) if r_V < target * s or s == fs)
            else:
                return fs
            if new_pos == pos:
                return fs
            fs = ladder[new_pos]
            self.sensitivity_V = fs
        raise InstrumentError(
            f"{self.MODEL} at {self.address}: auto_sensitivity found no stable range "
            f"in {max_steps} steps"
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.address!r})"
