"""Run a single-pixel acquisition: project each pattern, dwell, read the bucket, write.

The stage holds the sample still; the projector (DMD) structures the pump
over the field of view. Patterns come from the basis spec in chunks that fit
the projector's memory; the raw readings (complementary pairs for binary
projectors) are written and flushed one by one, like raster points.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imager.engine.faults import FaultPolicy, policy_from_recipe, read_point
from imager.engine.power import PowerMonitor
from imager.engine.progress import LabProgress
from imager.engine.raster import resume_lab, run_guarded
from imager.engine.stop import StopRequest
from imager.lab import Lab, apply_settings
from imager.recipes import Recipe
from imager.recipes.recipe import single_pixel_basis
from imager.results_display import SinglePixelResultDisplay
from imager.storage.single_pixel import SinglePixelWriter


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


def run_single_pixel(lab: Lab, recipe: Recipe, path: str | Path, *, progress: bool = True,
                     stop: StopRequest | None = None, handle_ctrl_c: bool = True,
                     live_raw: np.ndarray | None = None,
                     calibration: dict | None = None, resume: bool = False,
                     faults: FaultPolicy | None = None) -> SinglePixelResult:
    """Acquire one bucket reading per pattern of the recipe's basis.

    Parameters
    ----------
    lab : Lab
        Needs a ``projector`` besides the usual devices.
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
        changed applied again (see :func:`imager.engine.raster.resume_lab`).

    Returns
    -------
    SinglePixelResult
    """
    projector = getattr(lab, "projector", None)
    if projector is None:
        raise recipe.error("kind: this lab has no pattern projector for single-pixel scans")
    spi = recipe.sections["single_pixel"]
    basis = single_pixel_basis(recipe)
    apply_settings(lab, recipe)
    centre = (spi["center_x_um"], spi["center_y_um"])
    lab.stage.check_within_travel(*centre)
    lab.stage.move_to(*centre)
    lab.stage.wait_settled()
    projector.fov_um = spi["fov_um"]
    dwell_s = recipe.dwell_s(lab.lockin.time_constant_s)
    n_patterns = basis.n_patterns
    chunk = min(n_patterns, projector.max_patterns)
    raw = live_raw if live_raw is not None else np.full(n_patterns, np.nan)
    start = 0
    if resume:
        writer = SinglePixelWriter.reopen(path)
        start, lab_start = writer.first_missing, writer.lab_start_s
        raw[...] = writer.readings_so_far()
    loaded = max(start - 2, 0)  # index of the first pattern in the projector's memory
    projector.load(basis.patterns(loaded, min(loaded + chunk, n_patterns)))
    projector.enabled = True
    expected = getattr(lab, "expected_pattern_image", None)
    truth = expected() if expected is not None else None
    if not resume:
        lab_start = lab.clock.now_s()
        writer = SinglePixelWriter(
            path, basis_spec=basis.spec(), n_patterns=n_patterns, fov_um=spi["fov_um"],
            center_um=centre, recipe_text=recipe.text, dwell_s=dwell_s,
            instruments={name: dev.settings() for name, dev in lab.instruments().items()},
            lab=lab.settings(), truth_V=truth, chart=getattr(lab, "chart", None),
            calibration=calibration, lab_start_s=lab_start)
    else:
        resume_lab(lab, writer, lambda record: projector.show(int(record["index"]) - loaded))
    bar = LabProgress(n_patterns, done=writer.points_written, enabled=progress,
                      desc=recipe.name)
    writer.event_listener = bar.on_event
    wall_start = time.perf_counter()

    def acquire(stop: StopRequest) -> None:
        nonlocal loaded
        clock, stage = lab.clock, lab.stage
        policy = faults or policy_from_recipe(recipe)
        begin_point = getattr(lab, "begin_point", None)
        x_um, y_um = stage.position_um()
        monitor = PowerMonitor.start(lab, writer, policy, lab_start)
        for k in range(start, n_patterns):
            if k >= loaded + chunk:
                loaded = k
                projector.load(basis.patterns(k, min(k + chunk, n_patterns)))
            if begin_point is not None:
                begin_point(k)
            projector.show(k - loaded)
            if dwell_s > 0:
                clock.sleep(dwell_s)
            reading = read_point(lab, writer, k, dwell_s, lab_start, policy, monitor)
            writer.write_reading(k, x_um, y_um, reading, clock.now_s() - lab_start, time.time())
            raw[k] = reading.x_V
            bar.update(k + 1, clock.now_s() - lab_start)
            if stop.is_set():
                break

    try:
        status, error = run_guarded(lab, writer, bar, stop, handle_ctrl_c, acquire)
    finally:
        projector.enabled = False
    return SinglePixelResult(Path(path), basis, raw, status, writer.points_written,
                             lab.clock.now_s() - lab_start, time.perf_counter() - wall_start,
                             truth, error)
