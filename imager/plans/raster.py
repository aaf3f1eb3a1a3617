"""Raster plan: the ordered stage positions of a point-and-scan image, and its steps."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from imager.plans.resume import Plan, ResumeFrom
from imager.plans.steps import (
    BeginPoint,
    Checkpoint,
    CheckTravel,
    Configure,
    Dwell,
    Get,
    Move,
    Open,
    Read,
    WaitSettled,
)

ScanOrder = Literal["row", "snake"]


@dataclass(frozen=True, slots=True)
class RasterPoint:
    """One plan point: its index in plan order, grid indices and commanded position."""

    index: int
    ix: int
    iy: int
    x_um: float
    y_um: float


@dataclass(frozen=True)
class RasterGrid:
    """A rectangular grid of stage positions.

    Parameters
    ----------
    x_start_um, x_stop_um : float
        First and last x position (inclusive), micrometres.
    nx : int
        Number of columns (>= 1).
    y_start_um, y_stop_um, ny
        The same for rows.
    order : {"row", "snake"}
        ``row``: every row runs towards increasing grid index (with a retrace);
        ``snake``: odd rows run backwards, so the stage never retraces.
    """

    x_start_um: float
    x_stop_um: float
    nx: int
    y_start_um: float
    y_stop_um: float
    ny: int
    order: ScanOrder = "snake"

    def __post_init__(self) -> None:
        if self.nx < 1 or self.ny < 1:
            raise ValueError("nx and ny must be >= 1")
        if self.order not in ("row", "snake"):
            raise ValueError(f"order must be 'row' or 'snake', got {self.order!r}")

    @property
    def shape(self) -> tuple[int, int]:
        """``(ny, nx)``, the image shape."""
        return self.ny, self.nx

    @property
    def n_points(self) -> int:
        return self.nx * self.ny

    @property
    def x_um(self) -> np.ndarray:
        """Commanded x positions of the columns."""
        return np.linspace(self.x_start_um, self.x_stop_um, self.nx)

    @property
    def y_um(self) -> np.ndarray:
        """Commanded y positions of the rows."""
        return np.linspace(self.y_start_um, self.y_stop_um, self.ny)

    @property
    def step_um(self) -> tuple[float, float]:
        """``(dx_um, dy_um)`` between neighbouring pixels (0 for a single column/row)."""
        dx = (self.x_stop_um - self.x_start_um) / (self.nx - 1) if self.nx > 1 else 0.0
        dy = (self.y_stop_um - self.y_start_um) / (self.ny - 1) if self.ny > 1 else 0.0
        return dx, dy

    def grid_index(self, index: int) -> tuple[int, int]:
        """``(ix, iy)`` of plan point ``index``."""
        iy, k = divmod(index, self.nx)
        ix = self.nx - 1 - k if (self.order == "snake" and iy % 2 == 1) else k
        return ix, iy


def grid_point(grid: RasterGrid, index: int) -> RasterPoint:
    """Plan point ``index`` of ``grid``."""
    ix, iy = grid.grid_index(index)
    return RasterPoint(index, ix, iy, float(grid.x_um[ix]), float(grid.y_um[iy]))


def raster_points(grid: RasterGrid, start_index: int = 0) -> Iterator[RasterPoint]:
    """Yield the plan points of ``grid`` in acquisition order.

    Parameters
    ----------
    grid : RasterGrid
        The grid to cover.
    start_index : int
        First plan index to yield (to resume a stopped scan).

    Yields
    ------
    RasterPoint
        Points in plan order; ``index`` runs from ``start_index`` to
        ``grid.n_points - 1``.
    """
    xs = grid.x_um.tolist()
    ys = grid.y_um.tolist()
    for index in range(start_index, grid.n_points):
        ix, iy = grid.grid_index(index)
        yield RasterPoint(index, ix, iy, xs[ix], ys[iy])


def grid_steps(grid: RasterGrid, dwell_s: float, start_index: int = 0) -> Plan:
    """The per-point steps of a raster: start point, move, settle, dwell, read, checkpoint.

    Each reading goes to the file's points table (its ``head``: index, grid
    indices, commanded position) and to pixel ``(iy, ix)`` of the image.
    """
    for p in raster_points(grid, start_index):
        yield BeginPoint(p.index)
        yield Move(p.x_um, p.y_um)
        yield WaitSettled()
        if dwell_s > 0:
            yield Dwell(dwell_s)
        yield Read(p.index, dwell_s, (p.iy, p.ix), (p.index, p.ix, p.iy, p.x_um, p.y_um))
        yield Checkpoint()


def raster_plan(recipe: Any, resume: ResumeFrom | None = None) -> Plan:
    """The plan of a raster recipe: configure, check the travel, open, then every point.

    Parameters
    ----------
    recipe : Recipe
        A validated ``kind = "raster"`` recipe.
    resume : ResumeFrom, optional
        Continue a stopped scan: restore its settings, replay its last points,
        then measure from its first missing point (:mod:`imager.plans.resume`).
    """
    grid = recipe.grid
    yield Configure(recipe)
    for x_um, y_um in ((grid.x_start_um, grid.y_start_um), (grid.x_stop_um, grid.y_stop_um)):
        yield CheckTravel(x_um, y_um)
    dwell_s = recipe.dwell_s((yield Get("lockin", "time_constant_s")))
    if resume is not None:
        yield from resume.replay(lambda record: (Move(float(record["x_set_um"]),
                                                      float(record["y_set_um"])),))
    yield Open("raster", grid.n_points, {"grid": grid, "dwell_s": dwell_s}, recipe.text,
               recipe.name, truth=lambda sim: sim.expected_image(grid.x_um, grid.y_um),
               **(resume.open_args() if resume is not None else {}))
    yield from grid_steps(grid, dwell_s, resume.first_missing if resume is not None else 0)
