"""Fly-scan plan: each image line is one constant-velocity move while the lock-in's buffer
records; the samples are placed on the line by the known motion profile and binned.

Per line (snake or one direction): move fast to the run-up start, settle, let the
lock-in settle (``settle_tc`` time constants), set the fly velocity, start the
buffer, start the move to the run-up end and poll the stage's position while it
moves (the controller's status rate), stop the buffer. The sample positions come
from the trapezoidal motion profile whose start time is fitted to the polled
read-backs (:func:`reconstruction.fly.fit_move_start`); samples between pixel
edges are averaged, after the lock-in's n-pole filter is deconvolved from the
line (:func:`reconstruction.fly.deconvolve_line`) so forward and backward lines
agree. The run-up covers the acceleration and ``run_up_tc`` time constants of
filter lag on both sides.

The file is a raster scan file (``[scan] mode = "fly"`` in its recipe): the binned
image is its default NXdata with the pixel edges (``/entry/data/x_edges_um``), one
record per pixel in ``/entry/scan/points``, the raw samples in ``/entry/stream``
and one row per line in ``/entry/lines`` (its move's start time: what a resume
replays). A stopped scan resumes at its first incomplete line, after replaying the
line before it, so the lock-in's filter is where it was.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from imager.plans.blocks import STREAM_BLOCK, BlockPoint, StreamBlock, pick_rate, stream_rows
from imager.plans.raster import RasterGrid, grid_point
from imager.plans.resume import Plan, ResumeFrom
from imager.plans.steps import (
    BeginPoint,
    Call,
    CatchUp,
    Checkpoint,
    CheckTravel,
    Configure,
    Dwell,
    Emit,
    Get,
    Move,
    Now,
    Open,
    Restore,
    Set,
    StartStream,
    StopStream,
    Track,
    WaitSettled,
)


@dataclass(frozen=True)
class FlyGeometry:
    """Where and how fast a fly scan moves (derived from the recipe and the devices)."""

    grid: RasterGrid
    velocity_um_per_s: float
    max_velocity_um_per_s: float
    acceleration_um_per_s2: float
    run_up_um: float
    rate_Hz: float
    settle_s: float

    @property
    def edges_um(self) -> np.ndarray:
        """Pixel bin edges along x: midway between pixel centres, half a pitch outside."""
        x = self.grid.x_um
        pitch = (x[-1] - x[0]) / (x.size - 1) if x.size > 1 else 1.0
        return np.concatenate([[x[0] - pitch / 2], (x[:-1] + x[1:]) / 2, [x[-1] + pitch / 2]])

    def line_duration_s(self) -> float:
        """Recording time of one line: its trapezoidal move (run-ups included), plus the
        stage's settling and one status poll (an upper bound)."""
        from reconstruction.fly import move_duration_s

        x_from, x_to, _ = self.line_ends(0)
        return move_duration_s(x_from, x_to, self.velocity_um_per_s,
                               self.acceleration_um_per_s2) + 0.5

    def trigger_span(self, iy: int) -> tuple[float, float, int]:
        """Position triggers of line ``iy``: ``(first_um, interval_um, count)`` over its
        constant-velocity part (one trigger per buffer sample period), lowest first."""
        x_from, x_to, _ = self.line_ends(iy)
        accel = self.velocity_um_per_s**2 / (2 * self.acceleration_um_per_s2) + 1e-3
        lo, hi = min(x_from, x_to) + accel, max(x_from, x_to) - accel
        interval = self.velocity_um_per_s / self.rate_Hz
        return lo, interval, int((hi - lo) // interval) + 1

    def line_ends(self, iy: int) -> tuple[float, float, int]:
        """``(x_from_um, x_to_um, direction)`` of line ``iy`` (run-ups included)."""
        edges = self.edges_um
        lo, hi = edges[0] - self.run_up_um, edges[-1] + self.run_up_um
        forward = self.grid.order == "row" or iy % 2 == 0
        return (lo, hi, 1) if forward else (hi, lo, -1)


def fly_geometry(recipe: Any, tau_s: float, stage_settings: dict, max_velocity: float,
                 rates_Hz: tuple[float, ...], capacity: int) -> FlyGeometry:
    """The velocity, run-up and rate a fly recipe asks for on these devices.

    Raises
    ------
    RecipeError
        The velocity is above the stage's, the rate below every one the lock-in offers
        (the fastest offered up to ``stream_rate_Hz`` is used), or a
        line's samples would not fit in its buffer (``capacity``; one line naming the
        ``[scan]`` key and the allowed range).
    """
    scan = recipe.sections["scan"]
    grid = recipe.grid
    pitch = abs(grid.step_um[0]) or 1.0
    velocity = pitch / (scan["fly_pixel_tc"] * tau_s)
    if velocity > max_velocity:
        raise recipe.error(f"[scan] fly_pixel_tc: {scan['fly_pixel_tc']:g} time constants per "
                           f"{pitch:g} um pixel is {velocity:g} um/s, above the stage's "
                           f"{max_velocity:g} um/s; use fly_pixel_tc >= "
                           f"{pitch / (max_velocity * tau_s):.3g}")
    rate = pick_rate(recipe, "[scan] stream_rate_Hz", scan["stream_rate_Hz"], rates_Hz)
    acceleration = float(stage_settings["acceleration_um_per_s2"])
    run_up = velocity**2 / (2 * acceleration) + scan["run_up_tc"] * tau_s * velocity
    geometry = FlyGeometry(grid, velocity, max_velocity, acceleration, run_up, float(rate),
                           scan["settle_tc"] * tau_s)
    samples = geometry.line_duration_s() * rate
    if samples > capacity:
        longest = capacity / geometry.line_duration_s()
        raise recipe.error(f"[scan] stream_rate_Hz: a line takes {geometry.line_duration_s():.3g} "
                           f"s, {samples:.0f} samples at {rate:g} Hz, more than the lock-in's "
                           f"buffer of {capacity}; use a rate <= {longest:.3g} Hz (or fewer "
                           "pixels per line)")
    return geometry


def fly_setup(recipe: Any) -> Plan:
    """Configure the lab for a fly recipe, size the motion and check the travel; replies
    ``(geometry, tau_s, n_poles)``."""
    grid = recipe.grid
    yield Configure(recipe)
    tau_s = yield Get("lockin", "time_constant_s")
    n_poles = int((yield Get("lockin", "filter_slope_dB_per_oct"))) // 6
    geometry = fly_geometry(recipe, tau_s, (yield Call("stage_x", "settings")),
                            (yield Get("stage_x", "max_velocity_um_per_s")),
                            (yield Get("lockin", "stream_rates_Hz")),
                            (yield Get("lockin", "stream_capacity")))
    for iy in (0, grid.ny - 1):
        for x_um in geometry.line_ends(iy)[:2]:
            yield CheckTravel(x_um, grid.y_um[iy])
    return geometry, tau_s, n_poles


def fly_describe(geometry: FlyGeometry, tau_s: float, n_poles: int) -> dict[str, Any]:
    """What a fly scan's file records of it (``Open``'s ``describe``)."""
    return {"grid": geometry.grid, "dwell_s": geometry.settle_s, "x_edges_um": geometry.edges_um,
            "scan_attrs": {"mode": "fly", "velocity_um_per_s": geometry.velocity_um_per_s,
                           "stream_rate_Hz": geometry.rate_Hz, "run_up_um": geometry.run_up_um,
                           "time_constant_s": tau_s, "filter_poles": n_poles}}


def fly_plan(recipe: Any, resume: ResumeFrom | None = None) -> Plan:
    """The plan of a raster recipe with ``[scan] mode = "fly"``.

    Parameters
    ----------
    recipe : Recipe
        A validated raster recipe in fly mode.
    resume : ResumeFrom, optional
        Continue a stopped fly scan from its first incomplete line.
    """
    grid = recipe.grid
    geometry, tau_s, n_poles = yield from fly_setup(recipe)
    edges = geometry.edges_um
    first_line = 0
    if resume is not None:
        first_line = resume.first_missing // grid.nx
        yield Restore(resume.changes, resume.where)
        # replay the two lines before, each move at its lab time: the lock-in's filter
        # then ends them where it did, and the resumed lines equal an uninterrupted scan's
        for row in resume.previous_blocks:
            yield from _move_line(geometry, int(row["line"]),
                                  resume.lab_start_s + float(row["t_move_s"]))
    open_args = {"points_done": first_line * grid.nx,
                 "lab_start_s": resume.lab_start_s} if resume is not None else {}
    lab_start_s = yield Open("raster", grid.n_points, fly_describe(geometry, tau_s, n_poles),
                             recipe.text, recipe.name,
                             truth=lambda sim: binned_truth(sim.expected_image, edges,
                                                            grid.y_um), **open_args)
    yield from fly_lines(recipe, geometry, tau_s, n_poles, range(first_line, grid.ny),
                         lab_start_s)


def fly_lines(recipe: Any, geometry: FlyGeometry, tau_s: float, n_poles: int,
              lines: range, lab_start_s: float, label: Any = None) -> Plan:
    """Fly lines ``lines`` of the grid, each written as one block.

    ``label(iy, point) -> (line, index, head, at)``: the block number, plan index,
    record head and signal element of the line's pixels (default: the raster's, line
    ``iy``, index ``point.index``, head ``(index, ix, iy, x_set, y_set)``, ``(iy, ix)``).
    """
    from reconstruction.fly_line import assemble_fly_line

    grid = recipe.grid
    edges = geometry.edges_um
    y_um = grid.y_um
    triggers = recipe.sections["scan"]["fly_positions"] == "triggers"
    for iy in lines:
        line_no = iy if label is None else label(iy, grid_point(grid, iy * grid.nx))[0]
        x_from, x_to, direction = geometry.line_ends(iy)
        yield Set("stage_x", "velocity_um_per_s", geometry.max_velocity_um_per_s)
        yield Move(x_from, y_um[iy])
        yield WaitSettled()
        yield Dwell(geometry.settle_s)
        yield Set("stage_x", "velocity_um_per_s", geometry.velocity_um_per_s)
        yield BeginPoint(line_no)
        if triggers:
            first, interval, count = geometry.trigger_span(iy)
            yield Call("stage_x", "configure_position_triggers", (first, interval, count),
                       kwargs={"direction": "forward" if direction > 0 else "reverse"})
        yield StartStream(None if triggers else geometry.rate_Hz)
        t_move = yield Now()
        yield Move(x_to, y_um[iy])
        track = yield Track()
        data = yield StopStream()
        if triggers:  # sample k was taken at trigger k: its position is known
            k = np.arange(len(data.t_s))
            data_x = first + interval * (k if direction > 0 else count - 1 - k)
        line = assemble_fly_line(
            data.t_s, data.x_V, data.y_V, track, x_from, x_to, geometry.velocity_um_per_s,
            geometry.acceleration_um_per_s2, t_move, edges, tau_s, n_poles,
            deconvolve=recipe.sections["scan"]["deconvolve"],
            x_um=data_x if triggers else None)
        data = replace(data, t_s=line.t_s)
        t_end = yield Now()
        samples = stream_rows(line_no, data.t_s, data.x_V, data.y_V, line.x_um, y_um[iy],
                              lab_start_s)
        row = (line_no, direction, float(line.x_um[0]) if len(samples) else np.nan,
               float(line.x_um[-1]) if len(samples) else np.nan, float(y_um[iy]),
               t_move - lab_start_s, len(samples), t_end - lab_start_s)
        points = []
        for k in range(grid.nx):  # in plan order: snake lines run backwards
            p = grid_point(grid, iy * grid.nx + k)
            _, index, head, at = label(iy, p) if label is not None else (
                iy, p.index, (p.index, p.ix, p.iy, p.x_um, p.y_um), (p.iy, p.ix))
            points.append(BlockPoint(index, head, float(line.bin_x_um[p.ix]), float(y_um[iy]),
                                     float(line.X_V[p.ix]), float(line.Y_V[p.ix]),
                                     float(line.bin_t_s[p.ix]) - lab_start_s, at))
        yield Emit(STREAM_BLOCK, StreamBlock(line_no, samples, row, points), points=grid.nx)
        yield Checkpoint()


def binned_truth(expected_image: Any, edges_um: np.ndarray, y_um: np.ndarray,
                 per_pixel: int = 8) -> np.ndarray:
    """The noise-free image a fly scan aims at: the settled signal
    (``expected_image(x_um, y_um)``, a simulated lab's hook) averaged across each pixel's
    bin along x (``per_pixel`` points per bin), as the binned samples are."""
    fine = np.concatenate([np.linspace(a, b, per_pixel, endpoint=False) + (b - a)
                           / (2 * per_pixel) for a, b in zip(edges_um[:-1], edges_um[1:],
                                                               strict=True)])
    image = expected_image(fine, np.asarray(y_um))
    return image.reshape(*image.shape[:-1], -1, per_pixel).mean(axis=-1)


def _move_line(geometry: FlyGeometry, iy: int, catch_up_s: float) -> Plan:
    """Replay line ``iy``'s motion (no recording), its move starting at lab time ``catch_up_s``."""
    x_from, x_to, _ = geometry.line_ends(iy)
    y = float(geometry.grid.y_um[iy])
    yield Set("stage_x", "velocity_um_per_s", geometry.max_velocity_um_per_s)
    yield Move(x_from, y)
    yield WaitSettled()
    yield CatchUp(catch_up_s)
    yield Set("stage_x", "velocity_um_per_s", geometry.velocity_um_per_s)
    yield Move(x_to, y)
    yield Track()  # as the line did: the clock ends where it ended
