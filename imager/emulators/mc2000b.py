"""Thorlabs MC2000B optical chopper emulator (serve it on a pty).

Wire behaviour (what ``thorlabs-mc2000b`` and Thorlabs' own examples expect):
115200 8N1 (irrelevant on a pty), commands end with ``\\r``; the controller
echoes the command with its ``\\r``, then sends the reply lines, each ended by
``\\r``, then the prompt ``"> "``. So ``freq?\\r`` is answered
``freq?\\r1000\\r> `` and ``freq=1000\\r`` with ``freq=1000\\r> ``; an empty
line gives ``\\r> ``. Errors are reply lines containing ``error``:
``Command error CMD_NOT_DEFINED`` (unknown keyword or a set of a read-only one)
and ``Command error CMD_ARG_INVALID`` (value not a number or out of range).
``\\n`` bytes are ignored; commands are case-insensitive.

Keywords: ``id?``, ``?`` (command list), ``freq``, ``blade``, ``ref``,
``output``, ``nharmonic``, ``dharmonic``, ``phase``, ``enable``, ``oncycle``,
``intensity`` (set with ``=``, query with ``?``), ``refoutfreq?`` and
``input?`` (read-only), ``save`` (accepted). Blade, reference and output
indices follow the MC2000B numbering (:data:`imager.instruments.mc2000b.BLADES`:
blade 0..14; the reference modes are ``internal-outer, internal-inner,
external-outer, external-inner`` for the MC1F2, MC1F10HP and MC1F2P10 blades
and ``internal, external`` otherwise).

The emulated lab: the emulator drives a :class:`~imager.devices.interfaces.Chopper`
object (e.g. :class:`imager.sim.instruments.SimulatedChopper`) that the lock-in
backend reads. With an internal reference the chopping frequency is ``freq``;
with an external one it is ``external_input_Hz * nharmonic / dharmonic``. The
chopper is enabled only while ``enable=1`` and that frequency is positive.
Not modelled: spin-up (the wheel is at speed at once), per-blade frequency
limits (1..10000 Hz for every blade), the standby-only rule for blade changes.
"""

from __future__ import annotations

import threading
from typing import ClassVar

from imager.devices.interfaces import Chopper
from imager.instruments.mc2000b import BLADES, DEFAULT_BLADE

NOT_DEFINED = "Command error CMD_NOT_DEFINED"
ARG_INVALID = "Command error CMD_ARG_INVALID"


class MC2000BEmulator:
    """State and command interpreter of an MC2000B controller.

    Parameters
    ----------
    chopper : Chopper
        Object updated with the chopping frequency and on/off state.
    blade : str
        Initial blade name (default MC1F10HP, the controller's default).
    lock : threading.RLock, optional
        Held while the chopper object is changed (share it with the lock-in
        emulator that reads the same chopper).
    """

    RANGES: ClassVar[dict[str, tuple[int, int]]] = {
        "freq": (1, 10000),
        "nharmonic": (1, 15),
        "dharmonic": (1, 15),
        "phase": (0, 360),
        "enable": (0, 1),
        "oncycle": (1, 50),
        "intensity": (1, 10),
    }

    def __init__(
        self, chopper: Chopper, *, blade: str = DEFAULT_BLADE, lock: threading.RLock | None = None
    ) -> None:
        names = [b.name for b in BLADES]
        if blade not in names:
            raise ValueError(f"unknown MC2000B blade {blade!r}; known: {', '.join(names)}")
        self.chopper = chopper
        self.lock = lock if lock is not None else threading.RLock()
        self.external_input_Hz = 0.0
        self.values: dict[str, int] = {
            "freq": max(1, round(float(chopper.frequency_Hz))),
            "blade": names.index(blade),
            "ref": 0,
            "output": 0,
            "nharmonic": 1,
            "dharmonic": 1,
            "phase": 0,
            "enable": 1 if chopper.enabled else 0,
            "oncycle": 50,
            "intensity": 5,
        }
        self._apply()

    # ------------------------------------------------------------ model
    @property
    def blade_name(self) -> str:
        """Name of the selected blade."""
        return BLADES[self.values["blade"]].name

    def reference_is_external(self) -> bool:
        """True for the external reference modes of the current blade."""
        return BLADES[self.values["blade"]].is_external(self.values["ref"])

    def chopping_frequency_Hz(self) -> float:
        """Frequency the beam is chopped at while running, Hz."""
        v = self.values
        if self.reference_is_external():
            return self.external_input_Hz * v["nharmonic"] / v["dharmonic"]
        return float(v["freq"])

    def set_external_input(self, frequency_Hz: float) -> None:
        """Feed a reference frequency into the controller's REF IN (0: none)."""
        with self.lock:
            self.external_input_Hz = max(0.0, float(frequency_Hz))
            self._apply()

    def _apply(self) -> None:
        f = self.chopping_frequency_Hz()
        running = bool(self.values["enable"]) and f > 0.0
        if f > 0.0 and f != self.chopper.frequency_Hz:
            self.chopper.frequency_Hz = f
        if running != bool(self.chopper.enabled):
            self.chopper.enabled = running

    def _limit(self, key: str) -> tuple[int, int]:
        if key == "blade":
            return 0, len(BLADES) - 1
        if key == "ref":
            return 0, len(BLADES[self.values["blade"]].reference_modes) - 1
        if key == "output":
            return 0, len(BLADES[self.values["blade"]].output_modes) - 1
        return self.RANGES[key]

    def _read(self, key: str) -> str:
        if key == "id":
            return "THORLABS MC2000B EMULATOR VERSION 1.0"
        if key == "refoutfreq":
            running = self.values["enable"] and self.chopping_frequency_Hz() > 0
            target = self.values["output"] == 0
            f = self.chopping_frequency_Hz() if (running or target) else 0.0
            return str(round(f))
        if key == "input":
            return str(round(self.external_input_Hz))
        return str(self.values[key])

    # ------------------------------------------------------------ commands
    def execute(self, line: str) -> list[str]:
        """Execute one command line; return the reply lines (no echo, no prompt)."""
        text = line.strip().lower()
        if not text:
            return []
        with self.lock:
            if text == "?":
                return [
                    "Commands:",
                    "id? freq= freq? blade= blade? ref= ref? output= output?",
                    "nharmonic= nharmonic? dharmonic= dharmonic? phase= phase?",
                    "enable= enable? oncycle= oncycle? intensity= intensity?",
                    "refoutfreq? input? save",
                ]
            if text == "save":
                return []
            if text.endswith("?"):
                key = text[:-1].strip()
                if key in ("id", "refoutfreq", "input") or key in self.values:
                    return [self._read(key)]
                return [NOT_DEFINED]
            key, sep, arg = text.partition("=")
            key = key.strip()
            if not sep or key not in self.values:
                return [NOT_DEFINED]
            try:
                value = float(arg)
            except ValueError:
                return [ARG_INVALID]
            lo, hi = self._limit(key)
            if not (value == int(value) and lo <= value <= hi):
                return [ARG_INVALID]
            self.values[key] = int(value)
            if key == "blade":
                blade = BLADES[int(value)]
                self.values["ref"] = min(self.values["ref"], len(blade.reference_modes) - 1)
                self.values["output"] = min(self.values["output"], len(blade.output_modes) - 1)
            self._apply()
            return []


class MC2000BSession:
    """Byte framing of the MC2000B: echo, reply lines ended by ``\\r``, prompt ``"> "``."""

    def __init__(self, emulator: MC2000BEmulator, *, max_line_bytes: int = 1024) -> None:
        self.emulator = emulator
        self._buf = bytearray()
        self._max = max_line_bytes

    def feed(self, data: bytes) -> list[bytes]:
        """Collect bytes; answer every ``\\r``-terminated line with one message."""
        out: list[bytes] = []
        for byte in data:
            if byte == 0x0A:
                continue
            if byte != 0x0D:
                if len(self._buf) < self._max:
                    self._buf.append(byte)
                continue
            line = bytes(self._buf).decode("ascii", errors="replace")
            self._buf.clear()
            replies = self.emulator.execute(line)
            body = "".join(reply + "\r" for reply in replies)
            out.append((line + "\r" + body + "> ").encode("ascii", errors="replace"))
        return out
