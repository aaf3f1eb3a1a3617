"""Common core of the SR830 and SR860 lock-in emulators.

An emulator holds the instrument's front-panel state (index settings, status
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

Time: the emulator itself only reads wall time through the backend. Either
build the backend on a :class:`~imager.emulators.clocks.WallClock`, or pass a
:class:`~imager.emulators.clocks.VirtualClockFollower` as ``before_command``.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from imager.devices.interfaces import Chopper, LockIn, LockInStatus
from imager.emulators.srs_status import ESR_CMD, ESR_EXE, StatusRegisters
from imager.emulators.srs_syntax import (
    Command,
    CommandError,
    ExecutionError,
    format_setting,
    parse_command,
    split_commands,
    to_float,
    to_int,
    wrap_phase_deg,
)

Handler = Callable[[Command], "str | None"]

SLOPES_DB_PER_OCT = (6, 12, 18, 24)


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


def _nearest_index(table: tuple[float, ...], value: float) -> int:
    return min(range(len(table)), key=lambda i: abs(math.log(table[i] / value)))


class SRSLockInEmulator(StatusRegisters):
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
        Called (under the lock) before each command line, e.g. a
        :class:`~imager.emulators.clocks.VirtualClockFollower`.
    lock : threading.RLock, optional
        Serialises access to the backend (share it with other emulators that
        touch the same objects).
    serial_number : str
        Reported by ``*IDN?``.
    """

    MODEL: ClassVar[str] = ""
    SENSITIVITIES_V: ClassVar[tuple[float, ...]] = ()
    """Full-scale sensitivities in the instrument's index order."""
    TIME_CONSTANTS_S: ClassVar[tuple[float, ...]] = ()
    """Time constants in the instrument's index order."""
    SENSITIVITY_COMMAND: ClassVar[str] = ""
    FREQUENCY_RANGE_HZ: ClassVar[tuple[float, float]] = (1e-3, 102e3)
    PHASE_RANGE_DEG: ClassVar[tuple[float, float]] = (-360.0, 729.99)
    HARMONIC_MAX: ClassVar[int] = 19999
    SINE_RANGE_V: ClassVar[tuple[float, float]] = (0.004, 5.0)
    STORED_INTS: ClassVar[dict[str, tuple[int, int, int]]] = {}
    """Settings kept but not simulated: mnemonic -> (min, max, reset value)."""
    RESET_TIME_CONSTANT_S: ClassVar[float] = 0.1
    RESET_SENSITIVITY_V: ClassVar[float] = 1.0
    RESET_FREQUENCY_HZ: ClassVar[float] = 1000.0

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
        self._before = before_command
        self.output_interface: int | None = None
        self._handlers: dict[str, Handler] = {}
        self._register_common()
        self._register_model()
        # Power-on state: adopt the backend's filter, external reference (lab wiring).
        self._clear_registers()
        self.sens_index = _nearest_index(self.SENSITIVITIES_V, float(backend.sensitivity_V))
        self.tc_index = _nearest_index(self.TIME_CONSTANTS_S, float(backend.time_constant_s))
        slope = int(backend.filter_slope_dB_per_oct)
        self.slope_index = SLOPES_DB_PER_OCT.index(slope) if slope in SLOPES_DB_PER_OCT else 1
        self.phase_deg = float(backend.reference_phase_deg)
        self.internal_frequency_Hz = (
            float(chopper.frequency_Hz) if chopper is not None else self.RESET_FREQUENCY_HZ
        )
        self.harmonic = 1
        self.sine_amplitude_V = 1.0
        self.aux_out_V = [0.0, 0.0, 0.0, 0.0]
        self.ints = {name: spec[2] for name, spec in self.STORED_INTS.items()}
        self.set_external_reference(True)
        self._push_filter()

    # ------------------------------------------------------------ model hooks
    def _register_model(self) -> None:
        raise NotImplementedError

    def reference_is_external(self) -> bool:
        """True when the reference comes from outside (the chopper)."""
        raise NotImplementedError

    def set_external_reference(self, external: bool) -> None:
        """Select the external (chopper) or internal reference."""
        raise NotImplementedError

    def _latch(self, sample: Sample) -> None:
        """Set the model's LIA status bits from ``sample``."""
        raise NotImplementedError

    def _extra_status(self, r_V: float) -> LockInStatus:
        """Model-specific status from the magnitude (e.g. input range overload)."""
        return LockInStatus.OK

    # ------------------------------------------------------------ properties
    @property
    def sensitivity_V(self) -> float:
        """Full-scale sensitivity now, V."""
        return self.SENSITIVITIES_V[self.sens_index]

    @property
    def time_constant_s(self) -> float:
        """Time constant now, s."""
        return self.TIME_CONSTANTS_S[self.tc_index]

    @property
    def filter_slope_dB_per_oct(self) -> int:
        """Filter slope now, dB/octave."""
        return SLOPES_DB_PER_OCT[self.slope_index]

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
            if self._before is not None:
                self._before()
            replies: list[str] = []
            for text in split_commands(line):
                try:
                    command = parse_command(text)
                    handler = self._handlers.get(command.name)
                    if handler is None:
                        raise CommandError(f"unknown command {command.name!r}")
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
        self._latch(sample)
        return sample

    # ------------------------------------------------------------ helpers
    def _push_filter(self) -> None:
        backend = self.backend
        backend.time_constant_s = self.time_constant_s
        backend.filter_slope_dB_per_oct = self.filter_slope_dB_per_oct
        backend.reference_phase_deg = self.phase_deg
        try:
            backend.sensitivity_V = self.sensitivity_V
        except ValueError:
            pass  # a backend without this range: the emulator clips by itself

    def _register(self, handler: Handler, *names: str) -> None:
        for name in names:
            self._handlers[name] = handler

    def _reset(self) -> None:
        self.sens_index = _nearest_index(self.SENSITIVITIES_V, self.RESET_SENSITIVITY_V)
        self.tc_index = _nearest_index(self.TIME_CONSTANTS_S, self.RESET_TIME_CONSTANT_S)
        self.slope_index = 1
        self.phase_deg = 0.0
        self.harmonic = 1
        self.sine_amplitude_V = 1.0
        self.internal_frequency_Hz = self.RESET_FREQUENCY_HZ
        self.aux_out_V = [0.0, 0.0, 0.0, 0.0]
        self.ints = {name: spec[2] for name, spec in self.STORED_INTS.items()}
        self.set_external_reference(False)
        self._push_filter()

    @staticmethod
    def _no_args(command: Command) -> None:
        if command.args:
            raise CommandError(f"{command.name} takes no argument")

    # ------------------------------------------------------------ common commands
    def _register_common(self) -> None:
        reg = self._register
        reg(self._h_idn, "*IDN")
        reg(self._h_rst, "*RST")
        self._register_status_commands()
        reg(self._h_phas, "PHAS")
        reg(self._h_harm, "HARM")
        reg(self._h_slvl, "SLVL")
        reg(self._h_oflt, "OFLT")
        reg(self._h_ofsl, "OFSL")
        reg(self._h_sens, self.SENSITIVITY_COMMAND)
        reg(self._h_aphs, "APHS")
        reg(self._h_auto_scale, "AGAN", "ASCL")
        for name in self.STORED_INTS:
            reg(self._h_stored_int, name)

    def _h_idn(self, c: Command) -> str:
        if not c.query:
            raise CommandError("*IDN is a query")
        return self.identity()

    def identity(self) -> str:
        """The ``*IDN?`` reply."""
        raise NotImplementedError

    def _h_rst(self, c: Command) -> None:
        self._no_args(c)
        self._reset()

    def _h_phas(self, c: Command) -> str | None:
        if c.query:
            return format_setting(round(self.phase_deg, 6))
        value = to_float(self._one(c))
        lo, hi = self.PHASE_RANGE_DEG
        if not lo <= value <= hi:
            raise ExecutionError(f"phase {value} outside [{lo}, {hi}]")
        self.phase_deg = wrap_phase_deg(value)
        self.backend.reference_phase_deg = self.phase_deg
        return None

    def _h_harm(self, c: Command) -> str | None:
        if c.query:
            return str(self.harmonic)
        self.harmonic = to_int(self._one(c), 1, self.HARMONIC_MAX)
        return None

    def _h_slvl(self, c: Command) -> str | None:
        if c.query:
            return format_setting(self.sine_amplitude_V)
        value = to_float(self._one(c))
        lo, hi = self.SINE_RANGE_V
        if not lo <= value <= hi:
            raise ExecutionError(f"sine amplitude {value} outside [{lo}, {hi}]")
        self.sine_amplitude_V = value
        return None

    def _h_oflt(self, c: Command) -> str | None:
        if c.query:
            return str(self.tc_index)
        self.tc_index = to_int(self._one(c), 0, len(self.TIME_CONSTANTS_S) - 1)
        self.backend.time_constant_s = self.time_constant_s
        return None

    def _h_ofsl(self, c: Command) -> str | None:
        if c.query:
            return str(self.slope_index)
        self.slope_index = to_int(self._one(c), 0, 3)
        self.backend.filter_slope_dB_per_oct = self.filter_slope_dB_per_oct
        return None

    def _h_sens(self, c: Command) -> str | None:
        if c.query:
            return str(self.sens_index)
        self.set_sensitivity_index(to_int(self._one(c), 0, len(self.SENSITIVITIES_V) - 1))
        return None

    def set_sensitivity_index(self, index: int) -> None:
        """Select sensitivity ``index`` (instrument order) and tell the backend."""
        self.sens_index = index
        try:
            self.backend.sensitivity_V = self.sensitivity_V
        except ValueError:
            pass

    def _h_aphs(self, c: Command) -> None:
        self._no_args(c)
        sample = self.sample()
        self.phase_deg = wrap_phase_deg(self.phase_deg + sample.theta_deg)
        self.backend.reference_phase_deg = self.phase_deg

    def _h_auto_scale(self, c: Command) -> None:
        """Auto gain: the smallest full scale above the magnitude (unclipped)."""
        self._no_args(c)
        largest = max(range(len(self.SENSITIVITIES_V)), key=lambda i: self.SENSITIVITIES_V[i])
        self.set_sensitivity_index(largest)
        r = self.sample().r_V
        fits = [i for i, s in enumerate(self.SENSITIVITIES_V) if s >= r / 0.8]
        best = min(fits, key=lambda i: self.SENSITIVITIES_V[i]) if fits else largest
        self.set_sensitivity_index(best)

    def _h_stored_int(self, c: Command) -> str | None:
        lo, hi, _ = self.STORED_INTS[c.name]
        if c.query:
            self._no_args(c)
            return str(self.ints[c.name])
        self.ints[c.name] = to_int(self._one(c), lo, hi)
        return None

    @staticmethod
    def _one(c: Command) -> str:
        if len(c.args) != 1:
            raise CommandError(f"{c.name} needs one argument, got {len(c.args)}")
        return c.args[0]
