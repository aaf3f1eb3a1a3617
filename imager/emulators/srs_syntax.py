"""Command-line syntax shared by the SR830 and SR860 emulators.

What real clients send, and what this module accepts:

* a line ends with ``\\n`` or ``\\r`` (either, or both);
* several commands per line, joined by ``;`` (empty ones are ignored, so
  ``"DDEF?1;"`` is one command);
* a mnemonic of letters, optionally ``*``-prefixed (``*IDN?``) or ``:``-prefixed,
  in any case, then ``?`` for a query, then comma-separated arguments with or
  without spaces: ``SENS5``, ``SENS 5``, ``sens 5``, ``OUTP?1``, ``OUTP? 1``,
  ``SNAP?1,2``, ``SNAP? 0, 1``;
* SR860 enumerated tokens (``SNAP? X,Y``, ``RSRC CHOP``) with the manual's rule
  that the upper-case part of a token is its shortest spelling (``THeta``:
  ``TH``, ``THE`` ... ``THETA``).

Errors are signalled by raising :class:`CommandError` (bad syntax, unknown
command: the SRS "CMD" bit) or :class:`ExecutionError` (a parameter out of
range or a command not allowed now: the "EXE" bit).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_COMMAND_RE = re.compile(r"^:?(\*?[A-Za-z]+)\s*(\?)?\s*(.*)$", re.DOTALL)


class CommandError(ValueError):
    """Illegal syntax or unknown command (sets the CMD bit of ``*ESR``)."""


class ExecutionError(ValueError):
    """Parameter out of range or command not allowed now (sets the EXE bit)."""


@dataclass(frozen=True, slots=True)
class Command:
    """One parsed command: upper-case mnemonic, query flag, raw arguments."""

    name: str
    query: bool
    args: tuple[str, ...]


def split_commands(line: str) -> list[str]:
    """Split one line into its ``;``-separated commands, dropping empty ones."""
    return [part.strip() for part in line.split(";") if part.strip()]


def parse_command(text: str) -> Command:
    """Parse ``text`` (one command, no ``;``) into a :class:`Command`.

    Raises
    ------
    CommandError
        If it does not start with a mnemonic.
    """
    m = _COMMAND_RE.match(text.strip())
    if m is None:
        raise CommandError(f"cannot parse {text!r}")
    name, qmark, rest = m.groups()
    rest = rest.strip()
    args = tuple(a.strip() for a in rest.split(",")) if rest else ()
    if any(a == "" for a in args):
        raise CommandError(f"empty argument in {text!r}")
    return Command(name.upper(), qmark is not None, args)


def to_float(arg: str) -> float:
    """Parse a numeric argument (``1e3``, ``1.0E+03``, `` 7 ``).

    Raises
    ------
    CommandError
        If it is not a finite number.
    """
    try:
        value = float(arg)
    except ValueError:
        raise CommandError(f"not a number: {arg!r}") from None
    if not math.isfinite(value):
        raise CommandError(f"not a finite number: {arg!r}")
    return value


def to_int(arg: str, lo: int, hi: int) -> int:
    """Parse an integer argument and check ``lo <= value <= hi``.

    ``"3"`` and ``"3.0"`` are accepted; ``"3.5"`` is a :class:`CommandError`,
    a value outside the range an :class:`ExecutionError`.
    """
    value = to_float(arg)
    if value != int(value):
        raise CommandError(f"not an integer: {arg!r}")
    ivalue = int(value)
    if not lo <= ivalue <= hi:
        raise ExecutionError(f"{ivalue} outside [{lo}, {hi}]")
    return ivalue


def match_token(arg: str, tokens: tuple[str, ...]) -> int | None:
    """Index of the SR860 token that ``arg`` spells, or ``None``.

    Each token is written as in the manual, its required part in upper case
    (``"THeta"``): ``arg`` must start with that part and be a prefix of the
    whole word, in any case.
    """
    word = arg.strip().upper()
    for i, token in enumerate(tokens):
        required = len(token) - len(token.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
        full = token.upper()
        if len(word) >= max(required, 1) and full.startswith(word):
            return i
    return None


def to_index(arg: str, count: int, tokens: tuple[str, ...] = ()) -> int:
    """Parse an index ``0..count-1`` given as a number or (SR860) as a token."""
    if tokens and arg.strip()[:1].isalpha():
        index = match_token(arg, tokens)
        if index is None:
            raise CommandError(f"unknown token {arg!r}")
        return index
    return to_int(arg, 0, count - 1)


def format_value(value: float) -> str:
    """Format a measured value as the SRS instruments do (6 significant digits)."""
    return f"{value:.6e}"


def format_setting(value: float) -> str:
    """Format a setting: integers plainly, other numbers with 7 significant digits."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.7g}"
