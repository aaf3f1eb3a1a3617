"""Single-pixel scans on the engine: the recipe's plan, the file, progress and live sinks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imager.engine.faults import FaultPolicy, policy_from_recipe
from imager.engine.raster import file_sinks
from imager.engine.run import run_plan
from imager.engine.stop import StopRequest
from imager.lab import Lab
from imager.plans.single_pixel import single_pixel_plan
from imager.recipes import Recipe
from imager.recipes.recipe import single_pixel_basis
from imager.results_display import SinglePixelResultDisplay


@dataclass
class SinglePixelResult(SinglePixelResultDisplay):
    """What a finished (or stopped) single-pixel scan left behind."""

    path: Path
    basis: object
    raw_V: np.ndarray
    exit_status: str
    points_done: int
    lab_time_s: float
    wall_time_s: float
    truth_V: np.ndarray | None = None
    error_message: str = ""

    @property
    def points_total(self) -> int:
        return self.basis.n_patterns


def run_single_pixel(lab: Lab, recipe: Recipe, path: str | Path, *, progress: bool = True,
                     stop: StopRequest | None = None, handle_ctrl_c: bool = True,
                     live_raw: np.ndarray | None = None,
                     calibration: dict | None = None, resume: bool = False,
                     faults: FaultPolicy | None = None) -> SinglePixelResult:
    """Acquire one bucket reading per pattern of the recipe's basis.

    Parameters
    ----------
    lab : Lab
        Needs a ``projector`` (declared in ``lab.capabilities()``) besides the usual devices.
    recipe : Recipe
        A validated ``kind = "single_pixel"`` recipe.
    path : path
        New scan file.
    live_raw : ndarray, optional
        ``(n_patterns,)`` array filled as readings arrive (NaN before), for a
        progressive preview drawn outside this loop.
    resume : bool
        ``path`` is a stopped scan of this recipe: continue from its first
        missing pattern in the same file, with every setting the scan had
        changed applied again (:mod:`imager.plans.resume`).

    Other parameters are those of :func:`imager.engine.run_raster`.

    Returns
    -------
    SinglePixelResult
    """
    if lab.capabilities().projector is None:
        raise recipe.error("kind: this lab has no pattern projector for single-pixel scans")
    basis = single_pixel_basis(recipe)
    raw = live_raw if live_raw is not None else np.full(basis.n_patterns, np.nan)
    spi = recipe.sections["single_pixel"]
    sinks, where = file_sinks(path, "single_pixel", raw, resume=resume,
                              calibration=calibration, progress=progress,
                              block_points=spi["block_patterns"] if spi["readout"] == "stream"
                              else None)
    run = run_plan(lab, single_pixel_plan(recipe, basis, where), sinks,
                   faults or policy_from_recipe(recipe), stop=stop, handle_ctrl_c=handle_ctrl_c)
    if basis.ordering == "adaptive" and np.isfinite(run.lab_time_s):  # the scan chose these
        from reconstruction.spifile import load_single_pixel

        basis = load_single_pixel(path).basis
    return SinglePixelResult(Path(path), basis, raw, run.status, run.points_done,
                             run.lab_time_s, run.wall_time_s, run.truth_V, run.error)
