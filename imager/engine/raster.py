"""Raster scans on the engine: the recipe's plan, the file, progress and live sinks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imager.engine.faults import FaultPolicy, policy_from_recipe
from imager.engine.run import run_plan
from imager.engine.sinks import ArraySink, ProgressSink
from imager.engine.stop import StopRequest
from imager.lab import Lab
from imager.plans.fly import fly_plan
from imager.plans.raster import RasterGrid, raster_plan
from imager.recipes import Recipe
from imager.results_display import ScanResultDisplay
from imager.storage.sinks import ScanFileSink


@dataclass
class ScanResult(ScanResultDisplay):
    """What a finished (or stopped) scan left behind."""

    path: Path
    grid: RasterGrid
    image_V: np.ndarray
    exit_status: str
    points_done: int
    lab_time_s: float
    wall_time_s: float
    truth_V: np.ndarray | None = None
    error_message: str = ""

    @property
    def points_total(self) -> int:
        return self.grid.n_points

    @property
    def x_um(self) -> np.ndarray:
        return self.grid.x_um

    @property
    def y_um(self) -> np.ndarray:
        return self.grid.y_um


def file_sinks(path: str | Path, kind: str, signal: np.ndarray, *, resume: bool,
               calibration: dict | None, progress: bool, block_points: int | None = None):
    """The sinks of a recipe's scan (file, progress bar, ``signal`` filled as readings
    arrive) and, with ``resume``, where the stopped file left off (else None);
    ``block_points``: the scan is written in blocks of that many points."""
    if resume:
        file = ScanFileSink.reopen(path, kind)
        signal[...] = file.writer.signal_so_far()
        where = file.resume_from(block_points)
    else:
        file, where = ScanFileSink(path, calibration), None
    return (file, ArraySink(signal), ProgressSink(progress)), where


def run_raster(
    lab: Lab,
    recipe: Recipe,
    path: str | Path,
    *,
    progress: bool = True,
    stop: StopRequest | None = None,
    handle_ctrl_c: bool = True,
    live_image: np.ndarray | None = None,
    calibration: dict | None = None,
    resume: bool = False,
    faults: FaultPolicy | None = None,
) -> ScanResult:
    """Acquire a raster image (or, with ``resume``, finish a stopped one).

    Parameters
    ----------
    lab : Lab
        Devices to use (simulated or real).
    recipe : Recipe
        A validated raster recipe; its instrument settings are applied first.
    path : path
        New scan file to write.
    progress : bool
        Show a progress bar on stderr.
    stop : StopRequest, optional
        Set it (from another thread, or Ctrl-C) to end after the current point.
    handle_ctrl_c : bool
        Turn Ctrl-C into a stop request while the scan runs (main thread only).
    live_image : ndarray, optional
        A ``grid.shape`` array the engine fills as points arrive, for a live view.
    calibration : dict, optional
        Responsivity attributes (from a calibration file) stored with the scan.
    resume : bool
        ``path`` is a stopped scan of this recipe: continue from its first
        missing point, in the same file, with every setting the scan had changed
        (a re-ranged lock-in, ...) applied again (:mod:`imager.plans.resume`).
    faults : FaultPolicy, optional
        Bounds of the fault handling (:mod:`imager.engine.faults`); default: the
        recipe's ``[faults]`` section.

    Returns
    -------
    ScanResult
        ``exit_status`` is "success", or "abort" after a stop request. An
        exception marks the file "fail" with its text, then propagates.
    """
    grid = recipe.grid
    image = live_image if live_image is not None else np.full(grid.shape, np.nan)
    fly = recipe.sections["scan"]["mode"] == "fly"
    sinks, where = file_sinks(path, "raster", image, resume=resume, calibration=calibration,
                              progress=progress, block_points=grid.nx if fly else None)
    plan = (fly_plan if fly else raster_plan)(recipe, where)
    run = run_plan(lab, plan, sinks, faults or policy_from_recipe(recipe), stop=stop,
                   handle_ctrl_c=handle_ctrl_c)
    return ScanResult(Path(path), grid, image, run.status, run.points_done, run.lab_time_s,
                      run.wall_time_s, run.truth_V, run.error)
