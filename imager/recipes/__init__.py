"""Scan recipes (TOML): parsing and validation before anything moves."""

from imager.recipes.recipe import Recipe, RecipeError, default_recipe, load_recipe, parse_recipe

__all__ = ["Recipe", "RecipeError", "default_recipe", "load_recipe", "parse_recipe"]
