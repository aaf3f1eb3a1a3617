"""Command tables of the SR830 and SR860 emulators: settings as :class:`Param` rows, and
the handlers both models share.

A :class:`Param` is a command that sets and queries one stored value (an index,
a count, a number): one generic handler of
:class:`~imager.emulators.srs_lockin.SRSLockInEmulator` answers all of them,
with the range and names of the row. :func:`lockin_params` declares the
settings both models have, from the model's facts
(:mod:`imager.instruments.srs`). :class:`CommonCommands` holds the other
commands both models answer, in a table ``mnemonic -> (method, form)``; the
model classes set the few numbers where they differ (output numbering, aux
numbering, ``FREQ`` rules).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from imager.emulators.srs_status import BOTH, QUERY, SET
from imager.emulators.srs_syntax import (
    Command,
    CommandError,
    ExecutionError,
    format_setting,
    format_value,
    match_token,
    to_float,
    to_index,
    to_int,
)
from imager.instruments import srs


@dataclass(frozen=True)
class Param:
    """A command that sets and queries one stored value (``emulator.values[command]``).

    Attributes
    ----------
    command : str
        Mnemonic.
    lo, hi : float
        Accepted range, inclusive (an index: ``0 ... len(table) - 1``); outside
        it a set is an execution error.
    reset : float
        Value after ``*RST``.
    number : bool
        A real number (query: ``format_setting``); else an integer.
    tokens : tuple of str
        SR860 names of the integer values, in order (``RSRC CHOP``).
    backend : str, optional
        After a set, the emulator's attribute of this name is given to the
        backend's attribute of the same name (``time_constant_s`` ...).
    backend_may_refuse : bool
        The backend may lack the value (a sensitivity): keep ours, clip ourselves.
    normalise : callable, optional
        Applied after the range check (the phase is kept in (-180, 180]).
    digits : int, optional
        Decimals a number is rounded to in a query reply.
    """

    command: str
    lo: float
    hi: float
    reset: float
    number: bool = False
    tokens: tuple[str, ...] = ()
    backend: str | None = None
    backend_may_refuse: bool = False
    normalise: Callable[[float], float] | None = None
    digits: int | None = None

    def parse(self, c: Command) -> float:
        """The value a set command gives; CommandError or ExecutionError if it is bad."""
        if len(c.args) != 1:
            raise CommandError(f"{c.name} needs one argument, got {len(c.args)}")
        arg = c.args[0]
        if self.tokens and arg.strip()[:1].isalpha():
            index = match_token(arg, self.tokens)
            if index is None:
                raise CommandError(f"unknown token {arg!r}")
            return index
        if not self.number:
            return to_int(arg, int(self.lo), int(self.hi))
        value = to_float(arg)
        if not self.lo <= value <= self.hi:
            raise ExecutionError(f"{c.name} {value} outside [{self.lo}, {self.hi}]")
        return self.normalise(value) if self.normalise is not None else value

    def reply(self, value: float) -> str:
        """The query reply for ``value``."""
        if not self.number:
            return str(int(value))
        return format_setting(round(value, self.digits) if self.digits is not None else value)


def lockin_params(spec: srs.LockInModel, *, reference_tokens: tuple[str, ...] = (),
                  reset_sensitivity_V: float = 1.0,
                  reset_time_constant_s: float = 0.1) -> tuple[Param, ...]:
    """The settings both models share, with ``spec``'s tables, ranges and command names.

    ``*RST`` selects the internal reference, 12 dB/oct, ``reset_sensitivity_V`` and
    ``reset_time_constant_s``; ``reference_tokens`` names the reference sources.
    """
    sens, tcs = spec.sensitivities_V, spec.time_constants_s
    sources = spec.reference_sources
    return (
        Param("PHAS", *spec.phase_range_deg, 0.0, number=True, backend="reference_phase_deg",
              normalise=srs.wrap_phase_deg, digits=6),
        Param("HARM", 1, spec.harmonic_max, 1),
        Param("SLVL", *spec.sine_range_V, 1.0, number=True),
        Param("OFLT", 0, len(tcs) - 1, srs.nearest_index(tcs, reset_time_constant_s),
              backend="time_constant_s"),
        Param("OFSL", 0, len(srs.SLOPES_DB_PER_OCT) - 1, 1, backend="filter_slope_dB_per_oct"),
        Param(spec.sensitivity_command, 0, len(sens) - 1,
              srs.nearest_index(sens, reset_sensitivity_V), backend="sensitivity_V",
              backend_may_refuse=True),
        Param(spec.reference_command, 0, len(sources) - 1, sources["internal"],
              tokens=reference_tokens),
    )


class CommonCommands:
    """Mixin of :class:`~imager.emulators.srs_lockin.SRSLockInEmulator`: shared commands.

    The handlers use the emulator's state (``values``, ``SPEC``, ``sample()``,
    ``aux_out_V``, ``internal_frequency_Hz`` ...).
    """

    COMMANDS: ClassVar[dict[str, tuple[str, str]]] = {
        "*IDN": ("_h_idn", QUERY), "*RST": ("_h_rst", SET), "APHS": ("_h_aphs", SET),
        "AGAN": ("_h_auto_scale", SET), "ASCL": ("_h_auto_scale", SET),
        "FREQ": ("_h_freq", BOTH), "OUTP": ("_h_outp", QUERY), "SNAP": ("_h_snap", QUERY),
        "OAUX": ("_h_oaux", QUERY), "AUXV": ("_h_auxv", BOTH),
    }
    """Mnemonic -> (handler method, form)."""
    FREQUENCY_SET_EXTERNAL: ClassVar[bool] = True
    """Whether ``FREQ`` may be set while the reference is external (SR830: no)."""
    FREQUENCY_DIGITS: ClassVar[int] = 6
    """Decimals of the ``FREQ?`` reply."""
    OUTPUT_FIRST: ClassVar[int] = 0
    """Number of the first ``OUTP?`` / ``SNAP?`` output (SR830: 1 = X; SR860: 0 = X)."""
    OUTPUT_TOKENS: ClassVar[tuple[str, ...]] = ()
    """Names of the outputs, in order (SR860), or () for numbers only."""
    OUTP_COUNT: ClassVar[int] = 4
    """How many outputs ``OUTP?`` reads."""
    SNAP_COUNT: ClassVar[int] = 4
    """How many outputs ``SNAP?`` reads."""
    SNAP_MAX_ARGS: ClassVar[int] = 3
    """Most outputs one ``SNAP?`` takes."""
    AUX_FIRST: ClassVar[int] = 0
    """Number of the first aux input / output."""
    AUX_IN_TOKENS: ClassVar[tuple[str, ...]] = ()
    """Names of the aux inputs (SR860 ``OAUX? IN0``), or () for numbers only."""

    SPEC: ClassVar[srs.LockInModel]
    values: dict[str, float]
    aux_out_V: list[float]
    internal_frequency_Hz: float
    _params: dict[str, Param]
    sample: Callable[[], Any]
    identity: Callable[[], str]
    reference_is_external: Callable[[], bool]
    reference_frequency_Hz: Callable[[], float]
    _reset: Callable[[], None]
    _push: Callable[[Param], None]
    _value: Callable[[int, Any], float]
    reference_phase_deg: float

    @staticmethod
    def _no_args(command: Command) -> None:
        if command.args:
            raise CommandError(f"{command.name} takes no argument")

    @staticmethod
    def _one(c: Command) -> str:
        if len(c.args) != 1:
            raise CommandError(f"{c.name} needs one argument, got {len(c.args)}")
        return c.args[0]

    def _h_idn(self, c: Command) -> str:
        return self.identity()

    def _h_rst(self, c: Command) -> None:
        self._no_args(c)
        self._reset()

    def set_sensitivity_index(self, index: int) -> None:
        """Select sensitivity ``index`` (instrument order) and tell the backend."""
        command = self.SPEC.sensitivity_command
        self.values[command] = index
        self._push(self._params[command])

    def _h_aphs(self, c: Command) -> None:
        self._no_args(c)
        sample = self.sample()
        self.values["PHAS"] = srs.wrap_phase_deg(self.reference_phase_deg + sample.theta_deg)
        self._push(self._params["PHAS"])

    def _h_auto_scale(self, c: Command) -> None:
        """Auto gain: the smallest full scale above the magnitude (unclipped)."""
        self._no_args(c)
        table = self.SPEC.sensitivities_V
        largest = max(range(len(table)), key=lambda i: table[i])
        self.set_sensitivity_index(largest)
        r = self.sample().r_V
        fits = [i for i, s in enumerate(table) if s >= r / 0.8]
        self.set_sensitivity_index(min(fits, key=lambda i: table[i]) if fits else largest)

    def _h_freq(self, c: Command) -> str | None:
        """``FREQ`` (and SR860 ``FREQINT``): the internal frequency; ``FREQ?`` the reference's."""
        if c.query:
            self._no_args(c)
            value = self.internal_frequency_Hz if c.name == "FREQINT" else (
                self.reference_frequency_Hz())
            return format_setting(round(value, self.FREQUENCY_DIGITS))
        if self.reference_is_external() and not self.FREQUENCY_SET_EXTERNAL:
            raise ExecutionError(f"{c.name} can be set in internal reference mode only")
        value = to_float(self._one(c))
        lo, hi = self.SPEC.frequency_range_Hz
        if not lo <= value <= hi:
            raise ExecutionError(f"frequency {value} outside [{lo}, {hi}]")
        self.internal_frequency_Hz = value
        return None

    def _output_index(self, arg: str, count: int) -> int:
        if self.OUTPUT_TOKENS:
            return to_index(arg, count, self.OUTPUT_TOKENS)
        return to_int(arg, self.OUTPUT_FIRST, self.OUTPUT_FIRST + count - 1)

    def _h_outp(self, c: Command) -> str:
        index = self._output_index(self._one(c), self.OUTP_COUNT)
        return format_value(self._value(index, self.sample()))

    def _h_snap(self, c: Command) -> str:
        if not 2 <= len(c.args) <= self.SNAP_MAX_ARGS:
            raise CommandError(f"SNAP? takes 2 to {self.SNAP_MAX_ARGS} parameters")
        indices = [self._output_index(a, self.SNAP_COUNT) for a in c.args]
        sample = self.sample()
        return ",".join(format_value(self._value(i, sample)) for i in indices)

    def _aux_index(self, arg: str, tokens: tuple[str, ...] = ()) -> int:
        if tokens:
            return to_index(arg, 4, tokens)
        return to_int(arg, self.AUX_FIRST, self.AUX_FIRST + 3) - self.AUX_FIRST

    def _h_oaux(self, c: Command) -> str:
        """Aux inputs read 0 V."""
        self._aux_index(self._one(c), self.AUX_IN_TOKENS)
        return format_value(0.0)

    def _h_auxv(self, c: Command) -> str | None:
        """Aux outputs: stored, -10.5 ... 10.5 V."""
        if c.query:
            return format_setting(self.aux_out_V[self._aux_index(self._one(c))])
        if len(c.args) != 2:
            raise CommandError("AUXV needs i,x")
        channel = self._aux_index(c.args[0])
        value = to_float(c.args[1])
        if not -10.5 <= value <= 10.5:
            raise ExecutionError(f"aux output {value} outside [-10.5, 10.5] V")
        self.aux_out_V[channel] = value
        return None
