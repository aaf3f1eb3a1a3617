"""Quantities in recipes: a plain number in the key's unit, or a string with a unit.

``x_start_um = 12300`` and ``x_start_um = "12.3 mm"`` mean the same. The key's
suffix names the unit the value is converted to.
"""

from __future__ import annotations

import re

# unit -> (dimension, factor to the dimension's base unit)
_UNITS: dict[str, tuple[str, float]] = {
    "nm": ("length", 1e-3),
    "um": ("length", 1.0),
    "µm": ("length", 1.0),
    "mm": ("length", 1e3),
    "us": ("time", 1e-6),
    "µs": ("time", 1e-6),
    "ms": ("time", 1e-3),
    "s": ("time", 1.0),
    "min": ("time", 60.0),
    "Hz": ("frequency", 1.0),
    "kHz": ("frequency", 1e3),
    "nW": ("power", 1e-6),
    "uW": ("power", 1e-3),
    "µW": ("power", 1e-3),
    "mW": ("power", 1.0),
    "W": ("power", 1e3),
    "nV": ("voltage", 1e-9),
    "uV": ("voltage", 1e-6),
    "µV": ("voltage", 1e-6),
    "mV": ("voltage", 1e-3),
    "V": ("voltage", 1.0),
    "deg": ("angle", 1.0),
}

_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-zµ]+)\s*$")


def parse_quantity(value: object, unit: str) -> float:
    """Convert ``value`` to ``unit``.

    Parameters
    ----------
    value : int, float or str
        A number (taken to be in ``unit`` already) or a string ``"<number> <unit>"``.
    unit : str
        Target unit, one of the units above.

    Returns
    -------
    float
        The value in ``unit``.

    Raises
    ------
    ValueError
        With a short reason (not a number, unknown unit, wrong dimension).
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a number in {unit}, got {value!r}")
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:
            raise ValueError(f"number too large: {str(value)[:20]}...") from None
    if not isinstance(value, str):
        raise ValueError(f"expected a number in {unit}, got {value!r}")
    match = _QUANTITY.match(value)
    if match is None:
        raise ValueError(
            f"expected a number in {unit} or a string like '1.5 {unit}', got {value!r}"
        )
    number, given = float(match.group(1)), match.group(2)
    if given not in _UNITS:
        raise ValueError(f"unknown unit {given!r} (expected {unit} or a compatible unit)")
    dim_given, factor_given = _UNITS[given]
    dim_target, factor_target = _UNITS[unit]
    if dim_given != dim_target:
        raise ValueError(f"unit {given!r} is a {dim_given}, expected a {dim_target} ({unit})")
    return number * factor_given / factor_target


def unit_of_key(key: str) -> str | None:
    """The unit named by a key's suffix (``x_start_um`` -> ``um``), or None."""
    suffix = key.rsplit("_", 1)[-1] if "_" in key else ""
    return suffix if suffix in _UNITS else None
