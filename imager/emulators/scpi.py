"""SCPI command headers, as IEEE 488.2 / SCPI-1999 instruments parse them.

A command is written as in a programmer's manual, e.g.
``"[SENSe:]CORRection[:WAVelength]"``: each keyword's upper-case part is its
short form, the whole word its long form; a client may send either, in any
case, and nothing in between (``CORR`` or ``CORRECTION``, not ``CORRE``).
Keywords in brackets may be left out. A numeric suffix (``SENS1``) is taken
as ``1``. Several commands may share a line, separated by ``;``; a header
without a leading ``:`` after ``;`` continues from the previous command's
path, as the standard says (``SENS:CORR:WAV 7400;:MEAS:POW?``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_KEYWORD_RE = re.compile(r"^([A-Za-z_*]+?)(\d*)$")


class ScpiError(ValueError):
    """A SCPI error: ``code`` is the standard error number (e.g. -113)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code},\"{message}\"")
        self.code = code
        self.message = message


UNDEFINED_HEADER = -113
ILLEGAL_PARAMETER = -224
DATA_OUT_OF_RANGE = -222
MISSING_PARAMETER = -109


@dataclass(frozen=True)
class _Keyword:
    short: str
    long: str
    optional: bool


def compile_header(pattern: str) -> tuple[_Keyword, ...]:
    """Parse a manual-style header pattern into keywords."""
    keywords = []
    for part in re.findall(r"\[:?[^\]]+\]|[^:\[\]]+", pattern):
        optional = part.startswith("[")
        word = part.strip("[]:")
        short = "".join(c for c in word if c.isupper() or c in "*?")
        keywords.append(_Keyword(short.upper(), word.upper(), optional))
    return tuple(keywords)


def header_matches(words: list[str], pattern: tuple[_Keyword, ...]) -> bool:
    """True if the sent keywords spell the pattern (optional ones may be missing)."""
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if words:
        m = _KEYWORD_RE.match(words[0])
        word = m.group(1).upper() if m else ""
        if word in (head.short, head.long) and header_matches(words[1:], rest):
            return True
    return head.optional and header_matches(words, rest)


@dataclass(frozen=True)
class ScpiCommand:
    """One parsed program message unit."""

    words: list[str]
    query: bool
    args: tuple[str, ...]

    def arg(self, i: int = 0) -> str:
        """Argument ``i``; a missing one is SCPI error -109."""
        if i >= len(self.args):
            raise ScpiError(MISSING_PARAMETER, "Missing parameter")
        return self.args[i]


def split_units(line: str) -> list[str]:
    """Split a line into its ``;``-separated program message units (empty ones dropped)."""
    return [u.strip() for u in line.split(";") if u.strip()]


def parse_unit(text: str, path: list[str]) -> ScpiCommand:
    """Parse one unit; ``path`` is the previous command's keyword path (for ``;`` chains)."""
    header, _, rest = text.strip().partition(" ")
    query = header.endswith("?")
    header = header.rstrip("?")
    if header.startswith("*"):
        words = [header]
    elif header.startswith(":") or not path:
        words = header.lstrip(":").split(":")
    else:
        words = path + header.split(":")
    if not all(words) or not all(_KEYWORD_RE.match(w) for w in words):
        raise ScpiError(UNDEFINED_HEADER, "Undefined header")
    args = tuple(a.strip() for a in rest.split(",")) if rest.strip() else ()
    return ScpiCommand(words, query, args)


def parse_number(text: str, *, minimum: float, maximum: float, unit: str = "") -> float:
    """A numeric parameter, ``MIN``/``MINIMUM``/``MAX``/``MAXIMUM`` allowed.

    Raises ScpiError -224 if it is not a number, -222 if out of range.
    """
    word = text.strip().upper()
    if word in ("MIN", "MINIMUM"):
        return minimum
    if word in ("MAX", "MAXIMUM"):
        return maximum
    try:
        value = float(word.removesuffix(unit.upper()) if unit else word)
    except ValueError:
        raise ScpiError(ILLEGAL_PARAMETER, "Illegal parameter value") from None
    if not minimum <= value <= maximum:
        raise ScpiError(DATA_OUT_OF_RANGE, "Data out of range")
    return value


def parse_bool(text: str) -> bool:
    """``ON``/``OFF``/``1``/``0``."""
    word = text.strip().upper()
    if word in ("ON", "1"):
        return True
    if word in ("OFF", "0"):
        return False
    raise ScpiError(ILLEGAL_PARAMETER, "Illegal parameter value")
