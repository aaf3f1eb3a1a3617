"""Spectral raster plan: a raster recipe's grid at every wavelength of its ``[spectral]``.

Two loop orders (``[spectral] order``):

``image``
    A whole image per wavelength: tune once, measure the MIR power, read the blank
    spot (if the recipe names one), then the raster. Fast (one tune per image);
    slow drifts land between wavelengths.
``point``
    Every wavelength at each position: before the raster, one pass over the
    wavelengths measures the power and reads the blank spot; then at each position the
    source tunes through the wavelengths, one reading each. A tune per reading, but
    the spectrum of a pixel is measured within seconds.

Each tune costs lab time: the grating's move and the recipe's ``settle_s``
(:func:`imager.instruments.qcl.tune_time_s`). A tune also re-references the
power watch (:class:`~imager.plans.steps.MeasurePower`): the MIR power differs between
wavelengths, a drop is judged against the power at the wavelength being measured.

Plan index of a reading: :func:`reconstruction.schema_spectral.plan_index`. The blank
spot's readings are not rows of the points table; they seed their noise with indices
after the last reading's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from imager.instruments.qcl import tune_time_s
from imager.plans.raster import RasterPoint, raster_points
from imager.plans.resume import Plan, ResumeFrom
from imager.plans.steps import (
    BeginPoint,
    Call,
    Checkpoint,
    CheckTravel,
    Configure,
    Dwell,
    Emit,
    Get,
    MeasurePower,
    Move,
    Now,
    Open,
    Read,
    Restore,
    Set,
    WaitSettled,
)
from reconstruction.schema_spectral import plan_index, split_index

SPECTRAL_POWER = "spectral.power"
"""Document name of a ``/entry/spectral/power`` row (``sink.data``)."""
SPECTRAL_BLANK = "spectral.blank"
"""Document name of a ``/entry/spectral/blank`` row."""


def tune(wavelength_um: float, settle_s: float) -> Plan:
    """Tune the source to ``wavelength_um`` and let the lab time of the tune pass
    (nothing when it is there already)."""
    now_um = float((yield Get("source", "wavelength_um")))
    if now_um != wavelength_um:
        yield Set("source", "wavelength_um", wavelength_um)
        yield Dwell(tune_time_s(now_um, wavelength_um, settle_s))


def _power_and_blank(iw: int, wavelength_um: float, blank: tuple[float, float] | None,
                     blank_index: int, dwell_s: float, measure_power: bool,
                     lab_start_s: float) -> Plan:
    """At the wavelength the source is tuned to: the MIR power, then the blank spot."""
    if measure_power:
        power_mW = float((yield MeasurePower()))
        t_s = float((yield Now())) - lab_start_s
        yield Emit(SPECTRAL_POWER, (iw, wavelength_um, power_mW, t_s))
    if blank is not None:
        yield BeginPoint(blank_index)
        yield Move(*blank)
        yield WaitSettled()
        yield Dwell(dwell_s)
        reading = yield Call("lockin", "read_xy")
        x_um, y_um = blank
        t_s = float((yield Now())) - lab_start_s
        yield Emit(SPECTRAL_BLANK, (iw, wavelength_um, x_um, y_um, reading.x_V, reading.y_V,
                                    int(reading.status), t_s))


def _read(p: RasterPoint, iw: int, wavelength_um: float, index: int, dwell_s: float) -> Plan:
    yield Read(index, dwell_s, (iw, p.iy, p.ix),
               (index, iw, p.ix, p.iy, wavelength_um, p.x_um, p.y_um))
    yield Checkpoint()


def _put_back(record: Any) -> Plan:
    """A replayed reading's conditions: its wavelength and position."""
    yield Set("source", "wavelength_um", float(record["wavelength_um"]))
    yield Move(float(record["x_set_um"]), float(record["y_set_um"]))


def spectral_plan(recipe: Any, resume: ResumeFrom | None = None) -> Plan:
    """The plan of a raster recipe with ``[spectral]`` wavelengths.

    Parameters
    ----------
    recipe : Recipe
        A validated ``kind = "raster"`` recipe in step mode whose ``[spectral]`` section
        gives wavelengths.
    resume : ResumeFrom, optional
        Continue a stopped scan from its first missing reading.
    """
    from imager.recipes.recipe import spectral_wavelengths

    if recipe.sections["scan"]["mode"] == "fly":
        yield from spectral_fly_plan(recipe, resume)
        return
    grid = recipe.grid
    spec = recipe.sections["spectral"]
    wavelengths = spectral_wavelengths(recipe)
    order, settle_s, measure_power = spec["order"], spec["settle_s"], spec["measure_power"]
    nw, npix = len(wavelengths), grid.n_points
    total = nw * npix
    blank = None if spec["blank_x_um"] is None else (spec["blank_x_um"], spec["blank_y_um"])
    yield Configure(recipe)
    corners = [(grid.x_start_um, grid.y_start_um), (grid.x_stop_um, grid.y_stop_um)]
    for x_um, y_um in corners + ([blank] if blank is not None else []):
        yield CheckTravel(x_um, y_um)
    dwell_s = recipe.dwell_s((yield Get("lockin", "time_constant_s")))
    if resume is not None:
        yield from resume.replay(_put_back)
    x_um, y_um = grid.x_um, grid.y_um
    describe = {"grid": grid, "dwell_s": dwell_s, "wavelengths_um": wavelengths,
                "order": order, "scan_attrs": {"settle_s": settle_s}}
    lab_start_s = yield Open("spectral", total, describe, recipe.text, recipe.name,
                             truth=lambda sim: spectral_truth(sim, x_um, y_um, wavelengths),
                             **(resume.open_args() if resume is not None else {}))
    first = resume.first_missing if resume is not None else 0
    if first >= total:
        return
    k0, iw0 = split_index(first, npix, nw, order)
    if order == "image":
        for iw in range(iw0, nw):
            wl = wavelengths[iw]
            yield from tune(wl, settle_s)
            if iw == iw0 and k0 > 0:  # resumed inside this image: power and blank are done
                yield MeasurePower()
            else:
                yield from _power_and_blank(iw, wl, blank, total + iw, dwell_s, measure_power,
                                            lab_start_s)
            for p in raster_points(grid, k0 if iw == iw0 else 0):
                index = plan_index(p.index, iw, npix, nw, order)
                yield BeginPoint(index)
                yield Move(p.x_um, p.y_um)
                yield WaitSettled()
                if dwell_s > 0:
                    yield Dwell(dwell_s)
                yield from _read(p, iw, wl, index, dwell_s)
        return
    if first == 0:  # the power and blank pass before the raster
        for iw, wl in enumerate(wavelengths):
            yield from tune(wl, settle_s)
            yield from _power_and_blank(iw, wl, blank, total + iw, dwell_s, measure_power,
                                        lab_start_s)
    for p in raster_points(grid, k0):
        yield Move(p.x_um, p.y_um)
        yield WaitSettled()
        for iw in range(iw0 if p.index == k0 else 0, nw):
            wl = wavelengths[iw]
            yield from tune(wl, settle_s)
            if measure_power:
                yield MeasurePower()
            index = plan_index(p.index, iw, npix, nw, order)
            yield BeginPoint(index)
            if dwell_s > 0:
                yield Dwell(dwell_s)
            yield from _read(p, iw, wl, index, dwell_s)


def spectral_truth(sim: Any, x_um: np.ndarray, y_um: np.ndarray,
                   wavelengths_um: list[float]) -> dict[str, Any] | None:
    """What a simulated lab knows of the scan: the noise-free cube and the chart's
    materials (:class:`~imager.lab.SimHooks` ``expected_cube`` and ``chart_truth``)."""
    cube = getattr(sim, "expected_cube", None)
    materials = getattr(sim, "chart_truth", None)
    if cube is None:
        return None
    return {"truth_V": cube(x_um, y_um, wavelengths_um),
            "chart_truth": materials(x_um, y_um, wavelengths_um) if materials else None}


def spectral_fly_plan(recipe: Any, resume: ResumeFrom | None = None) -> Plan:
    """A fly raster at every wavelength (an image per wavelength): tune, measure the power,
    read the blank spot, then fly every line (:func:`imager.plans.fly.fly_lines`).

    Line ``iy`` at wavelength ``iw`` is block ``iw * ny + iy`` (its noise seed, its rows in
    ``/entry/stream`` and ``/entry/lines``); a stopped scan resumes at its first incomplete
    line, after replaying the two lines before it at their wavelength.
    """
    from imager.plans.fly import _move_line, binned_truth, fly_describe, fly_lines, fly_setup
    from imager.recipes.recipe import spectral_wavelengths

    grid = recipe.grid
    spec = recipe.sections["spectral"]
    wavelengths = spectral_wavelengths(recipe)
    nw, npix, ny = len(wavelengths), grid.n_points, grid.ny
    total = nw * npix
    blank = None if spec["blank_x_um"] is None else (spec["blank_x_um"], spec["blank_y_um"])
    geometry, tau_s, n_poles = yield from fly_setup(recipe)
    if blank is not None:
        yield CheckTravel(*blank)
    first_line = 0
    if resume is not None:
        first_line = resume.first_missing // grid.nx
        yield Restore(resume.changes, resume.where)
        for row in resume.previous_blocks:
            line = int(row["line"])
            yield Set("source", "wavelength_um", float(wavelengths[line // ny]))
            yield from _move_line(geometry, line % ny,
                                  resume.lab_start_s + float(row["t_move_s"]))
    edges = geometry.edges_um
    describe = {**fly_describe(geometry, tau_s, n_poles), "wavelengths_um": wavelengths,
                "order": "image"}
    describe["scan_attrs"] = {**describe["scan_attrs"], "settle_s": spec["settle_s"]}
    open_args = {"points_done": first_line * grid.nx,
                 "lab_start_s": resume.lab_start_s} if resume is not None else {}

    def truth(sim: Any) -> dict[str, Any] | None:
        if getattr(sim, "expected_cube", None) is None:
            return None
        cube = binned_truth(lambda x, y: sim.expected_cube(x, y, wavelengths), edges,
                            grid.y_um)
        materials = getattr(sim, "chart_truth", None)
        return {"truth_V": cube, "chart_truth": materials(grid.x_um, grid.y_um, wavelengths)
                if materials else None}

    lab_start_s = yield Open("spectral", total, describe, recipe.text, recipe.name,
                             truth=truth, **open_args)
    iw0, iy0 = divmod(first_line, ny)
    for iw in range(iw0, nw):
        wl = wavelengths[iw]
        yield from tune(wl, spec["settle_s"])
        if iw == iw0 and iy0 > 0:
            yield MeasurePower()
        else:
            yield from _power_and_blank(iw, wl, blank, total + iw, geometry.settle_s,
                                        spec["measure_power"], lab_start_s)

        def label(iy: int, p: RasterPoint, iw: int = iw, wl: float = wl) -> tuple:
            index = iw * npix + p.index
            return iw * ny + iy, index, (index, iw, p.ix, p.iy, wl, p.x_um, p.y_um), \
                (iw, p.iy, p.ix)

        yield from fly_lines(recipe, geometry, tau_s, n_poles,
                             range(iy0 if iw == iw0 else 0, ny), lab_start_s, label)
