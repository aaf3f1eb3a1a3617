"""Run a raster plan: move, settle, dwell, read, write; one point at a time.

The engine is the only place where plans meet devices and files. It knows the
lab only through the device interfaces, so the simulated lab and real
hardware run the same code.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from imager.engine.faults import (
    FaultPolicy,
    policy_from_recipe,
    read_point,
    restore_settings,
)
from imager.engine.power import PowerMonitor
from imager.engine.progress import LabProgress
from imager.engine.stop import StopRequest, ctrl_c_stops
from imager.lab import Lab, apply_settings
from imager.plans.raster import RasterGrid, raster_points
from imager.recipes import Recipe
from imager.results_display import ScanResultDisplay
from imager.storage import ScanWriter


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
    def x_um(self) -> np.ndarray:
        return self.grid.x_um

    @property
    def y_um(self) -> np.ndarray:
        return self.grid.y_um


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
        (a re-ranged lock-in, ...) applied again (see :func:`resume_lab`).
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
    apply_settings(lab, recipe)
    for x_um, y_um in ((grid.x_start_um, grid.y_start_um), (grid.x_stop_um, grid.y_stop_um)):
        lab.stage.check_within_travel(x_um, y_um)
    dwell_s = recipe.dwell_s(lab.lockin.time_constant_s)
    expected = getattr(lab, "expected_image", None)
    truth = expected(grid.x_um, grid.y_um) if expected is not None else None
    image = live_image if live_image is not None else np.full(grid.shape, np.nan)
    if resume:
        writer = ScanWriter.reopen(path)
        image[...] = writer.image_so_far()
        lab_start = writer.lab_start_s
        resume_lab(lab, writer, lambda record: lab.stage.move_to(float(record["x_set_um"]),
                                                                 float(record["y_set_um"])))
    else:
        lab_start = lab.clock.now_s()
        writer = ScanWriter(
            path, grid, recipe_text=recipe.text, dwell_s=dwell_s,
            instruments={name: dev.settings() for name, dev in lab.instruments().items()},
            lab=lab.settings(), truth_V=truth, chart=getattr(lab, "chart", None),
            calibration=calibration, lab_start_s=lab_start,
        )
    start = writer.first_missing if resume else 0
    bar = LabProgress(grid.n_points, done=writer.points_written, enabled=progress,
                      desc=recipe.name)
    writer.event_listener = bar.on_event
    wall_start = time.perf_counter()
    status, error = run_guarded(
        lab, writer, bar, stop, handle_ctrl_c,
        lambda stop: _acquire(lab, grid, writer, image, dwell_s, lab_start, stop, bar, start,
                              faults or policy_from_recipe(recipe)))
    return ScanResult(
        Path(path), grid, image, status, writer.points_written,
        lab.clock.now_s() - lab_start, time.perf_counter() - wall_start, truth, error,
    )


def run_guarded(lab, writer, bar, stop: StopRequest | None, handle_ctrl_c: bool,
                acquire: Callable[[StopRequest], None]) -> tuple[str, str]:
    """Run an acquisition loop; record how it ended in the file.

    Ctrl-C (when handled) or ``stop`` ends it after the current point as
    ``abort``; an exception marks the file ``fail`` with its text and
    propagates. The MIR source is switched off unless the scan succeeded.
    Returns ``(exit_status, error_message)``.
    """
    stop = stop or StopRequest()
    status, error = "success", ""
    try:
        with ctrl_c_stops(stop) if handle_ctrl_c else nullcontext():
            acquire(stop)
        if stop.is_set():
            status, error = "abort", stop.reason
    except KeyboardInterrupt:
        status, error = "abort", "interrupted by Ctrl-C"
    except BaseException as exc:
        _safe_off(lab)
        writer.log_event("stop", f"{type(exc).__name__}: {exc}")
        writer.close("fail", f"{type(exc).__name__}: {exc}")
        raise
    finally:
        bar.close()
    if status != "success":
        _safe_off(lab)
    writer.close(status, error)
    return status, error


def resume_lab(lab: Lab, writer: Any, put_back: Callable[[Any], None]) -> None:
    """Bring a fresh lab to the state of a stopped scan reopened by ``writer``.

    First every setting the engine changed during the completed points
    (``writer.settings_to_restore``: a lock-in re-ranged after an overload, ...)
    is applied again, in order; then the last completed points are replayed
    (:func:`restore_lab_state`; ``put_back(record)`` re-creates the conditions
    of the point of that ``/entry/scan/points`` record). If that fails, the
    file is closed as ``fail`` with the error (it stays resumable) and the
    error propagates.
    """
    try:
        restore_settings(lab, writer.settings_to_restore, str(writer.path))
        restore_lab_state(lab, [(writer.lab_start_s + float(record["t_lab_s"]),
                                 lambda record=record: put_back(record))
                                for record in writer.recent_done])
    except BaseException as exc:
        writer.close("fail", f"resume: {type(exc).__name__}: {exc}")
        raise


def restore_lab_state(lab: Lab, steps: Sequence[tuple[float, Callable[[], None]]]) -> None:
    """Bring a fresh lab to where a stopped scan left it, before resuming.

    ``steps`` are the last completed points, oldest first: ``(lab time of the
    reading, put_back)``, where ``put_back()`` re-creates the point's
    conditions (stage at its position, or its pattern on the projector). For
    each, the lab waits until the stage and the lock-in have settled; on a
    simulated lab its clock is instead advanced to the lab time of the
    reading, so a replayed point takes exactly as long as it did. Noise is
    seeded per point and slow drift follows lab time; replaying two points
    brings the lock-in's filter to the uninterrupted scan's state to within
    its residual settling squared (~1e-8 of a step), so the resumed points
    equal those of an uninterrupted scan to ~1e-15 V on the simulated lab.
    """
    advance_to = getattr(lab.clock, "advance_to", None)
    for lab_time_s, put_back in steps:
        put_back()
        lab.stage.wait_settled()
        if advance_to is not None and lab_time_s > lab.clock.now_s():
            advance_to(lab_time_s)
        else:  # real time (or a simulated clock already past it): wait for the lock-in
            lab.clock.sleep(lab.lockin.settle_time_s(0.9999))


def _acquire(lab, grid, writer, image, dwell_s, lab_start, stop, bar, start, faults) -> None:
    """The per-point loop: kept small, it is the hot path of every scan."""
    stage, clock = lab.stage, lab.clock
    begin_point = getattr(lab, "begin_point", None)
    monitor = PowerMonitor.start(lab, writer, faults, lab_start)
    wall = time.time
    done = writer.points_written
    for point in raster_points(grid, start):
        if begin_point is not None:
            begin_point(point.index)
        stage.move_to(point.x_um, point.y_um)
        stage.wait_settled()
        if dwell_s > 0:
            clock.sleep(dwell_s)
        reading = read_point(lab, writer, point.index, dwell_s, lab_start, faults, monitor)
        x_um, y_um = stage.position_um()
        writer.write_point(point, x_um, y_um, reading, clock.now_s() - lab_start, wall())
        image[point.iy, point.ix] = reading.x_V
        done += 1
        bar.update(done, clock.now_s() - lab_start)
        if stop.is_set():
            break


def _safe_off(lab: Any) -> None:
    """Turn the MIR source off after an abort or failure (best effort)."""
    try:
        lab.source.on = False
    except Exception:  # noqa: BLE001 - the original error matters more
        pass
