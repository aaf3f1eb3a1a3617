"""SR860 lock-in emulator: the SR860 command set over any :mod:`~imager.emulators.wire` transport.

Implemented (``(?)`` = set and query; ``?`` = query only). Enumerated
parameters take the index or the manual's token (``SNAP? X,Y``, ``RSRC CHOP``):

===============================  ==============================================
``*IDN?`` ``*RST`` ``*CLS``       identity, reset to defaults, clear status
``*ESR? [i]`` ``*ESE(?)`` ``*STB? [i]`` ``*SRE(?)`` ``*OPC(?)``
``LIAS? [i]`` ``LIAE(?)``         LIA status (latched): 0 CH1 output overload,
                                  1 CH2 output overload, 3 reference unlock,
                                  4 input range overload
``CUROVLDSTAT?``                  the same bits, current (not latched)
``ERRS? [i]`` ``ERRE(?)``         error status (always 0 here)
``RSRC(?) i``                     reference 0 INT, 1 EXT, 2 DUAL, 3 CHOP
                                  (EXT, DUAL and CHOP follow the chopper)
``FREQ(?) f`` ``FREQINT(?) f``    internal frequency; ``FREQ?`` reports the
``FREQEXT?`` ``FREQDET?``         external (chopper) one in external modes
``PHAS(?) x`` ``HARM(?) i`` ``SLVL(?) x`` ``SOFF(?) x``
``SCAL(?) i`` ``OFLT(?) i`` ``OFSL(?) i``  sensitivity 0 (1 V)..27 (1 nV), time
                                  constant 0 (1 us)..21 (30 ks), slope 6..24 dB
``IRNG(?) i`` ``ILVL?``           input range 1 V..10 mV, signal level 0..4
``ENBW?``                         equivalent noise bandwidth of the filter
``OUTP? j`` ``SNAP? j,k[,l]``     0 X, 1 Y, 2 R, 3 THeta, 4-7 IN1-4, 8 XNOise,
                                  9 YNOise, 10-11 OUT1-2, 12 PHAse, 13 SAMp,
                                  14 LEVel, 15 FInt, 16 FExt
``SNAPD?`` ``OUTR? j`` ``CDSP(?) j{,k}``  the four data channels (X, Y, R, THeta)
``OAUX? i`` ``AUXV(?) i{,x}``     aux inputs read 0 V; aux outputs are stored
``APHS`` ``ASCL`` ``ARNG``        auto phase, auto scale, auto input range
``IVMD ISRC ICPL IGND ICUR SYNC ADVFILT HARMDUAL REFM RTRG REFZ TBMODE DBLK``
                                  stored settings
===============================  ==============================================

Input range overload is modelled from the demodulated magnitude: it is set
when ``sqrt(2) * R`` (the peak of the reference-frequency component) exceeds
the input range, or when the backend reports an input overload.
"""

from __future__ import annotations

import math
from typing import ClassVar

from imager.devices.interfaces import LockInStatus
from imager.emulators.srs_lockin import Sample, SRSLockInEmulator
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

SR860_SENSITIVITIES_V = tuple(
    v for v in (float(f"{m}e{e}") for e in range(0, -10, -1) for m in (5, 2, 1)) if 1e-9 <= v <= 1.0
)
"""SR860 ``SCAL`` table, index 0 = 1 V ... 27 = 1 nV (reverse of the SR830's order)."""
SR860_TIME_CONSTANTS_S = tuple(float(f"{m}e{e}") for e in range(-6, 5) for m in (1, 3))
"""SR860 ``OFLT`` table, index 0 = 1 us ... 21 = 30 ks."""
INPUT_RANGES_V = (1.0, 0.3, 0.1, 0.03, 0.01)
OUTPUT_TOKENS = (
    "X", "Y", "R", "THeta", "IN1", "IN2", "IN3", "IN4", "XNOise", "YNOise",
    "OUT1", "OUT2", "PHAse", "SAMp", "LEVel", "FInt", "FExt",
)  # fmt: skip
REFERENCE_TOKENS = ("INTernal", "EXTernal", "DUAL", "CHOP")
_ENBW_FACTOR = (1.0 / 4.0, 1.0 / 8.0, 3.0 / 32.0, 5.0 / 64.0)
_TOKENS: dict[str, tuple[str, ...]] = {
    "SYNC": ("OFF", "ON"),
    "ADVFILT": ("OFF", "ON"),
    "ICPL": ("AC", "DC"),
    "IGND": ("FLOat", "GROund"),
    "IVMD": ("VOLTage", "CURRent"),
}


class SR860Emulator(SRSLockInEmulator):
    """Stanford Research Systems SR860 (see the module docstring for the commands)."""

    MODEL = "SR860"
    SENSITIVITIES_V = SR860_SENSITIVITIES_V
    TIME_CONSTANTS_S = SR860_TIME_CONSTANTS_S
    SENSITIVITY_COMMAND = "SCAL"
    FREQUENCY_RANGE_HZ = (1e-3, 500e3)
    PHASE_RANGE_DEG = (-360000.0, 360000.0)
    HARMONIC_MAX = 99
    SINE_RANGE_V = (1e-9, 2.0)
    STORED_INTS: ClassVar[dict[str, tuple[int, int, int]]] = {
        "IVMD": (0, 1, 0),
        "ISRC": (0, 1, 0),
        "ICPL": (0, 1, 0),
        "IGND": (0, 1, 0),
        "ICUR": (0, 1, 0),
        "IRNG": (0, 4, 0),
        "SYNC": (0, 1, 0),
        "ADVFILT": (0, 1, 1),
        "HARMDUAL": (1, 99, 1),
        "REFM": (0, 1, 0),
        "RTRG": (0, 2, 0),
        "REFZ": (0, 1, 0),
        "TBMODE": (0, 1, 0),
        "DBLK": (0, 1, 0),
    }

    def _register_model(self) -> None:
        self.rsrc = 0
        self.cdsp = [0, 1, 2, 3]
        self.sine_offset_V = 0.0
        self.current_overload = 0
        reg = self._register
        reg(self._h_rsrc, "RSRC")
        reg(self._h_freq, "FREQ", "FREQINT")
        reg(self._h_freq_measured, "FREQEXT", "FREQDET")
        reg(self._h_soff, "SOFF")
        reg(self._h_outp, "OUTP")
        reg(self._h_snap, "SNAP")
        reg(self._h_snapd, "SNAPD")
        reg(self._h_outr, "OUTR")
        reg(self._h_cdsp, "CDSP")
        reg(self._h_ilvl, "ILVL")
        reg(self._h_enbw, "ENBW")
        reg(self._h_curovld, "CUROVLDSTAT")
        reg(self._h_oaux, "OAUX")
        reg(self._h_auxv, "AUXV")
        reg(self._h_arng, "ARNG")

    def identity(self) -> str:
        """``Stanford_Research_Systems,SR860,<serial>,v1.51``."""
        return f"Stanford_Research_Systems,SR860,{self.serial_number},v1.51"

    def reference_is_external(self) -> bool:
        """``RSRC`` EXT, DUAL or CHOP."""
        return self.rsrc != 0

    def set_external_reference(self, external: bool) -> None:
        """``RSRC EXT`` or ``RSRC INT``."""
        self.rsrc = 1 if external else 0

    def _reset(self) -> None:
        super()._reset()
        self.cdsp = [0, 1, 2, 3]
        self.sine_offset_V = 0.0

    @property
    def input_range_V(self) -> float:
        """Input range now (peak), V."""
        return INPUT_RANGES_V[self.ints["IRNG"]]

    def _extra_status(self, r_V: float) -> LockInStatus:
        if math.sqrt(2.0) * r_V > self.input_range_V:
            return LockInStatus.INPUT_OVERLOAD
        return LockInStatus.OK

    def _latch(self, sample: Sample) -> None:
        bits = (1 if sample.x_over else 0) | (2 if sample.y_over else 0)
        if sample.status & LockInStatus.REFERENCE_UNLOCK:
            bits |= 1 << 3
        if sample.status & LockInStatus.INPUT_OVERLOAD:
            bits |= 1 << 4
        self.current_overload = bits
        self.lias |= bits

    # ------------------------------------------------------------ commands
    def _h_stored_int(self, c: Command) -> str | None:
        tokens = _TOKENS.get(c.name, ())
        if c.query or not tokens:
            return super()._h_stored_int(c)
        lo, hi, _ = self.STORED_INTS[c.name]
        self.ints[c.name] = to_index(self._one(c), hi + 1, tokens)
        return None

    def _h_rsrc(self, c: Command) -> str | None:
        if c.query:
            return str(self.rsrc)
        self.rsrc = to_index(self._one(c), 4, REFERENCE_TOKENS)
        return None

    def _h_freq(self, c: Command) -> str | None:
        if c.query:
            value = self.internal_frequency_Hz
            if c.name == "FREQ":
                value = self.reference_frequency_Hz()
            return format_setting(round(value, 6))
        value = to_float(self._one(c))
        lo, hi = self.FREQUENCY_RANGE_HZ
        if not lo <= value <= hi:
            raise ExecutionError(f"frequency {value} outside [{lo}, {hi}]")
        self.internal_frequency_Hz = value
        return None

    def _h_freq_measured(self, c: Command) -> str:
        if not c.query:
            raise CommandError(f"{c.name} is a query")
        if c.name == "FREQEXT":
            chopper = self.chopper
            value = float(chopper.frequency_Hz) if chopper and chopper.enabled else 0.0
        else:
            value = self.reference_frequency_Hz() * self.harmonic
        return format_setting(round(value, 6))

    def _h_soff(self, c: Command) -> str | None:
        if c.query:
            return format_setting(self.sine_offset_V)
        value = to_float(self._one(c))
        if not -5.0 <= value <= 5.0:
            raise ExecutionError(f"sine offset {value} outside [-5, 5] V")
        self.sine_offset_V = value
        return None

    def _value(self, index: int, sample: Sample) -> float:
        if index <= 3:
            return (sample.x_V, sample.y_V, sample.r_V, sample.theta_deg)[index]
        if index in (8, 9):
            noise = getattr(self.backend, "noise_rms_V", None)
            return float(noise()) if callable(noise) else 0.0
        if index in (10, 11):
            return self.aux_out_V[index - 10]
        others = {
            12: self.phase_deg,
            13: self.sine_amplitude_V,
            14: self.sine_offset_V,
            15: self.internal_frequency_Hz,
        }
        if index in others:
            return others[index]
        if index == 16:
            chopper = self.chopper
            return float(chopper.frequency_Hz) if chopper and chopper.enabled else 0.0
        return 0.0  # aux inputs 4-7

    def _h_outp(self, c: Command) -> str:
        if not c.query:
            raise CommandError("OUTP is a query")
        index = to_index(self._one(c), len(OUTPUT_TOKENS), OUTPUT_TOKENS)
        return format_value(self._value(index, self.sample()))

    def _h_snap(self, c: Command) -> str:
        if not c.query:
            raise CommandError("SNAP is a query")
        if not 2 <= len(c.args) <= 3:
            raise CommandError("SNAP? takes 2 or 3 parameters")
        indices = [to_index(a, len(OUTPUT_TOKENS), OUTPUT_TOKENS) for a in c.args]
        sample = self.sample()
        return ",".join(format_value(self._value(i, sample)) for i in indices)

    def _h_snapd(self, c: Command) -> str:
        if not c.query:
            raise CommandError("SNAPD is a query")
        self._no_args(c)
        sample = self.sample()
        return ",".join(format_value(self._value(i, sample)) for i in self.cdsp)

    def _h_outr(self, c: Command) -> str:
        if not c.query:
            raise CommandError("OUTR is a query")
        channel = to_index(self._one(c), 4, ("DAT1", "DAT2", "DAT3", "DAT4"))
        return format_value(self._value(self.cdsp[channel], self.sample()))

    def _h_cdsp(self, c: Command) -> str | None:
        tokens = ("DAT1", "DAT2", "DAT3", "DAT4")
        if c.query:
            return str(self.cdsp[to_index(self._one(c), 4, tokens)])
        if len(c.args) != 2:
            raise CommandError("CDSP needs j,k")
        channel = to_index(c.args[0], 4, tokens)
        self.cdsp[channel] = to_index(c.args[1], len(OUTPUT_TOKENS), OUTPUT_TOKENS)
        return None

    def _h_ilvl(self, c: Command) -> str:
        if not c.query:
            raise CommandError("ILVL is a query")
        fraction = math.sqrt(2.0) * self.sample().r_V / self.input_range_V
        return str(sum(fraction >= t for t in (0.01, 0.1, 0.5, 1.0)))

    def _h_enbw(self, c: Command) -> str:
        if not c.query:
            raise CommandError("ENBW is a query")
        return format_value(_ENBW_FACTOR[self.slope_index] / self.time_constant_s)

    def _h_curovld(self, c: Command) -> str:
        if not c.query:
            raise CommandError("CUROVLDSTAT is a query")
        self.sample()
        return str(self.current_overload)

    def _h_oaux(self, c: Command) -> str:
        if not c.query:
            raise CommandError("OAUX is a query")
        to_index(self._one(c), 4, ("IN0", "IN1", "IN2", "IN3"))
        return format_value(0.0)

    def _h_auxv(self, c: Command) -> str | None:
        if c.query:
            return format_setting(self.aux_out_V[to_int(self._one(c), 0, 3)])
        if len(c.args) != 2:
            raise CommandError("AUXV needs i,x")
        channel = to_int(c.args[0], 0, 3)
        value = to_float(c.args[1])
        if not -10.5 <= value <= 10.5:
            raise ExecutionError(f"aux output {value} outside [-10.5, 10.5] V")
        self.aux_out_V[channel] = value
        return None

    def _h_arng(self, c: Command) -> None:
        """Auto range: the smallest input range above the signal peak."""
        self._no_args(c)
        self.ints["IRNG"] = 0
        peak_V = math.sqrt(2.0) * self.sample().r_V
        fits = [i for i, v in enumerate(INPUT_RANGES_V) if v >= peak_V / 0.8]
        self.ints["IRNG"] = max(fits) if fits else 0
