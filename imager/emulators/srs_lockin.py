"""Common core of the SR830 and SR860 lock-in emulators.

An emulator holds the instrument's front-panel state (settings, status
registers) and answers command lines; the measured values come from a
*backend*: any object implementing :class:`imager.devices.interfaces.LockIn`
(in the emulated lab, :class:`imager.sim.lockin.SimulatedLockIn` running on a
:class:`~imager.emulators.clocks.WallClock`). The emulator forwards time
constant, sensitivity, slope and phase to the backend, so filtering, settling
and noise are the backend's; it adds what the wire shows on top:

* output overload when ``|X|`` or ``|Y|`` exceeds the sensitivity (outputs are
  clipped to full scale), input overload when the backend reports one;
* reference unlock while the reference is external and the chopper (if one
  is given) is stopped, or when the backend reports it; never in internal mode;
* latched status registers (LIA, error, standard event) read and cleared by
  queries, ``*CLS`` clearing all; every output query and status query samples
  the backend, so bits latch at the moments a client looks;
* unknown commands and bad syntax set ``*ESR`` bit 5 (CMD), out-of-range
  parameters bit 4 (EXE); neither gets a reply, so a query among them leaves
  the client to time out, as on the real instruments.

Commands are tables. Every setting that is one stored value (an index, a
count, a number) is a :class:`Param` row, answered by one generic handler
(set with range check, query); a model's tables and ranges come from
:mod:`imager.instruments.srs`. The other commands map a mnemonic to a
handler method and the forms it takes (``COMMANDS``: query only, set only,
both); a form the table does not allow is a command error.

Buffers (fly scans): the SR830's data buffer and the SR860's capture buffer copy the
samples the backend records (:class:`~imager.devices.interfaces.StreamingLockIn`) into
a buffer of the emulator's own, pulled before every command line
(:mod:`imager.emulators.srs_buffer`); :meth:`SRSLockInEmulator.trigger_input` is a
pulse on the rear-panel TRIG IN (e.g. a stage controller's position trigger).

Time: the emulator itself only reads time through the backend. Build the
backend on a :class:`~imager.emulators.clocks.WallClock`, or keep it on a clock
of its own and move that on from ``before_command``.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from imager.devices.interfaces import Chopper, LockIn, LockInStatus
from imager.emulators.srs_commands import CommonCommands, Param
from imager.emulators.srs_status import (
    BOTH,
    ESR_CMD,
    ESR_EXE,
    QUERY,
    STATUS_COMMANDS,
    StatusRegisters,
)
from imager.emulators.srs_syntax import (
    Command,
    CommandError,
    ExecutionError,
    parse_command,
    split_commands,
)
from imager.instruments import srs

Handler = Callable[[Command], "str | None"]


@dataclass(frozen=True, slots=True)
class Sample:
    """One simultaneous sample of the outputs as the instrument shows them."""

    x_V: float
    y_V: float
    r_V: float
    theta_deg: float
    status: LockInStatus
    x_over: bool
    y_over: bool


class SRSLockInEmulator(StatusRegisters, CommonCommands):
    """Base class: state, status registers and the commands both models share.

    Parameters
    ----------
    backend : LockIn
        Source of X/Y and status; receives the filter settings.
    chopper : Chopper, optional
        The chopper whose reference drives the lock-in: its frequency is the
        external reference frequency, and while it is stopped an external
        reference is unlocked.
    before_command : callable, optional
        Called (under the lock) before each command line (e.g. to move the
        backend's own clock on).
    lock : threading.RLock, optional
        Serialises access to the backend (share it with other emulators that
        touch the same objects).
    serial_number : str
        Reported by ``*IDN?``.

    Attributes
    ----------
    before_command : callable or None
        The ``before_command`` hook; may be replaced at any time.
    """

    SPEC: ClassVar[srs.LockInModel]
    MODEL: ClassVar[str] = ""
    PARAMS: ClassVar[tuple[Param, ...]] = ()
    """The model's settings (see :class:`Param`)."""
    COMMANDS: ClassVar[dict[str, tuple[str, str]]] = {**STATUS_COMMANDS,
                                                      **CommonCommands.COMMANDS}
    """Commands other than settings: mnemonic -> (handler method, form); models add theirs."""
    RESET_FREQUENCY_HZ: ClassVar[float] = 1000.0

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.MODEL = cls.SPEC.name
        merged: dict[str, tuple[str, str]] = {}
        for klass in reversed(cls.__mro__):
            merged.update(klass.__dict__.get("COMMANDS", {}))
        cls.COMMANDS = merged

    def __init__(
        self,
        backend: LockIn,
        *,
        chopper: Chopper | None = None,
        before_command: Callable[[], None] | None = None,
        lock: threading.RLock | None = None,
        serial_number: str = "000001",
    ) -> None:
        self.backend = backend
        self.chopper = chopper
        self.serial_number = serial_number
        self.lock = lock if lock is not None else threading.RLock()
        self.before_command = before_command
        self.output_interface: int | None = None
        self.current_overload = 0
        self._params = {p.command: p for p in self.PARAMS}
        self._handlers: dict[str, tuple[Handler, str]] = {
            name: (self._h_param, BOTH) for name in self._params}
        self._handlers.update({name: (getattr(self, method), form)
                               for name, (method, form) in self.COMMANDS.items()})
        # Power-on state: adopt the backend's filter, external reference (lab wiring).
        self._clear_registers()
        self.values: dict[str, float] = {p.command: p.reset for p in self.PARAMS}
        spec = self.SPEC
        self.values[spec.sensitivity_command] = srs.nearest_index(
            spec.sensitivities_V, float(backend.sensitivity_V))
        self.values["OFLT"] = srs.nearest_index(spec.time_constants_s,
                                                float(backend.time_constant_s))
        slope = int(backend.filter_slope_dB_per_oct)
        if slope in srs.SLOPES_DB_PER_OCT:
            self.values["OFSL"] = srs.SLOPES_DB_PER_OCT.index(slope)
        self.values["PHAS"] = float(backend.reference_phase_deg)
        self.internal_frequency_Hz = (
            float(chopper.frequency_Hz) if chopper is not None else self.RESET_FREQUENCY_HZ
        )
        self.aux_out_V = [0.0, 0.0, 0.0, 0.0]
        self._model_state()
        self.set_external_reference(True)
        self._push_filter()

    # ------------------------------------------------------------ model hooks
    def _model_state(self) -> None:
        """Set the model's state that is not a :class:`Param` (power-on and ``*RST``)."""

    def _value(self, index: int, sample: Sample) -> float:
        """Output ``index`` (the model's ``OUTP?`` numbering) of ``sample``."""
        raise NotImplementedError

    def _extra_status(self, r_V: float) -> LockInStatus:
        """Model-specific status from the magnitude (e.g. input range overload)."""
        return LockInStatus.OK

    def identity(self) -> str:
        """The ``*IDN?`` reply."""
        raise NotImplementedError

    def _pull_streams(self) -> None:
        """Copy the samples the backend recorded since the last call into the model's buffer."""

    def _trigger(self) -> None:
        """A trigger pulse (TRIG IN or the ``TRIG`` command): the model's buffer reacts."""

    def trigger_input(self) -> None:
        """A pulse on the rear-panel TRIG IN (thread-safe): what ``TRIG`` does, from outside.

        With the SR830 at ``SRAT 14`` (or the SR860 capturing one sample per trigger)
        a running buffer stores one point; with ``TSTR 1`` (SR860: ``CAPTURESTART
        ..., TRIG``) the pulse starts the recording. Otherwise it is ignored.
        """
        with self.lock:
            self._trigger()

    # ------------------------------------------------------------ state
    @property
    def sensitivity_V(self) -> float:
        """Full-scale sensitivity now, V."""
        return self.SPEC.sensitivities_V[int(self.values[self.SPEC.sensitivity_command])]

    @property
    def time_constant_s(self) -> float:
        """Time constant now, s."""
        return self.SPEC.time_constants_s[int(self.values["OFLT"])]

    @property
    def filter_slope_dB_per_oct(self) -> int:
        """Filter slope now, dB/octave."""
        return srs.SLOPES_DB_PER_OCT[int(self.values["OFSL"])]

    @property
    def reference_phase_deg(self) -> float:
        """Reference phase now, degrees."""
        return self.values["PHAS"]

    @property
    def harmonic(self) -> int:
        """Detection harmonic now."""
        return int(self.values["HARM"])

    def reference_is_external(self) -> bool:
        """True when the reference comes from outside (the chopper)."""
        spec = self.SPEC
        return self.values[spec.reference_command] != spec.reference_sources["internal"]

    def set_external_reference(self, external: bool) -> None:
        """Select the external (chopper) or internal reference."""
        spec = self.SPEC
        key = "external" if external else "internal"
        self.values[spec.reference_command] = spec.reference_sources[key]

    def reference_frequency_Hz(self) -> float:
        """Frequency the lock-in is referenced to now (0 when the chopper is stopped)."""
        if self.reference_is_external() and self.chopper is not None:
            return float(self.chopper.frequency_Hz) if self.chopper.enabled else 0.0
        return self.internal_frequency_Hz

    # ------------------------------------------------------------ execution
    def execute(self, line: str, interface: int | None = None) -> list[str]:
        """Execute one command line; return the replies (without terminators).

        ``interface`` is the interface the line came in on (SR830 ``OUTX``:
        0 = RS-232, 1 = GPIB); replies are withheld when ``OUTX`` selected the
        other one. Before any ``OUTX``, replies go back where the line came from.
        """
        with self.lock:
            if self.before_command is not None:
                self.before_command()
            replies: list[str] = []
            for text in split_commands(line):
                self._pull_streams()
                try:
                    command = parse_command(text)
                    handler, form = self._handlers.get(command.name, (None, BOTH))
                    if handler is None:
                        raise CommandError(f"unknown command {command.name!r}")
                    if form != BOTH and command.query != (form == QUERY):
                        raise CommandError(f"{command.name} takes the {form} form only")
                    reply = handler(command)
                except CommandError:
                    self.esr |= ESR_CMD
                except ExecutionError:
                    self.esr |= ESR_EXE
                else:
                    if reply is not None:
                        replies.append(reply)
            if (
                interface is not None
                and self.output_interface is not None
                and interface != self.output_interface
            ):
                return []
            return replies

    def sample(self) -> Sample:
        """Read the backend once and apply the instrument's range, clipping and status."""
        reading = self.backend.read_xy()
        x, y = float(reading.x_V), float(reading.y_V)
        status = LockInStatus(int(reading.status))
        if self.reference_is_external():
            if self.chopper is not None and not self.chopper.enabled:
                status |= LockInStatus.REFERENCE_UNLOCK
        else:
            status &= ~LockInStatus.REFERENCE_UNLOCK
        r = math.hypot(x, y)
        theta = math.degrees(math.atan2(y, x))
        status |= self._extra_status(r)
        s = self.sensitivity_V
        x_over, y_over = abs(x) > s, abs(y) > s
        if status & LockInStatus.OUTPUT_OVERLOAD and not (x_over or y_over):
            # the backend clipped at the same full scale already
            x_over, y_over = abs(x) >= s, abs(y) >= s
            x_over = x_over or not y_over
        if x_over or y_over:
            status |= LockInStatus.OUTPUT_OVERLOAD
            x, y = min(max(x, -s), s), min(max(y, -s), s)
            r = math.hypot(x, y)
        sample = Sample(x, y, r, theta, LockInStatus(status), x_over, y_over)
        self.current_overload = self.SPEC.encode_status(sample.status, x_over, y_over)
        self.lias |= self.current_overload
        return sample

    # ------------------------------------------------------------ helpers
    def _push(self, param: Param) -> None:
        """Give the backend the setting ``param`` feeds (see :class:`Param`)."""
        if param.backend is None:
            return
        try:
            setattr(self.backend, param.backend, getattr(self, param.backend))
        except ValueError:
            if not param.backend_may_refuse:
                raise
            # a backend without this range: the emulator clips by itself

    def _push_filter(self) -> None:
        for param in self.PARAMS:
            self._push(param)

    def _reset(self) -> None:
        self.values = {p.command: p.reset for p in self.PARAMS}
        self.internal_frequency_Hz = self.RESET_FREQUENCY_HZ
        self.aux_out_V = [0.0, 0.0, 0.0, 0.0]
        self._model_state()
        self._push_filter()

    # ------------------------------------------------------------ commands
    def _h_param(self, c: Command) -> str | None:
        """Any :class:`Param`: ``X?`` answers the value, ``X v`` sets it (range-checked)."""
        param = self._params[c.name]
        if c.query:
            self._no_args(c)
            return param.reply(self.values[c.name])
        self.values[c.name] = param.parse(c)
        self._push(param)
        return None
