"""Thorlabs PM100D power meter emulator (SCPI), backed by a simulated power meter.

Implements the commands a client needs to read MIR power (PM100D/PM100USB
SCPI reference, Thorlabs manual 17654-D02, section 6.4), with the short and
long keyword forms, optional ``SENSe``/``SCALar``/``DC`` nodes and ``;``
chains handled by :mod:`imager.emulators.scpi`:

==============================================  =====================================
``*IDN?``                                       ``THORLABS,PM100D,<serial>,<firmware>``
``*RST``, ``*CLS``, ``*OPC?``                   reset / clear errors / ``1``
``SYSTem:ERRor[:NEXT]?``                        ``0,"No error"`` or the oldest error
``SYSTem:SENSor:IDN?``                          ``name,serial,cal,type,subtype,flags``
``[SENSe:]CORRection:WAVelength <nm>|MIN|MAX``  correction wavelength (and ``?`` [MIN|MAX])
``[SENSe:]AVERage[:COUNt] <n>``                 samples averaged per reading (and ``?``)
``[SENSe:]POWer[:DC]:RANGe:AUTO ON|OFF``        auto range (and ``?``)
``[SENSe:]POWer[:DC]:UNIT W|DBM``               power unit (and ``?``)
``CONFigure[:SCALar]:POWer``, ``CONFigure?``    measure power
``MEASure[:SCALar]:POWer?``, ``READ?``          one reading in the unit
``INITiate[:IMMediate]`` + ``FETCh?``           start, then fetch
``ABORt``                                       stop a started measurement
==============================================  =====================================

The sensor is a thermal head (type 2) whose identification is an S401C's
(0.19-20 um, up to 1 W); unknown headers queue SCPI error -113, bad values
-224/-222, as on the instrument.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from typing import Any

from imager.emulators.scpi import (
    UNDEFINED_HEADER,
    ScpiCommand,
    ScpiError,
    compile_header,
    header_matches,
    parse_bool,
    parse_number,
    parse_unit,
    split_units,
)
from imager.instruments.pm100 import (
    FLAG_POWER_SENSOR,
    FLAG_TAU_SETTABLE,
    FLAG_WAVELENGTH_SETTABLE,
)

SENSOR_FLAGS = FLAG_POWER_SENSOR | FLAG_WAVELENGTH_SETTABLE | FLAG_TAU_SETTABLE
"""The flags of the emulated thermal head."""


class PM100Emulator:
    """A PM100D answering SCPI lines, reading ``meter`` (a simulated power meter).

    Parameters
    ----------
    meter : object
        Has ``read_power_mW()`` and a settable ``wavelength_um`` (the simulated
        lab's :class:`~imager.sim.power_meter.SimulatedPowerMeter`).
    lock : threading.RLock, optional
        Held while touching the meter (shared with the other emulators of a lab).
    serial : str
        Instrument serial number for ``*IDN?``.
    """

    MODEL = "PM100D"
    SENSOR_IDN = ("S401C", "1234567", "18-Mar-2026", 2, 2, SENSOR_FLAGS)
    WAVELENGTH_RANGE_NM = (190.0, 20000.0)
    MAX_POWER_W = 1.0

    def __init__(self, meter: Any, *, lock: threading.RLock | None = None,
                 serial: str = "P0024811") -> None:
        self.meter = meter
        self.lock = lock or threading.RLock()
        self.serial = serial
        self.esr = 0
        self.errors: deque[tuple[int, str]] = deque(maxlen=30)
        self.commands = 0
        self._handlers = [
            (compile_header(p), h) for p, h in (
                ("*IDN", self._idn), ("*RST", self._rst), ("*CLS", self._cls),
                ("*OPC", self._opc), ("SYSTem:ERRor[:NEXT]", self._error),
                ("SYSTem:SENSor:IDN", self._sensor_idn),
                ("[SENSe:]CORRection:WAVelength", self._wavelength),
                ("[SENSe:]AVERage[:COUNt]", self._average),
                ("[SENSe:]POWer[:DC]:RANGe:AUTO", self._auto_range),
                ("[SENSe:]POWer[:DC]:UNIT", self._unit),
                ("CONFigure[:SCALar]:POWer", self._configure), ("CONFigure", self._configure),
                ("MEASure[:SCALar]:POWer", self._measure), ("READ", self._measure),
                ("INITiate[:IMMediate]", self._initiate), ("FETCh", self._fetch),
                ("ABORt", self._abort),
            )]
        self._rst(None)

    # ------------------------------------------------------------ framing
    def execute(self, line: str, interface: int | None = None) -> list[str]:
        """Execute one line; return its replies (without terminators)."""
        with self.lock:
            replies: list[str] = []
            path: list[str] = []
            for text in split_units(line):
                self.commands += 1
                try:
                    command = parse_unit(text, path)
                    if not command.words[0].startswith("*"):
                        path = command.words[:-1]
                    handler = self._find(command)
                    reply = handler(command)
                except ScpiError as exc:
                    self.errors.append((exc.code, exc.message))
                    continue
                if reply is not None:
                    replies.append(reply)
            return replies

    def _find(self, command: ScpiCommand):
        for pattern, handler in self._handlers:
            if header_matches(command.words, pattern):
                return handler
        raise ScpiError(UNDEFINED_HEADER, "Undefined header")

    # ----------------------------------------------------------- commands
    def _idn(self, c):
        return f"THORLABS,{self.MODEL},{self.serial},3.1.0" if c.query else None

    def _rst(self, c):
        self.average_count = 1
        self.auto_range = True
        self.unit = "W"
        self.configured = "POW"
        self._fetched: float | None = None

    def _cls(self, c):
        self.errors.clear()
        self.esr = 0

    def _opc(self, c):
        return "1" if c.query else None

    def _error(self, c):
        if not self.errors:
            return '0,"No error"'
        code, message = self.errors.popleft()
        return f'{code},"{message}"'

    def _sensor_idn(self, c):
        return ",".join(str(v) for v in self.SENSOR_IDN)

    def _wavelength(self, c):
        lo, hi = self.WAVELENGTH_RANGE_NM
        if c.query:
            which = c.args[0].upper() if c.args else ""
            if which in ("MIN", "MINIMUM"):
                return f"{lo:.6e}"
            if which in ("MAX", "MAXIMUM"):
                return f"{hi:.6e}"
            return f"{self.meter.wavelength_um * 1000.0:.6e}"
        self.meter.wavelength_um = parse_number(c.arg(), minimum=lo, maximum=hi,
                                                unit="NM") / 1000.0

    def _average(self, c):
        if c.query:
            return str(self.average_count)
        self.average_count = int(parse_number(c.arg(), minimum=1, maximum=1e6))

    def _auto_range(self, c):
        if c.query:
            return "1" if self.auto_range else "0"
        self.auto_range = parse_bool(c.arg())

    def _unit(self, c):
        if c.query:
            return self.unit
        word = c.arg().upper()
        if word not in ("W", "DBM"):
            raise ScpiError(-224, "Illegal parameter value")
        self.unit = word

    def _configure(self, c):
        if c.query:
            return self.configured
        self.configured = "POW"

    def _value(self) -> str:
        power_W = max(self.meter.read_power_mW() * 1e-3, 0.0)
        if self.unit == "DBM":
            return f"{10.0 * math.log10(max(power_W, 1e-15) / 1e-3):.6e}"
        return f"{power_W:.6e}"

    def _measure(self, c):  # MEAS:POW? and READ? (power is the only configuration)
        return self._value() if c.query else None

    def _initiate(self, c):
        self._fetched = self.meter.read_power_mW()

    def _fetch(self, c):
        if self._fetched is None:
            raise ScpiError(-230, "Data corrupt or stale")
        return f"{max(self._fetched * 1e-3, 0.0):.6e}"

    def _abort(self, c):
        self._fetched = None
