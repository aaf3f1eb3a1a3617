"""Spectral rasters on the engine: the recipe's plan, the file, progress and live sinks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from imager.engine.faults import FaultPolicy, policy_from_recipe
from imager.engine.raster import file_sinks
from imager.engine.run import run_plan
from imager.engine.stop import StopRequest
from imager.lab import Lab
from imager.plans.raster import RasterGrid
from imager.plans.spectral import spectral_plan
from imager.recipes import Recipe


@dataclass(repr=False)
class SpectralScanResult:
    """What a finished (or stopped) spectral raster left behind.

    ``cube_V[iw, iy, ix]``: lock-in X at ``wavelengths_um[iw]`` (NaN where not measured);
    ``truth``: a simulated scan's noise-free cube and chart materials (or None).
    """

    path: Path
    grid: RasterGrid
    wavelengths_um: np.ndarray
    cube_V: np.ndarray
    exit_status: str
    points_done: int
    lab_time_s: float
    wall_time_s: float
    truth: dict[str, Any] | None = None
    error_message: str = ""

    @property
    def points_total(self) -> int:
        return self.cube_V.size

    @property
    def image_V(self) -> np.ndarray:
        """The cube (the live view and file show it per wavelength)."""
        return self.cube_V

    def __repr__(self) -> str:
        nw, ny, nx = self.cube_V.shape
        return (f"<SpectralScanResult {self.path.name}: {nw} wavelengths "
                f"{self.wavelengths_um.min():.2f}-{self.wavelengths_um.max():.2f} um x "
                f"{ny}x{nx}, {self.exit_status}, {self.points_done}/{self.points_total} "
                f"readings, lab time {self.lab_time_s / 60:.1f} min>")


def check_source(recipe: Recipe, lab: Lab) -> None:
    """RecipeError (one line, before anything is written) unless the lab's source can step
    through the recipe's wavelengths: a source set by hand cannot, and every wavelength
    must lie in the source's own tuning range (a MIRcat: one of its QCLs')."""
    from imager.recipes.recipe import spectral_wavelengths

    source = lab.source
    if not getattr(source, "tunable", True):
        raise recipe.error("[spectral] wavelengths_um: this lab's MIR source is set by hand "
                           "(driver \"manual\"), so a scan cannot step through wavelengths; "
                           "give the source a tunable driver (mircat)")
    ranges = list(getattr(source, "qcl_ranges_um", {}).values()) or [
        r for r in (getattr(source, "wavelength_range_um", None),
                    getattr(source, "WAVELENGTH_RANGE_UM", None)) if r is not None][:1]
    for w in spectral_wavelengths(recipe):
        if ranges and not any(lo <= w <= hi for lo, hi in ranges):
            allowed = ", ".join(f"[{lo:g}, {hi:g}]" for lo, hi in ranges)
            raise recipe.error(f"[spectral] wavelengths_um: {w:g} um is outside this lab's "
                               f"source tuning range {allowed} um")


def spectral_cube_shape(recipe: Recipe) -> tuple[int, int, int]:
    """``(nw, ny, nx)`` of a spectral raster recipe's cube."""
    from imager.recipes.recipe import spectral_wavelengths

    return (len(spectral_wavelengths(recipe)), *recipe.grid.shape)


def run_spectral(
    lab: Lab,
    recipe: Recipe,
    path: str | Path,
    *,
    progress: bool = True,
    stop: StopRequest | None = None,
    handle_ctrl_c: bool = True,
    live_cube: np.ndarray | None = None,
    calibration: dict | None = None,
    resume: bool = False,
    faults: FaultPolicy | None = None,
) -> SpectralScanResult:
    """Acquire a spectral raster (or, with ``resume``, finish a stopped one).

    Parameters are those of :func:`imager.engine.raster.run_raster`; ``live_cube`` is a
    ``(nw, ny, nx)`` array the engine fills as readings arrive.

    Returns
    -------
    SpectralScanResult
        ``exit_status`` is "success", or "abort" after a stop request. An exception
        marks the file "fail" with its text, then propagates.
    """
    from imager.recipes.recipe import spectral_wavelengths

    check_source(recipe, lab)
    cube = live_cube if live_cube is not None else np.full(spectral_cube_shape(recipe), np.nan)
    fly = recipe.sections["scan"]["mode"] == "fly"
    sinks, where = file_sinks(path, "spectral", cube, resume=resume, calibration=calibration,
                              progress=progress, block_points=recipe.grid.nx if fly else None)
    run = run_plan(lab, spectral_plan(recipe, where), sinks,
                   faults or policy_from_recipe(recipe), stop=stop, handle_ctrl_c=handle_ctrl_c)
    return SpectralScanResult(Path(path), recipe.grid,
                              np.asarray(spectral_wavelengths(recipe), dtype=float), cube,
                              run.status, run.points_done, run.lab_time_s, run.wall_time_s,
                              run.truth_V, run.error)


@dataclass(repr=False)
class SpectralSinglePixelResult:
    """What a spectral single-pixel scan left behind: ``raw_V[iw, k]``, the reading of
    pattern ``k`` at ``wavelengths_um[iw]`` (NaN where not measured)."""

    path: Path
    basis: Any
    wavelengths_um: np.ndarray
    raw_V: np.ndarray
    exit_status: str
    points_done: int
    lab_time_s: float
    wall_time_s: float
    truth: dict[str, Any] | None = None
    error_message: str = ""

    @property
    def points_total(self) -> int:
        return self.raw_V.size

    def __repr__(self) -> str:
        nw, n = self.raw_V.shape
        return (f"<SpectralSinglePixelResult {self.path.name}: {nw} wavelengths x {n} "
                f"patterns, {self.exit_status}, {self.points_done}/{self.points_total} "
                f"readings, lab time {self.lab_time_s / 60:.1f} min>")


def run_spectral_single_pixel(
    lab: Lab,
    recipe: Recipe,
    path: str | Path,
    *,
    progress: bool = True,
    stop: StopRequest | None = None,
    handle_ctrl_c: bool = True,
    live_raw: np.ndarray | None = None,
    calibration: dict | None = None,
    resume: bool = False,
    faults: FaultPolicy | None = None,
) -> SpectralSinglePixelResult:
    """Acquire a single-pixel recipe's patterns at each of its ``[spectral]`` wavelengths
    (or, with ``resume``, finish a stopped scan). Parameters as
    :func:`imager.engine.single_pixel.run_single_pixel`; ``live_raw`` is ``(nw, n)``."""
    from imager.plans.spectral_spi import spectral_single_pixel_plan
    from imager.recipes.recipe import single_pixel_basis, spectral_wavelengths

    check_source(recipe, lab)
    basis = single_pixel_basis(recipe)
    wavelengths = np.asarray(spectral_wavelengths(recipe), dtype=float)
    raw = live_raw if live_raw is not None else np.full((wavelengths.size, basis.n_patterns),
                                                        np.nan)
    streamed = recipe.sections["single_pixel"]["readout"] == "stream"
    sinks, where = file_sinks(path, "spectral_single_pixel", raw, resume=resume,
                              calibration=calibration, progress=progress,
                              block_points=min(recipe.sections["single_pixel"]
                                               ["block_patterns"], basis.n_patterns)
                              if streamed else None)
    run = run_plan(lab, spectral_single_pixel_plan(recipe, basis, where), sinks,
                   faults or policy_from_recipe(recipe), stop=stop, handle_ctrl_c=handle_ctrl_c)
    return SpectralSinglePixelResult(Path(path), basis, wavelengths, raw, run.status,
                                     run.points_done, run.lab_time_s, run.wall_time_s,
                                     run.truth_V, run.error)
