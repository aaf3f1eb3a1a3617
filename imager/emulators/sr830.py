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
``SRAT(?) i`` ``SEND(?) i``        data buffer: sample rate 0 (62.5 mHz) .. 13 (512 Hz),
``TSTR(?) i`` ``FAST(?) i``       14 trigger; one shot / loop; trigger starts; fast
``STRT`` ``STRD`` ``PAUS``        start, start after 0.5 s, pause,
``REST`` ``TRIG`` ``SPTS?``       reset, software trigger, points stored
``TRCA? TRCB? TRCL? i,j,k``       read the buffer: ASCII, float32, mantissa/exponent
``OEXP(?) i{,x,j}``               offset % and expand of X, Y, R (displays, buffer)
``ISRC IGND ICPL ILIN RMOD SYNC RSLP LOCL OVRM``  stored settings
===============================  ==============================================

The data buffer: :mod:`imager.emulators.srs_databuffer`;
:meth:`SR830Emulator.trigger_input` is a pulse on the rear-panel TRIG IN.

Replies are terminated by the session (``"\\r"`` on the RS-232 pty like the
real instrument, ``"\\n"`` on TCP, which stands for a GPIB/LAN bridge).
"""

from __future__ import annotations

from typing import ClassVar

from imager.emulators.srs_commands import Param, lockin_params
from imager.emulators.srs_databuffer import SR830DataBuffer
from imager.emulators.srs_lockin import Sample, SRSLockInEmulator
from imager.emulators.srs_status import BOTH, QUERY, SET
from imager.emulators.srs_syntax import Command, CommandError, format_value, to_int
from imager.instruments import srs

_STORED = (  # stored settings (SRAT SEND TSTR FAST drive the data buffer): (command, max, reset)
    ("ISRC", 3, 0), ("IGND", 1, 0), ("ICPL", 1, 0), ("ILIN", 3, 0), ("RMOD", 2, 1),
    ("SYNC", 1, 0), ("RSLP", 2, 0), ("LOCL", 2, 0), ("OVRM", 1, 0), ("SRAT", 14, 10),
    ("SEND", 1, 1), ("TSTR", 1, 0), ("FAST", 2, 0),
)


class SR830Emulator(SR830DataBuffer, SRSLockInEmulator):
    """Stanford Research Systems SR830 (see the module docstring for the commands)."""

    SPEC = srs.SR830
    PARAMS = (*lockin_params(srs.SR830), *(Param(c, 0, hi, reset) for c, hi, reset in _STORED))
    COMMANDS: ClassVar[dict[str, tuple[str, str]]] = {
        "OUTX": ("_h_outx", BOTH), "OUTR": ("_h_outr", QUERY), "DDEF": ("_h_ddef", BOTH),
        "ARSV": ("_h_accept", SET), "AOFF": ("_h_accept", SET),
    }
    STB_IDLE_BITS = 0b11  # SCN (no scan running), IFC (no command executing)
    FREQUENCY_SET_EXTERNAL = False
    FREQUENCY_DIGITS = 4
    OUTPUT_FIRST, OUTP_COUNT, SNAP_COUNT, SNAP_MAX_ARGS = 1, 4, 11, 6
    AUX_FIRST = 1

    def identity(self) -> str:
        """``Stanford_Research_Systems,SR830,s/n<serial>,ver1.07``."""
        return f"Stanford_Research_Systems,SR830,s/n{self.serial_number},ver1.07"

    def _model_state(self) -> None:
        self.ddef = [[0, 0], [0, 0]]
        self._buffer_state()

    # ------------------------------------------------------------ commands
    def _h_outx(self, c: Command) -> str | None:
        if c.query:
            return str(self.output_interface if self.output_interface is not None else 1)
        self.output_interface = to_int(self._one(c), 0, 1)
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
        return self.display_value(channel, sample.x_V, sample.y_V)

    def _h_outr(self, c: Command) -> str:
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

    def _h_accept(self, c: Command) -> None:
        return None
