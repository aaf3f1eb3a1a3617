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
    _check_consistency(recipe)
    return recipe


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


def _check_consistency(recipe: Recipe) -> None:
    if not recipe.name.replace("-", "").replace("_", "").isalnum():
        raise recipe.error(f"name: must be letters, digits, '-' or '_', got {recipe.name!r}")
    if recipe.kind == "raster":
        _check_raster(recipe)
    elif recipe.kind == "single_pixel":
        _check_single_pixel(recipe)
    elif recipe.kind == "calibration":
        levels = recipe.sections["calibration"]["mir_power_mW"]
        if 0.0 not in levels or len(set(levels)) < 3:
            raise recipe.error("[calibration] mir_power_mW: needs 0 (the noise floor) and at "
                               f"least two other levels, got {levels!r}")


def _check_single_pixel(recipe: Recipe) -> None:
    _check_spectral(recipe)
    spi = recipe.sections["single_pixel"]
    if spi["dwell_s"] is not None and spi["dwell_tc"] is not None:
        raise recipe.error("[single_pixel] dwell_s and dwell_tc: give one of them, not both")
    size = spi["size"]
    if spi["basis"] in ("hadamard", "random") and size & (size - 1):
        raise recipe.error(f"[single_pixel] size: a {spi['basis']} basis needs a power of two "
                           f"(2, 4, ... 1024), got {size}")
    if spi["ordering"] == "adaptive":
        _check_adaptive(recipe)
    try:
        basis = single_pixel_basis(recipe)
    except ValueError as exc:
        field = "ordering" if "ordering" in str(exc) else "basis"
        raise recipe.error(f"[single_pixel] {field}: {exc}") from None
    if basis.m < 1:
        raise recipe.error(f"[single_pixel] ratio: {spi['ratio']:g} of {size}x{size} "
                           "leaves no measurement")
    block = min(spi["block_patterns"], basis.n_patterns)
    if spectral_wavelengths(recipe) and spi["readout"] == "stream" \
            and basis.n_patterns % block:
        fits = [d for d in range(min(block, basis.n_patterns), 0, -1)
                if basis.n_patterns % d == 0][0]
        raise recipe.error(f"[single_pixel] block_patterns: a streamed spectral scan needs "
                           f"blocks that tile each wavelength's {basis.n_patterns} patterns; "
                           f"{block} does not divide them (e.g. {fits})")


def _check_adaptive(recipe: Recipe) -> None:
    spi = recipe.sections["single_pixel"]
    if spi["basis"] != "hadamard":
        raise recipe.error("[single_pixel] ordering: 'adaptive' needs basis = \"hadamard\", "
                           f"got {spi['basis']!r}")
    if spi["readout"] == "stream" and spi["block_patterns"] % 2:
        raise recipe.error("[single_pixel] block_patterns: a streamed adaptive scan ends its "
                           "rounds with a block of whole pattern pairs; give an even number, "
                           f"got {spi['block_patterns']}")
    if spectral_wavelengths(recipe):
        raise recipe.error("[single_pixel] ordering: 'adaptive' is for one wavelength; a "
                           "spectral scan needs a fixed ordering (e.g. zigzag)")


def single_pixel_basis(recipe: Recipe):
    """The pattern basis a single-pixel recipe describes (a small spec, no matrix).

    For ``ordering = "adaptive"``: the zigzag basis of the same pattern count, as an
    `~reconstruction.spi.adaptive.IndexedHadamardBasis` (ordering ``"adaptive"``)
    whose coefficients after the first round the scan chooses as it goes
    (:mod:`imager.plans.adaptive_spi`).
    """
    from reconstruction import basis_from_spec

    spi = recipe.sections["single_pixel"]
    if spi["ordering"] == "adaptive" and spi["basis"] == "hadamard":
        from reconstruction.spi.adaptive import IndexedHadamardBasis, complete_index

        m = basis_from_spec({"kind": "hadamard", "size": spi["size"], "ratio": spi["ratio"],
                             "ordering": "zigzag"}).m
        return IndexedHadamardBasis(spi["size"], complete_index(spi["size"], [-1] * m))
    spec = {"kind": spi["basis"], "size": spi["size"], "ratio": spi["ratio"],
            "seed": spi["seed"]}
    if spi["ordering"] is not None:
        spec["ordering"] = spi["ordering"]
    return basis_from_spec(spec)


def spectral_wavelengths(recipe: Recipe) -> list[float]:
    """The wavelengths (um) of a recipe's ``[spectral]`` section, in scan order; empty for
    a recipe measuring at one wavelength (no ``[spectral]`` wavelengths)."""
    spec = recipe.sections.get("spectral")
    if not spec:
        return []
    if spec["wavelengths_um"]:
        return [float(w) for w in spec["wavelengths_um"]]
    if spec["start_um"] is None:
        return []
    n = int(math.floor(abs(spec["stop_um"] - spec["start_um"]) / spec["step_um"] + 1e-9)) + 1
    sign = 1.0 if spec["stop_um"] >= spec["start_um"] else -1.0
    return [round(spec["start_um"] + sign * i * spec["step_um"], 9) for i in range(n)]


def _check_spectral(recipe: Recipe) -> None:
    spec = recipe.sections["spectral"]
    rng = [k for k in ("start_um", "stop_um", "step_um") if spec[k] is not None]
    if spec["wavelengths_um"] and rng:
        raise recipe.error(f"[spectral] {rng[0]}: give wavelengths_um or start_um/stop_um/"
                           "step_um, not both")
    if rng and len(rng) < 3:
        missing = [k for k in ("start_um", "stop_um", "step_um") if spec[k] is None]
        raise recipe.error(f"[spectral] {missing[0]}: a wavelength range needs start_um, "
                           "stop_um and step_um")
    wavelengths = spectral_wavelengths(recipe)
    if len(set(wavelengths)) != len(wavelengths):
        raise recipe.error("[spectral] wavelengths_um: each wavelength once, got "
                           f"{spec['wavelengths_um']!r}")
    if len(wavelengths) > 4096:
        raise recipe.error(f"[spectral] step_um: {len(wavelengths)} wavelengths, at most 4096")
    if recipe.kind == "single_pixel":
        spi = recipe.sections["single_pixel"]
        if wavelengths and spi["readout"] == "stream" and spec["order"] != "image":
            raise recipe.error("[spectral] order: a streamed single-pixel scan records "
                               "blocks of patterns, so it measures an image per wavelength "
                               "(order = \"image\")")
        return
    if (spec["blank_x_um"] is None) != (spec["blank_y_um"] is None):
        raise recipe.error("[spectral] blank_y_um: the blank spot needs both blank_x_um and "
                           "blank_y_um")
    if wavelengths and recipe.sections["scan"]["mode"] == "fly" and spec["order"] != "image":
        raise recipe.error("[spectral] order: a fly raster flies whole lines, so it measures "
                           "an image per wavelength (order = \"image\")")


def _check_raster(recipe: Recipe) -> None:
    _check_spectral(recipe)
    scan = recipe.sections["scan"]
    if scan["dwell_s"] is not None and scan["dwell_tc"] is not None:
        raise recipe.error("[scan] dwell_s and dwell_tc: give one of them, not both")
    for axis in ("x", "y"):
        n = scan[f"n{axis}"]
        if n > 1 and scan[f"{axis}_start_um"] == scan[f"{axis}_stop_um"]:
            raise recipe.error(
                f"[scan] {axis}_stop_um: must differ from {axis}_start_um when n{axis} > 1"
            )


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
