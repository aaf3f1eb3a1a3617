"""Checks across keys and sections of a recipe, and what follows from them.

:func:`check_consistency` runs after every key has been checked on its own
(:mod:`imager.recipes.recipe`); :func:`single_pixel_basis` and
:func:`spectral_wavelengths` give the basis and the wavelengths a recipe describes.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from imager.recipes.recipe import Recipe


def check_consistency(recipe: Recipe) -> None:
    """The checks across keys and sections of a parsed recipe (one-line RecipeError)."""
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
