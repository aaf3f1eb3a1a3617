"""Load and validate a recipe into a :class:`Recipe`.

Every problem is reported as a :class:`RecipeError` whose one-line message
names the file, the section and key, what is allowed and what was given.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imager.plans.raster import RasterGrid
from imager.recipes.checks import (  # noqa: F401 - re-exported
    check_consistency,
    single_pixel_basis,
    spectral_wavelengths,
)
from imager.recipes.schema import COMMON_SECTIONS, KIND_SECTIONS, TOP_LEVEL, Field
from imager.recipes.units import parse_quantity, unit_of_key

DEFAULT_DWELL_TC = 10.0


class RecipeError(ValueError):
    """A recipe is invalid; the message is one line naming the field."""


@dataclass
class Recipe:
    """A validated recipe, every quantity in the unit its key names.

    Attributes
    ----------
    kind, name, description : str
    sections : dict
        ``{"scan": {...}, "lockin": {...}, ...}`` with defaults filled in.
    text : str
        The TOML text as given (stored verbatim in the scan file).
    source : str
        Where it came from (a path, or ``"<default>"``).
    """

    kind: str
    name: str
    description: str
    sections: dict[str, dict[str, Any]]
    text: str
    source: str = "<default>"

    @property
    def grid(self) -> RasterGrid:
        if self.kind != "raster":
            raise self.error(f"kind = {self.kind!r} has no raster grid")
        s = self.sections["scan"]
        return RasterGrid(
            s["x_start_um"], s["x_stop_um"], s["nx"],
            s["y_start_um"], s["y_stop_um"], s["ny"], s["order"],
        )

    def dwell_s(self, time_constant_s: float | None = None) -> float:
        """Dwell after each move or pattern in seconds (``dwell_tc`` x the time constant)."""
        s = self.sections["single_pixel" if self.kind == "single_pixel" else "scan"]
        if s["dwell_s"] is not None:
            return float(s["dwell_s"])
        tc = time_constant_s
        if tc is None:
            tc = self.sections["lockin"]["time_constant_s"]
        tcs = DEFAULT_DWELL_TC if s["dwell_tc"] is None else s["dwell_tc"]
        return float(tcs * tc)

    def error(self, message: str) -> RecipeError:
        return RecipeError(f"{self.source}: {message}")

    def with_overrides(self, note: str = "", **sections: dict[str, Any]) -> Recipe:
        """A copy with some keys replaced, validated again, its text rewritten to match.

        Each overridden key is rewritten in its table of :attr:`text` (with the
        comment ``# <note>``), so the text a scan file stores parses to the
        settings the scan ran with (:mod:`imager.recipes.overrides`).

        Parameters
        ----------
        note : str
            Why, e.g. ``"--seed"``; kept as a comment on the rewritten lines.
        **sections : dict
            ``section={key: value}``, values in the key's unit.

        Returns
        -------
        Recipe

        Raises
        ------
        RecipeError
            An unknown section or key, or a value out of range (one line naming it).

        Examples
        --------
        >>> r = default_recipe().with_overrides("--seed", sim={"seed": 7})
        >>> r.sections["sim"]["seed"], parse_recipe(r.text).sections["sim"]["seed"]
        (7, 7)
        """
        from imager.recipes.overrides import override_recipe

        return override_recipe(self, note, sections)


def _check_value(where: str, key: str, spec: Field, value: Any, unit: str | None = None) -> Any:
    """Validate and normalise one value; raise RecipeError(one line).

    ``unit`` overrides the unit named by the key's suffix (list elements).
    """

    def fail(reason: str) -> RecipeError:
        return RecipeError(f"{where}{key}: {reason}")

    if spec.kind == "str":
        if not isinstance(value, str):
            raise fail(f"must be a string ({spec.describe_range()}), got {value!r}")
        if spec.choices is not None and value not in spec.choices:
            raise fail(f"must be {spec.describe_range()}, got {value!r}")
        return value
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise fail(f"must be true or false, got {value!r}")
        return value
    if spec.kind in ("int_list", "float_list"):
        element = spec.kind.removesuffix("_list")
        allow_empty = isinstance(spec.default, list) and not spec.default
        if not isinstance(value, list) or (not value and not allow_empty):
            raise fail(f"must be a {'' if allow_empty else 'non-empty '}list of {element}s "
                       f"{spec.describe_range()}, got {value!r}")
        unit = unit_of_key(key)
        item = Field(element, lo=spec.lo, hi=spec.hi)
        return [_check_value(where, f"{key}[{i}]", item, v, unit=unit)
                for i, v in enumerate(value)]
    if spec.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise fail(f"must be an integer {spec.describe_range()}, got {value!r}")
        number: float = value
    else:  # float with a unit from the key's suffix
        unit = unit or unit_of_key(key)
        try:
            number = parse_quantity(value, unit) if unit else _plain_float(value)
        except ValueError as exc:
            raise fail(str(exc)) from None
        if not math.isfinite(number):
            raise fail(f"must be a finite number {spec.describe_range()}, got {value!r}")
    if spec.choices is not None and number not in spec.choices:
        raise fail(f"must be {spec.describe_range()}, got {value!r}")
    if (spec.lo is not None and number < spec.lo) or (spec.hi is not None and number > spec.hi):
        unit = unit or unit_of_key(key) or ""
        what = "an integer " if spec.kind == "int" else ""
        raise fail(f"must be {what}{spec.describe_range()}{(' ' + unit) if unit else ''}, "
                   f"got {value!r}")
    return number


def _plain_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {value!r}")
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"number too large: {str(value)[:20]}...") from None


def _check_keys(where: str, given: dict, allowed: dict) -> None:
    for key in given:
        if key not in allowed:
            raise RecipeError(
                f"{where}unknown key {key!r} (allowed: {', '.join(sorted(allowed))})"
            )


def parse_recipe(text: str, source: str = "<string>") -> Recipe:
    """Parse and validate recipe TOML text.

    Parameters
    ----------
    text : str
        The recipe as TOML.
    source : str
        Name used in error messages (usually the file path).

    Returns
    -------
    Recipe

    Raises
    ------
    RecipeError
        One line naming the file, the field, what is allowed and what was given.
    """
    try:
        raw = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError) as exc:  # ValueError: absurdly long integers
        raise RecipeError(f"{source}: not valid TOML: {str(exc).splitlines()[0]}") from None
    prefix = f"{source}: "
    kind = _check_value(prefix, "kind", TOP_LEVEL["kind"], raw.get("kind", "raster"))
    section_specs = {**KIND_SECTIONS[kind], **COMMON_SECTIONS}
    for key in raw:
        if key not in TOP_LEVEL and key not in section_specs:
            others = [k for k, secs in KIND_SECTIONS.items() if key in secs]
            if others:
                raise RecipeError(f"{prefix}[{key}] belongs to kind = {others[0]!r} recipes, "
                                  f"this one is kind = {kind!r}")
    _check_keys(prefix, raw, {**TOP_LEVEL, **section_specs})
    top = {}
    for key, spec in TOP_LEVEL.items():
        top[key] = _check_value(prefix, key, spec, raw[key]) if key in raw else spec.default
    sections: dict[str, dict[str, Any]] = {}
    for name, fields in section_specs.items():
        given = raw.get(name, {})
        where = f"{prefix}[{name}] "
        if not isinstance(given, dict):
            raise RecipeError(f"{prefix}[{name}] must be a table, got {given!r}")
        _check_keys(where, given, fields)
        sections[name] = {
            key: _check_value(where, key, spec, given[key]) if key in given else _copy(spec.default)
            for key, spec in fields.items()
        }
    recipe = Recipe(top["kind"], top["name"], top["description"], sections, text, source)
    check_consistency(recipe)
    return recipe


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


#: the table a recipe file of each kind must fill (at least one key)
MAIN_SECTION = {"raster": "scan", "single_pixel": "single_pixel", "calibration": "calibration"}


def load_recipe(path: str | Path) -> Recipe:
    """Read and validate a recipe file.

    A recipe file must say what it does: besides being valid, it needs the
    table of its kind (``kind``, default "raster") with at least one key:
    ``[scan]`` for a raster (ranges, points), ``[single_pixel]`` or
    ``[calibration]``. An empty or comment-only file is an error, not the
    default scan (:func:`default_recipe` builds that in code).

    Parameters
    ----------
    path : str or Path
        The TOML file.

    Returns
    -------
    Recipe

    Raises
    ------
    RecipeError
        One line naming the file: unreadable, invalid, or missing its kind's table.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecipeError(f"{path}: recipe file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError(f"{path}: cannot read recipe: {exc}") from None
    recipe = parse_recipe(text, str(path))
    _check_says_what_it_does(recipe)
    return recipe


def _check_says_what_it_does(recipe: Recipe) -> None:
    """RecipeError unless the recipe's text fills the table of its kind."""
    raw = tomllib.loads(recipe.text)  # parse_recipe has accepted it
    section = MAIN_SECTION[recipe.kind]
    if raw.get(section):
        return
    rule = (f"a {recipe.kind} recipe needs a [{section}] table with at least one key "
            f"({', '.join(list(KIND_SECTIONS[recipe.kind][section])[:3])}, ...)")
    if not raw:
        raise recipe.error("empty recipe (nothing but comments or blanks): a recipe names its "
                           "kind (default \"raster\") and fills its table, [scan] (x_start_um, "
                           "x_stop_um, nx, ...), [single_pixel] or [calibration]; see "
                           "scans/*.toml")
    raise recipe.error(f"[{section}] missing or empty: {rule}")


def default_recipe(**overrides: dict[str, Any]) -> Recipe:
    """The demo recipe (simulated USAF-1951 raster), optionally with section overrides.

    Examples
    --------
    >>> r = default_recipe(scan={"nx": 32, "ny": 32})
    >>> r.grid.shape
    (32, 32)
    """
    lines = ['kind = "raster"', 'name = "usaf_demo"']
    for section, values in overrides.items():
        lines.append(f"[{section}]")
        for key, value in values.items():
            lines.append(f"{key} = {_toml_value(value)}")
    return parse_recipe("\n".join(lines) + "\n", "<default>")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)
