"""Recipes with some keys replaced (``--seed`` and the like): validated, and said in the text.

:meth:`Recipe.with_overrides <imager.recipes.recipe.Recipe.with_overrides>` uses
:func:`override_recipe`. The new recipe's ``text`` is the old one with each
overridden key rewritten in its own table (``seed = 7  # --seed``), comments and
layout kept, so the text stored in a scan file parses to exactly the settings
the scan ran with. Where a line cannot be rewritten in place (a value spread
over several lines, a table written as dotted keys or inline), the text is
written out again from its values, with a note that its comments were dropped.
"""

from __future__ import annotations

import re
import tomllib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from imager.recipes.recipe import Recipe


def override_recipe(recipe: Recipe, note: str, sections: dict[str, dict[str, Any]]) -> Recipe:
    """``recipe`` with ``sections`` (``{"sim": {"seed": 7}}``) replacing its keys.

    Parameters
    ----------
    recipe : Recipe
    note : str
        Comment put on each rewritten line (e.g. ``"--seed"``); "" for none.
    sections : dict
        ``{section: {key: value}}``; values in the key's unit, as in a recipe file.

    Returns
    -------
    Recipe
        Validated again, its ``text`` parsing to its ``sections``.

    Raises
    ------
    RecipeError
        A section or key the recipe's kind does not have, or a value out of range
        (one line naming the section and key).
    """
    from imager.recipes.recipe import _toml_value, parse_recipe

    note = " ".join(note.split())
    text: str | None = recipe.text if recipe.text.endswith("\n") or not recipe.text \
        else recipe.text + "\n"
    for section, values in sections.items():
        for key, value in values.items():
            if text is not None:
                text = _set_key(text, section, key, _toml_value(value), note)
    if text is not None:
        try:
            new = parse_recipe(text, recipe.source)
        except ValueError:  # a table defined twice (dotted keys, inline): rewrite it all
            new = None
        if new is not None and all(_same(new.sections.get(s, {}).get(k), v, s, k, recipe)
                                   for s, values in sections.items() for k, v in values.items()):
            return new
    return parse_recipe(_rewritten(recipe, note, sections), recipe.source)


def _same(got: Any, value: Any, section: str, key: str, recipe: Recipe) -> bool:
    """Whether the parsed recipe holds ``value`` (validated as the schema does) at the key."""
    from imager.recipes.recipe import _check_value
    from imager.recipes.schema import COMMON_SECTIONS, KIND_SECTIONS

    spec = {**KIND_SECTIONS[recipe.kind], **COMMON_SECTIONS}.get(section, {}).get(key)
    if spec is None:
        return False
    return got == _check_value(f"{recipe.source}: [{section}] ", key, spec, value)


def _set_key(text: str, section: str, key: str, toml_value: str, note: str) -> str | None:
    """``text`` with ``key = toml_value`` in table ``[section]`` (replaced or added), or None
    if the key's line cannot be replaced on its own (a value over several lines)."""
    line = f"{key} = {toml_value}" + (f"  # {note}" if note else "") + "\n"
    lines = text.splitlines(keepends=True)
    header = re.compile(r"^\s*\[\s*" + re.escape(section) + r"\s*\]\s*(#.*)?$")
    start = next((i for i, s in enumerate(lines) if header.match(s)), None)
    if start is None:
        return text + f"\n[{section}]\n" + line
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"^\s*\[", lines[i])),
               len(lines))
    assignment = re.compile(r"^(\s*)" + re.escape(key) + r"\s*=")
    for i in range(start + 1, end):
        found = assignment.match(lines[i])
        if found is None:
            continue
        try:
            alone = key in tomllib.loads(lines[i])
        except tomllib.TOMLDecodeError:
            alone = False
        if not alone:
            return None
        was = lines[i].strip()
        comment = f"{note}; was: {was}" if note else f"was: {was}"
        lines[i] = f"{found.group(1)}{key} = {toml_value}  # {comment}\n"
        return "".join(lines)
    lines.insert(start + 1, line)
    return "".join(lines)


def _rewritten(recipe: Recipe, note: str, sections: dict[str, dict[str, Any]]) -> str:
    """The recipe's given values with the overrides, as TOML (comments not kept)."""
    from imager.recipes.recipe import _toml_value

    raw = tomllib.loads(recipe.text) if recipe.text else {}
    for section, values in sections.items():
        raw.setdefault(section, {}).update(values)
    out = [f"# {recipe.source} with {note or 'overrides'} (rewritten: its comments are "
           "not kept)"]
    out += [f"{k} = {_toml_value(v)}" for k, v in raw.items() if not isinstance(v, dict)]
    for section, values in raw.items():
        if isinstance(values, dict):
            out += ["", f"[{section}]"]
            out += [f"{k} = {_toml_value(v)}" for k, v in values.items()]
    return "\n".join(out) + "\n"
