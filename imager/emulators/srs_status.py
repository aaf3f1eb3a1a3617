"""Status registers of the SRS lock-in emulators (IEEE 488.2 style plus LIA/ERR).

========  ==========================================  =======================
register  query / enable                              bits used here
========  ==========================================  =======================
ESR       ``*ESR? [i]`` / ``*ESE(?)``                 4 EXE, 5 CMD, 7 PON
STB       ``*STB? [i]`` / ``*SRE(?)``                 2 ERR, 3 LIA, 5 ESB, 6 SRQ
LIAS      ``LIAS? [i]`` / ``LIAE(?)``                 model-specific (latched)
ERRS      ``ERRS? [i]`` / ``ERRE(?)``                 none (never set)
========  ==========================================  =======================

Event registers latch; a query returns the register (or bit ``i``) and clears
what it returned; ``*CLS`` clears them all. ``LIAS?`` first samples the
outputs, so it reports the state at the moment of the query too.
"""

from __future__ import annotations

from typing import ClassVar

from imager.emulators.srs_syntax import Command, CommandError, to_int

ESR_EXE = 1 << 4
ESR_CMD = 1 << 5
ESR_PON = 1 << 7


QUERY, SET, BOTH = "query", "set", "both"
"""Command forms: query only (``X?``), set only (``X``), or both."""

STATUS_COMMANDS: dict[str, tuple[str, str]] = {
    "*CLS": ("_h_cls", BOTH), "*OPC": ("_h_opc", BOTH), "*ESR": ("_h_esr", QUERY),
    "*STB": ("_h_stb", QUERY), "LIAS": ("_h_lias", QUERY), "ERRS": ("_h_errs", QUERY),
    "*ESE": ("_h_enable", BOTH), "*SRE": ("_h_enable", BOTH), "LIAE": ("_h_enable", BOTH),
    "ERRE": ("_h_enable", BOTH),
}
"""Status commands: mnemonic -> (handler method, form)."""


class StatusRegisters:
    """Mixin of :class:`~imager.emulators.srs_lockin.SRSLockInEmulator`: status commands."""

    STB_IDLE_BITS: ClassVar[int] = 0
    """Serial-poll bits that are set while idle (SR830: SCN and IFC)."""

    esr: int
    ese: int
    sre: int
    lias: int
    liae: int
    errs: int
    erre: int

    def sample(self) -> object:
        """Sample the outputs (latches LIA bits); provided by the emulator."""
        raise NotImplementedError

    def _clear_registers(self) -> None:
        self.esr = ESR_PON
        self.ese = self.sre = self.lias = self.liae = self.errs = self.erre = 0

    @staticmethod
    def _register_read(value: int, command: Command, width: int = 8) -> tuple[str, int]:
        """Reply for a status-register query and the value left after reading it."""
        if command.args:
            bit = to_int(command.args[0], 0, width - 1)
            return str((value >> bit) & 1), value & ~(1 << bit)
        return str(value), 0

    def _h_cls(self, c: Command) -> None:
        if c.args:
            raise CommandError("*CLS takes no argument")
        self.esr = self.lias = self.errs = 0

    def _h_opc(self, c: Command) -> str | None:
        return "1" if c.query else None

    def _h_esr(self, c: Command) -> str:
        reply, self.esr = self._register_read(self.esr, c)
        return reply

    def _h_stb(self, c: Command) -> str:
        stb = self.STB_IDLE_BITS
        stb |= (1 << 2) if self.errs & self.erre else 0
        stb |= (1 << 3) if self.lias & self.liae else 0
        stb |= (1 << 5) if self.esr & self.ese else 0
        stb |= (1 << 6) if stb & self.sre else 0
        if c.args:
            return str((stb >> to_int(c.args[0], 0, 7)) & 1)
        return str(stb)

    def _h_lias(self, c: Command) -> str:
        self.sample()
        reply, self.lias = self._register_read(self.lias, c, 16)
        return reply

    def _h_errs(self, c: Command) -> str:
        reply, self.errs = self._register_read(self.errs, c)
        return reply

    def _h_enable(self, c: Command) -> str | None:
        attr = {"*ESE": "ese", "*SRE": "sre", "LIAE": "liae", "ERRE": "erre"}[c.name]
        width = 16 if c.name == "LIAE" else 8
        value = getattr(self, attr)
        if c.query:
            if c.args:
                return str((value >> to_int(c.args[0], 0, width - 1)) & 1)
            return str(value)
        if len(c.args) == 1:
            setattr(self, attr, to_int(c.args[0], 0, (1 << width) - 1))
        elif len(c.args) == 2:
            bit = to_int(c.args[0], 0, width - 1)
            on = to_int(c.args[1], 0, 1)
            setattr(self, attr, (value | (1 << bit)) if on else (value & ~(1 << bit)))
        else:
            raise CommandError(f"{c.name} needs 1 or 2 arguments")
        return None
