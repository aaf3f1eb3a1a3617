"""Declaration table of the SRS lock-in drivers' settings.

One :class:`Setting` row per instrument setting, the way PyMeasure's
``Instrument.control`` declares a property: the property name (with its unit),
the command, the codec that turns a value into the command's argument and a
reply into the value (:class:`Table`, :class:`Choice`, :class:`Number`,
:class:`Integer`), and whether the setting is restored after a reconnection.
:class:`~imager.drivers.srs_lockin.SRSLockIn` makes the properties,
``settings()`` and the restore list from a model's table;
:func:`lockin_settings` declares the rows both models share, from the model's
facts (:mod:`imager.instruments.srs`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal

from imager.instruments import srs

ALWAYS, WITH_INTERNAL_REFERENCE = "always", "with internal reference"
"""When a :class:`Setting` is restored after a reconnection."""


@dataclass(frozen=True)
class Table:
    """The instrument takes an index into ``values`` (its order).

    With ``round_up`` a value between entries selects the next larger one;
    without, only the listed values are accepted.
    """

    values: tuple[float, ...] | tuple[int, ...]
    round_up: bool = True
    parse: ClassVar[str] = "int"

    def encode(self, value: float, name: str) -> str:
        """The command argument for ``value`` (ValueError if the instrument has no such value)."""
        if self.round_up:
            return str(srs.index_at_least(self.values, value, name))
        if value not in self.values:
            raise ValueError(f"{name} must be one of {self.values}")
        return str(self.values.index(value))

    def decode(self, index: int) -> float:
        """The value of a parsed query reply (LookupError if it is not one)."""
        if not 0 <= index < len(self.values):
            raise LookupError(f"returned index {index} out of table")
        return self.values[index]


@dataclass(frozen=True)
class Choice:
    """The instrument takes the index of a named choice (``{name: index}``)."""

    indices: Mapping[str, int]
    parse: ClassVar[str] = "int"

    def encode(self, value: str, name: str) -> str:
        """The command argument for ``value`` (ValueError if the instrument has no such value)."""
        key = str(value).lower()
        if key not in self.indices:
            raise ValueError(f"{name} must be one of {sorted(self.indices)}")
        return str(self.indices[key])

    def decode(self, index: int) -> str:
        """The value of a parsed query reply (LookupError if it is not one)."""
        for key, i in self.indices.items():
            if i == index:
                return key
        raise LookupError(f"returned unknown index {index}")


@dataclass(frozen=True)
class Number:
    """A number sent in ``fmt`` after ``check(name, value)`` (validates, may normalise)."""

    fmt: str
    check: Callable[[str, float], float]
    parse: ClassVar[str] = "float"

    def encode(self, value: float, name: str) -> str:
        """The command argument for ``value`` (ValueError if the instrument has no such value)."""
        return format(self.check(name, value), self.fmt)

    def decode(self, value: float) -> float:
        """The value of a parsed query reply (LookupError if it is not one)."""
        return value


@dataclass(frozen=True)
class Integer:
    """A whole number."""

    parse: ClassVar[str] = "int"

    def encode(self, value: int, name: str) -> str:
        """The command argument for ``value`` (ValueError if the instrument has no such value)."""
        return str(int(value))

    def decode(self, value: int) -> int:
        """The value of a parsed query reply (LookupError if it is not one)."""
        return value


def _finite_phase(name: str, value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return srs.wrap_phase_deg(value)


def _positive(name: str, value: float) -> float:
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return value


@dataclass(frozen=True)
class Setting:
    """One instrument setting, declared once.

    Attributes
    ----------
    name : str
        Property name (with its unit) and key in :meth:`SRSLockIn.settings`.
    command : str
        Mnemonic: set ``"<command> <argument>"``, query ``"<command>?"``.
    codec : Table, Choice, Number or Integer
        How a value becomes the argument and a reply the value.
    doc : str
        The property's docstring.
    restore : str
        :data:`ALWAYS`: re-sent after a reconnection if the instrument lost it;
        :data:`WITH_INTERNAL_REFERENCE`: the same, last, and only while the
        internal reference is selected (``FREQ``: an external one is measured).
    """

    name: str
    command: str
    codec: Table | Choice | Number | Integer
    doc: str
    restore: Literal["always", "with internal reference"] = ALWAYS

    def as_property(self) -> property:
        """A property reading and writing this setting on the instrument."""
        return property(lambda driver: driver.get_setting(self),
                        lambda driver, value: driver.set_setting(self, value), doc=self.doc)


def lockin_settings(model: srs.LockInModel) -> tuple[Setting, ...]:
    """The settings both SRS models share, with ``model``'s tables and command names."""
    return (
        Setting("time_constant_s", "OFLT", Table(model.time_constants_s),
                "Output filter time constant, s (set: rounds up to the next table value)."),
        Setting("sensitivity_V", model.sensitivity_command, Table(model.sensitivities_V),
                "Full-scale sensitivity, V (set: rounds up to the next range)."),
        Setting("filter_slope_dB_per_oct", "OFSL", Table(srs.SLOPES_DB_PER_OCT, round_up=False),
                "Filter roll-off: 6, 12, 18 or 24 dB/octave."),
        Setting("reference_phase_deg", "PHAS", Number(".4f", _finite_phase),
                "Reference phase shift, degrees (set: wrapped into (-180, 180])."),
        Setting("reference_source", model.reference_command, Choice(model.reference_sources),
                f"Reference source: {', '.join(model.reference_sources)}."),
        Setting("reference_frequency_Hz", "FREQ", Number(".6g", _positive),
                "Reference frequency, Hz (the measured one with an external reference).",
                restore=WITH_INTERNAL_REFERENCE),
        Setting("harmonic", "HARM", Integer(), "Detection harmonic."),
    )
