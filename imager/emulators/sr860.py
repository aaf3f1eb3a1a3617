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
``CAPTURECFG(?) CAPTURELEN(?)``   capture buffer: values stored, length (kB),
``CAPTURERATE(?) CAPTURERATEMAX?``  rate = max / 2^n, max (follows the time constant)
``CAPTURESTART i,j CAPTURESTOP``  ONE/CONT, IMM/TRIG/SAMP; stop
``CAPTURESTAT? CAPTUREBYTES?``    status bits, bytes captured,
``CAPTUREPROG? CAPTUREVAL? n``    kB captured, one sample as ASCII,
``CAPTUREGET? i,j`` ``TRIG``       binary block (float32 LE), software trigger
``COFP(?) j{,x}`` ``COFA(?) j{,i}`` ``CEXP(?) j{,i}``  offset %, offset on, expand
``IVMD ISRC ICPL IGND ICUR SYNC ADVFILT HARMDUAL REFM RTRG REFZ TBMODE DBLK``
                                  stored settings
===============================  ==============================================

The capture buffer: :mod:`imager.emulators.srs_capture`;
:meth:`SR860Emulator.trigger_input` is a pulse on the rear-panel TRIG IN.

Input range overload is modelled from the demodulated magnitude: it is set
when ``sqrt(2) * R`` (the peak of the reference-frequency component) exceeds
the input range, or when the backend reports an input overload.
"""

from __future__ import annotations

import math
from typing import ClassVar

from imager.devices.interfaces import LockInStatus
from imager.emulators.srs_capture import SR860Capture
from imager.emulators.srs_commands import Param, lockin_params
from imager.emulators.srs_lockin import Sample, SRSLockInEmulator
from imager.emulators.srs_status import BOTH, QUERY, SET
from imager.emulators.srs_syntax import (
    Command,
    CommandError,
    format_setting,
    format_value,
    to_index,
)
from imager.instruments import srs

OUTPUT_TOKENS = (
    "X", "Y", "R", "THeta", "IN1", "IN2", "IN3", "IN4", "XNOise", "YNOise",
    "OUT1", "OUT2", "PHAse", "SAMp", "LEVel", "FInt", "FExt",
)  # fmt: skip
REFERENCE_TOKENS = ("INTernal", "EXTernal", "DUAL", "CHOP")
DATA_CHANNEL_TOKENS = ("DAT1", "DAT2", "DAT3", "DAT4")
_ON_OFF = ("OFF", "ON")
_STORED: tuple[tuple[str, int, int, int, tuple[str, ...]], ...] = (
    # settings kept but not simulated: (command, min, max, reset, tokens)
    ("IVMD", 0, 1, 0, ("VOLTage", "CURRent")), ("ISRC", 0, 1, 0, ()),
    ("ICPL", 0, 1, 0, ("AC", "DC")), ("IGND", 0, 1, 0, ("FLOat", "GROund")),
    ("ICUR", 0, 1, 0, ()), ("IRNG", 0, len(srs.SR860.input_ranges_V) - 1, 0, ()),
    ("SYNC", 0, 1, 0, _ON_OFF), ("ADVFILT", 0, 1, 1, _ON_OFF), ("HARMDUAL", 1, 99, 1, ()),
    ("REFM", 0, 1, 0, ()), ("RTRG", 0, 2, 0, ()), ("REFZ", 0, 1, 0, ()),
    ("TBMODE", 0, 1, 0, ()), ("DBLK", 0, 1, 0, ()),
)


class SR860Emulator(SR860Capture, SRSLockInEmulator):
    """Stanford Research Systems SR860 (see the module docstring for the commands)."""

    SPEC = srs.SR860
    PARAMS = (
        *lockin_params(srs.SR860, reference_tokens=REFERENCE_TOKENS),
        Param("SOFF", -5.0, 5.0, 0.0, number=True),
        *(Param(c, lo, hi, reset, tokens=tokens) for c, lo, hi, reset, tokens in _STORED),
    )
    COMMANDS: ClassVar[dict[str, tuple[str, str]]] = {
        "FREQINT": ("_h_freq", BOTH), "FREQEXT": ("_h_freq_measured", QUERY),
        "FREQDET": ("_h_freq_measured", QUERY), "SNAPD": ("_h_snapd", QUERY),
        "OUTR": ("_h_outr", QUERY), "CDSP": ("_h_cdsp", BOTH), "ILVL": ("_h_ilvl", QUERY),
        "ENBW": ("_h_enbw", QUERY), "CUROVLDSTAT": ("_h_curovld", QUERY),
        "ARNG": ("_h_arng", SET),
    }
    OUTPUT_TOKENS = OUTPUT_TOKENS
    OUTP_COUNT = SNAP_COUNT = len(OUTPUT_TOKENS)
    AUX_IN_TOKENS = ("IN0", "IN1", "IN2", "IN3")

    def identity(self) -> str:
        """``Stanford_Research_Systems,SR860,<serial>,v1.51``."""
        return f"Stanford_Research_Systems,SR860,{self.serial_number},v1.51"

    def _model_state(self) -> None:
        self.cdsp = [0, 1, 2, 3]
        self._capture_state()

    @property
    def input_range_V(self) -> float:
        """Input range now (peak), V."""
        return self.SPEC.input_ranges_V[int(self.values["IRNG"])]

    def _extra_status(self, r_V: float) -> LockInStatus:
        if math.sqrt(2.0) * r_V > self.input_range_V:
            return LockInStatus.INPUT_OVERLOAD
        return LockInStatus.OK

    # ------------------------------------------------------------ commands
    def _h_freq_measured(self, c: Command) -> str:
        if c.name == "FREQEXT":
            value = self._external_Hz()
        else:
            value = self.reference_frequency_Hz() * self.harmonic
        return format_setting(round(value, 6))

    def _external_Hz(self) -> float:
        chopper = self.chopper
        return float(chopper.frequency_Hz) if chopper and chopper.enabled else 0.0

    def _value(self, index: int, sample: Sample) -> float:
        if index <= 3:
            return (sample.x_V, sample.y_V, sample.r_V, sample.theta_deg)[index]
        if index in (8, 9):
            noise = getattr(self.backend, "noise_rms_V", None)
            return float(noise()) if callable(noise) else 0.0
        if index in (10, 11):
            return self.aux_out_V[index - 10]
        others = {
            12: self.reference_phase_deg,
            13: self.values["SLVL"],
            14: self.values["SOFF"],
            15: self.internal_frequency_Hz,
        }
        if index in others:
            return others[index]
        if index == 16:
            return self._external_Hz()
        return 0.0  # aux inputs 4-7

    def _h_snapd(self, c: Command) -> str:
        self._no_args(c)
        sample = self.sample()
        return ",".join(format_value(self._value(i, sample)) for i in self.cdsp)

    def _h_outr(self, c: Command) -> str:
        channel = to_index(self._one(c), 4, DATA_CHANNEL_TOKENS)
        return format_value(self._value(self.cdsp[channel], self.sample()))

    def _h_cdsp(self, c: Command) -> str | None:
        if c.query:
            return str(self.cdsp[to_index(self._one(c), 4, DATA_CHANNEL_TOKENS)])
        if len(c.args) != 2:
            raise CommandError("CDSP needs j,k")
        channel = to_index(c.args[0], 4, DATA_CHANNEL_TOKENS)
        self.cdsp[channel] = to_index(c.args[1], len(OUTPUT_TOKENS), OUTPUT_TOKENS)
        return None

    def _h_ilvl(self, c: Command) -> str:
        fraction = math.sqrt(2.0) * self.sample().r_V / self.input_range_V
        return str(sum(fraction >= t for t in (0.01, 0.1, 0.5, 1.0)))

    def _h_enbw(self, c: Command) -> str:
        return format_value(srs.enbw_Hz(self.time_constant_s, self.filter_slope_dB_per_oct))

    def _h_curovld(self, c: Command) -> str:
        self.sample()
        return str(self.current_overload)

    def _h_arng(self, c: Command) -> None:
        """Auto range: the smallest input range above the signal peak."""
        self._no_args(c)
        ranges = self.SPEC.input_ranges_V
        self.values["IRNG"] = 0
        peak_V = math.sqrt(2.0) * self.sample().r_V
        fits = [i for i, v in enumerate(ranges) if v >= peak_V / 0.8]
        self.values["IRNG"] = max(fits) if fits else 0
