"""SR830 lock-in emulator: the SR830 command set over any :mod:`~imager.emulators.wire` transport.

Implemented (``(?)`` = set and query; ``?`` = query only):

===============================  ==============================================
``*IDN?`` ``*RST`` ``*CLS``       identity, reset to defaults, clear status
``*ESR? [i]`` ``*ESE(?)``         standard event status (CMD bit 5, EXE bit 4)
``*STB? [i]`` ``*SRE(?)`` ``*OPC(?)``
``LIAS? [i]`` ``LIAE(?)``         LIA status: 0 input, 1 filter, 2 output
                                  overload, 3 reference unlock (latched)
``ERRS? [i]`` ``ERRE(?)``         error status (always 0 here)
``OUTX(?) i``                     reply interface: 0 RS-232, 1 GPIB
``FMOD(?) i``                     reference 0 external (chopper), 1 internal
``FREQ(?) f``                     internal frequency (set in internal mode only);
                                  the query gives the chopper's in external mode
                                  (0 while the chopper is stopped)
``PHAS(?) x`` ``HARM(?) i`` ``SLVL(?) x``
``SENS(?) i`` ``OFLT(?) i`` ``OFSL(?) i``  sensitivity 0 (2 nV)..26 (1 V), time
                                  constant 0 (10 us)..19 (30 ks), slope 6..24 dB
``OUTP? i``                       1 X, 2 Y, 3 R, 4 theta
``SNAP? i,j[,k...]``              2..6 of: 1 X, 2 Y, 3 R, 4 theta, 5-8 aux in,
                                  9 reference frequency, 10 CH1, 11 CH2
``OUTR? i`` ``DDEF(?) i{,j,k}``   display channels (CH1 X/R/..., CH2 Y/theta/...)
``OAUX? i`` ``AUXV(?) i{,x}``     aux inputs read 0 V; aux outputs are stored
``AGAN`` ``APHS`` ``ARSV`` ``AOFF i``  auto gain and auto phase act; the others are accepted
``ISRC IGND ICPL ILIN RMOD SYNC RSLP LOCL OVRM SRAT SEND TSTR``  stored settings
===============================  ==============================================

Replies are terminated by the session (``"\\r"`` on the RS-232 pty like the
real instrument, ``"\\n"`` on TCP, which stands for a GPIB/LAN bridge).
"""

from __future__ import annotations

from typing import ClassVar

from imager.emulators.srs_lockin import Sample, SRSLockInEmulator
from imager.emulators.srs_syntax import (
    Command,
    CommandError,
    ExecutionError,
    format_setting,
    format_value,
    to_float,
    to_int,
)

SR830_SENSITIVITIES_V = tuple(
    v for v in (float(f"{m}e{e}") for e in range(-9, 1) for m in (1, 2, 5)) if 2e-9 <= v <= 1.0
)
"""SR830 ``SENS`` table, index 0 = 2 nV ... 26 = 1 V."""
SR830_TIME_CONSTANTS_S = tuple(float(f"{m}e{e}") for e in range(-5, 5) for m in (1, 3))
"""SR830 ``OFLT`` table, index 0 = 10 us ... 19 = 30 ks."""


class SR830Emulator(SRSLockInEmulator):
    """Stanford Research Systems SR830 (see the module docstring for the commands)."""

    MODEL = "SR830"
    SENSITIVITIES_V = SR830_SENSITIVITIES_V
    TIME_CONSTANTS_S = SR830_TIME_CONSTANTS_S
    SENSITIVITY_COMMAND = "SENS"
    FREQUENCY_RANGE_HZ = (1e-3, 102e3)
    PHASE_RANGE_DEG = (-360.0, 729.99)
    HARMONIC_MAX = 19999
    SINE_RANGE_V = (0.004, 5.0)
    STB_IDLE_BITS = 0b11  # SCN (no scan running), IFC (no command executing)
    STORED_INTS: ClassVar[dict[str, tuple[int, int, int]]] = {
        "ISRC": (0, 3, 0),
        "IGND": (0, 1, 0),
        "ICPL": (0, 1, 0),
        "ILIN": (0, 3, 0),
        "RMOD": (0, 2, 1),
        "SYNC": (0, 1, 0),
        "RSLP": (0, 2, 0),
        "LOCL": (0, 2, 0),
        "OVRM": (0, 1, 0),
        "SRAT": (0, 14, 10),
        "SEND": (0, 1, 1),
        "TSTR": (0, 1, 0),
    }

    def _register_model(self) -> None:
        self.fmod = 1
        self.ddef = [[0, 0], [0, 0]]
        reg = self._register
        reg(self._h_outx, "OUTX")
        reg(self._h_fmod, "FMOD")
        reg(self._h_freq, "FREQ")
        reg(self._h_outp, "OUTP")
        reg(self._h_snap, "SNAP")
        reg(self._h_outr, "OUTR")
        reg(self._h_ddef, "DDEF")
        reg(self._h_oaux, "OAUX")
        reg(self._h_auxv, "AUXV")
        reg(self._h_accept, "ARSV", "AOFF")

    def identity(self) -> str:
        """``Stanford_Research_Systems,SR830,s/n<serial>,ver1.07``."""
        return f"Stanford_Research_Systems,SR830,s/n{self.serial_number},ver1.07"

    def reference_is_external(self) -> bool:
        """``FMOD 0``."""
        return self.fmod == 0

    def set_external_reference(self, external: bool) -> None:
        """``FMOD 0`` (external) or ``FMOD 1`` (internal)."""
        self.fmod = 0 if external else 1

    def _reset(self) -> None:
        super()._reset()
        self.ddef = [[0, 0], [0, 0]]

    def _latch(self, sample: Sample) -> None:
        self.lias |= int(sample.status) & 0x0F

    # ------------------------------------------------------------ commands
    def _h_outx(self, c: Command) -> str | None:
        if c.query:
            return str(self.output_interface if self.output_interface is not None else 1)
        self.output_interface = to_int(self._one(c), 0, 1)
        return None

    def _h_fmod(self, c: Command) -> str | None:
        if c.query:
            return str(self.fmod)
        self.fmod = to_int(self._one(c), 0, 1)
        return None

    def _h_freq(self, c: Command) -> str | None:
        if c.query:
            return format_setting(round(self.reference_frequency_Hz(), 4))
        if self.reference_is_external():
            raise ExecutionError("FREQ can be set in internal reference mode only")
        value = to_float(self._one(c))
        lo, hi = self.FREQUENCY_RANGE_HZ
        if not lo <= value <= hi:
            raise ExecutionError(f"frequency {value} outside [{lo}, {hi}]")
        self.internal_frequency_Hz = value
        return None

    def _value(self, index: int, sample: Sample) -> float:
        if index <= 4:
            return (sample.x_V, sample.y_V, sample.r_V, sample.theta_deg)[index - 1]
        if 5 <= index <= 8:
            return 0.0
        if index == 9:
            return self.reference_frequency_Hz()
        return self._display(index - 9, sample)

    def _display(self, channel: int, sample: Sample) -> float:
        kind = self.ddef[channel - 1][0]
        if kind == 0:
            return self._value(1 if channel == 1 else 2, sample)
        if kind == 1:
            return self._value(3 if channel == 1 else 4, sample)
        return 0.0  # noise and aux displays: not simulated

    def _h_outp(self, c: Command) -> str:
        if not c.query:
            raise CommandError("OUTP is a query")
        index = to_int(self._one(c), 1, 4)
        return format_value(self._value(index, self.sample()))

    def _h_snap(self, c: Command) -> str:
        if not c.query:
            raise CommandError("SNAP is a query")
        if not 2 <= len(c.args) <= 6:
            raise CommandError("SNAP? takes 2 to 6 parameters")
        indices = [to_int(a, 1, 11) for a in c.args]
        sample = self.sample()
        return ",".join(format_value(self._value(i, sample)) for i in indices)

    def _h_outr(self, c: Command) -> str:
        if not c.query:
            raise CommandError("OUTR is a query")
        channel = to_int(self._one(c), 1, 2)
        return format_value(self._display(channel, self.sample()))

    def _h_ddef(self, c: Command) -> str | None:
        if c.query:
            channel = to_int(self._one(c), 1, 2)
            kind, ratio = self.ddef[channel - 1]
            return f"{kind},{ratio}"
        if len(c.args) != 3:
            raise CommandError("DDEF needs i,j,k")
        channel = to_int(c.args[0], 1, 2)
        self.ddef[channel - 1] = [to_int(c.args[1], 0, 4), to_int(c.args[2], 0, 2)]
        return None

    def _h_oaux(self, c: Command) -> str:
        if not c.query:
            raise CommandError("OAUX is a query")
        to_int(self._one(c), 1, 4)
        return format_value(0.0)

    def _h_auxv(self, c: Command) -> str | None:
        if c.query:
            return format_setting(self.aux_out_V[to_int(self._one(c), 1, 4) - 1])
        if len(c.args) != 2:
            raise CommandError("AUXV needs i,x")
        channel = to_int(c.args[0], 1, 4)
        value = to_float(c.args[1])
        if not -10.5 <= value <= 10.5:
            raise ExecutionError(f"aux output {value} outside [-10.5, 10.5] V")
        self.aux_out_V[channel - 1] = value
        return None

    def _h_accept(self, c: Command) -> None:
        if c.query:
            raise CommandError(f"{c.name} is not a query")
        return None
