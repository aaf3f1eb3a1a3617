"""The scan kinds a recipe can ask for, in one table: how each runs, resumes and previews.

The CLI (``scan``, ``demo``, ``resume``, ``--live``) looks a recipe's kind up
here instead of branching on it; a new kind of scan is a plan, a file layout
and one row of :data:`KINDS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from imager.engine.raster import run_raster
from imager.engine.single_pixel import run_single_pixel


@dataclass(frozen=True)
class LiveView:
    """What a live view of a running scan draws: the array the engine fills
    (``signal``), the image axes, and ``snapshot()`` turning it into an image."""

    signal: np.ndarray
    x_um: np.ndarray
    y_um: np.ndarray
    snapshot: Callable[[], np.ndarray]


@dataclass(frozen=True)
class ScanKind:
    """One kind of scan.

    Attributes
    ----------
    name : str
        The recipe's ``kind``, and the file's ``/entry/definition`` kind.
    unit : str
        What one reading is, for messages ("points", "patterns").
    run : callable
        ``run(lab, recipe, path, live=None, **options)``: run (or, with
        ``resume=True``, continue) a scan; ``live`` is the :class:`LiveView`
        signal array to fill.
    live_view : callable
        ``live_view(recipe) -> LiveView``.
    sizes : callable
        ``sizes(recipe) -> {dimension: size}`` of the file's tables (resume checks).
    load : callable
        ``load(path)``: the file's reader (:mod:`reconstruction`), with
        ``points_done``, ``points_total``, ``exit_status``, ``recipe_toml``, ``lab``.
    """

    name: str
    unit: str
    run: Callable[..., Any]
    live_view: Callable[[Any], LiveView]
    sizes: Callable[[Any], dict[str, int]]
    load: Callable[[Any], Any]


def _raster_live(recipe: Any) -> LiveView:
    grid = recipe.grid
    image = np.full(grid.shape, np.nan)
    return LiveView(image, grid.x_um, grid.y_um, image.copy)


def _raster_sizes(recipe: Any) -> dict[str, int]:
    grid = recipe.grid
    return {"nx": grid.nx, "ny": grid.ny, "points_total": grid.n_points}


def _spi_live(recipe: Any) -> LiveView:
    from imager.recipes.recipe import single_pixel_basis

    basis = single_pixel_basis(recipe)
    spi = recipe.sections["single_pixel"]
    x_um, y_um = (c + (np.arange(basis.size) - (basis.size - 1) / 2) * spi["fov_um"]
                  / basis.size for c in (spi["center_x_um"], spi["center_y_um"]))
    raw = np.full(basis.n_patterns, np.nan)
    return LiveView(raw, x_um, y_um, lambda: spi_preview(basis, raw.copy()))


def spi_preview(basis: Any, raw: np.ndarray) -> np.ndarray:
    """Minimum-norm image of the complete pairs measured so far (NaN before the first):
    low orders come first, so the preview sharpens as the scan goes on."""
    finite = np.isfinite(raw)
    pairs = (int(np.argmin(finite)) if not finite.all() else finite.size) // 2
    if pairs == 0:
        return np.full(basis.shape, np.nan)
    y = np.zeros(basis.m)
    y[:pairs] = basis.combine(raw[: 2 * pairs])
    return basis.adjoint(y)


def _spi_sizes(recipe: Any) -> dict[str, int]:
    from imager.recipes.recipe import single_pixel_basis

    return {"points_total": single_pixel_basis(recipe).n_patterns}


def _load_raster(path: Any) -> Any:
    from reconstruction import load_raster

    return load_raster(path)


def _load_single_pixel(path: Any) -> Any:
    from reconstruction.spifile import load_single_pixel

    return load_single_pixel(path)


KINDS: dict[str, ScanKind] = {
    "raster": ScanKind(
        "raster", "points",
        lambda lab, recipe, path, live=None, **kw: run_raster(lab, recipe, path,
                                                              live_image=live, **kw),
        _raster_live, _raster_sizes, _load_raster),
    "single_pixel": ScanKind(
        "single_pixel", "patterns",
        lambda lab, recipe, path, live=None, **kw: run_single_pixel(lab, recipe, path,
                                                                    live_raw=live, **kw),
        _spi_live, _spi_sizes, _load_single_pixel),
}
"""Scan kinds by recipe ``kind``. (Calibration runs are not scans: ``mirimager calibrate``.)"""
