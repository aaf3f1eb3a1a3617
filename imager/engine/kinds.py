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
from imager.engine.spectral import run_spectral, run_spectral_single_pixel, spectral_cube_shape


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
    shown = basis.n_patterns
    if basis.ordering == "adaptive":  # later rounds are chosen in the plan: preview the first
        from imager.plans.adaptive_spi import round_edges

        step = spi["block_patterns"] // 2 if spi["readout"] == "stream" else 1
        shown = 2 * round_edges(basis.m, spi["adaptive_first"], spi["adaptive_rounds"],
                                step)[1]
    return LiveView(raw, x_um, y_um, lambda: spi_preview(basis, raw[:shown].copy()))


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


def _spectral_live(recipe: Any) -> LiveView:
    grid = recipe.grid
    cube = np.full(spectral_cube_shape(recipe), np.nan)

    def latest() -> np.ndarray:
        """The image of the newest wavelength measured (a live view shows one)."""
        measured = np.flatnonzero(np.isfinite(cube).any(axis=(1, 2)))
        return cube[measured[-1] if measured.size else 0].copy()

    return LiveView(cube, grid.x_um, grid.y_um, latest)


def _spectral_sizes(recipe: Any) -> dict[str, int]:
    nw, ny, nx = spectral_cube_shape(recipe)
    return {"nx": nx, "ny": ny, "nw": nw, "points_total": nw * ny * nx}


def _spectral_spi_live(recipe: Any) -> LiveView:
    from imager.recipes.recipe import single_pixel_basis, spectral_wavelengths

    basis = single_pixel_basis(recipe)
    view = _spi_live(recipe)
    raw = np.full((len(spectral_wavelengths(recipe)), basis.n_patterns), np.nan)

    def latest() -> np.ndarray:
        """The preview of the newest wavelength measured."""
        measured = np.flatnonzero(np.isfinite(raw).any(axis=1))
        return spi_preview(basis, raw[measured[-1] if measured.size else 0].copy())

    return LiveView(raw, view.x_um, view.y_um, latest)


def _spectral_spi_sizes(recipe: Any) -> dict[str, int]:
    from imager.recipes.recipe import single_pixel_basis, spectral_wavelengths

    nw, n = len(spectral_wavelengths(recipe)), single_pixel_basis(recipe).n_patterns
    return {"nw": nw, "n_patterns": n, "points_total": nw * n,
            "size": single_pixel_basis(recipe).size}


def _load_spectral_spi(path: Any) -> Any:
    from reconstruction.spectral.singlepixel import load_spectral_single_pixel

    return load_spectral_single_pixel(path)


def _load_spectral(path: Any) -> Any:
    from reconstruction.spectral.cube import load_cube

    return load_cube(path)


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
    "spectral": ScanKind(
        "spectral", "readings",
        lambda lab, recipe, path, live=None, **kw: run_spectral(lab, recipe, path,
                                                                live_cube=live, **kw),
        _spectral_live, _spectral_sizes, _load_spectral),
    "spectral_single_pixel": ScanKind(
        "spectral_single_pixel", "patterns",
        lambda lab, recipe, path, live=None, **kw: run_spectral_single_pixel(
            lab, recipe, path, live_raw=live, **kw),
        _spectral_spi_live, _spectral_spi_sizes, _load_spectral_spi),
}
"""Scan kinds by file kind. (Calibration runs are not scans: ``mirimager calibrate``.)"""


def kind_of(recipe: Any) -> ScanKind | None:
    """The scan kind a recipe runs: its ``kind``, or ``spectral`` for a raster recipe with
    ``[spectral]`` wavelengths; None for a calibration recipe."""
    from imager.recipes.recipe import spectral_wavelengths

    if recipe.kind in ("raster", "single_pixel") and spectral_wavelengths(recipe):
        return KINDS["spectral" if recipe.kind == "raster" else "spectral_single_pixel"]
    return KINDS.get(recipe.kind)
