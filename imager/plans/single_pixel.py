"""Single-pixel plan: the stage holds still, the projector shows each pattern, one reading each.

Patterns come from the basis spec in chunks that fit the projector's memory;
the raw readings (complementary pairs for binary projectors) are written and
flushed one by one, like raster points. ``ordering = "adaptive"`` chooses the
patterns after the first round from the readings (:mod:`imager.plans.adaptive_spi`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from imager.plans.adaptive_spi import adaptive_basis, adaptive_rounds
from imager.plans.resume import Plan, ResumeFrom
from imager.plans.spi_stream import ProjectorMemory, stream_patterns, stream_setup
from imager.plans.steps import (
    BeginPoint,
    Call,
    Checkpoint,
    CheckTravel,
    Configure,
    Dwell,
    Finally,
    Get,
    Move,
    Open,
    Position,
    Read,
    Restore,
    Set,
    WaitSettled,
)


def single_pixel_plan(recipe: Any, basis: Any, resume: ResumeFrom | None = None) -> Plan:
    """The plan of a ``kind = "single_pixel"`` recipe.

    Parameters
    ----------
    recipe : Recipe
        A validated single-pixel recipe (its ``[single_pixel]`` centre and field).
    basis : PatternBasis
        The recipe's pattern basis (:func:`imager.recipes.recipe.single_pixel_basis`).
    resume : ResumeFrom, optional
        Continue a stopped scan from its first missing pattern.
    """
    spi = recipe.sections["single_pixel"]
    centre = (spi["center_x_um"], spi["center_y_um"])
    adaptive = basis.ordering == "adaptive"
    if adaptive:
        basis = adaptive_basis(basis, resume)
    yield Configure(recipe)
    yield CheckTravel(*centre)
    yield Move(*centre)
    yield WaitSettled()
    yield Set("projector", "fov_um", spi["fov_um"])
    dwell_s = recipe.dwell_s((yield Get("lockin", "time_constant_s")))
    streamed = spi["readout"] == "stream"
    stream = (yield from stream_setup(recipe, dwell_s)) if streamed else None
    n_patterns = basis.n_patterns
    chunk = min(n_patterns, (yield Get("projector", "max_patterns")))
    start = resume.first_missing if resume is not None else 0
    if streamed:  # a resumed stream restarts at its block
        start -= start % spi["block_patterns"]
    loaded = max(start - 2, 0)  # index of the first pattern in the projector's memory
    yield Call("projector", "load", (basis.patterns(loaded, min(loaded + chunk, n_patterns)),))
    yield Set("projector", "enabled", True)
    yield Finally((Set("projector", "enabled", False),))
    if resume is not None and not streamed:
        yield from resume.replay(
            lambda record: (Call("projector", "show", (int(record["index"]) - loaded,)),))
    elif resume is not None:
        yield Restore(resume.changes, resume.where)
    spec = {k: v for k, v in basis.spec().items() if k != "index"}  # adaptive: in the file
    describe = {"basis_spec": spec, "n_patterns": n_patterns, "fov_um": spi["fov_um"],
                "center_um": centre, "dwell_s": dwell_s}
    open_args = resume.open_args() if resume is not None else {}
    if streamed and resume is not None:
        open_args["points_done"] = start
    lab_start_s = yield Open("single_pixel", n_patterns, describe, recipe.text, recipe.name,
                             truth=lambda sim: sim.expected_pattern_image(), **open_args)
    position = yield Position()
    block = spi["block_patterns"]
    memory = ProjectorMemory(basis, loaded, chunk)

    def measure(of: Any, k0: int, k1: int, readings: np.ndarray | None = None) -> Plan:
        """Patterns ``k0`` to ``k1`` of basis ``of``; their X into ``readings``."""
        if of is not memory.basis:  # an adaptive round chose new patterns: load them anew
            memory.switch(of)
        if streamed:
            yield from stream_patterns(recipe, of, dwell_s, stream, position, lab_start_s,
                                       memory.slot, resume if k0 == start else None,
                                       first_block=k0 // block, stop=k1, readings=readings)
        else:
            memory.loaded = yield from pattern_reads(of, k0, memory.loaded, chunk, dwell_s,
                                                     position, stop=k1, readings=readings)

    if adaptive:
        yield from adaptive_rounds(recipe, basis, start, resume, measure,
                                   block // 2 if streamed else 1)
        return
    yield from measure(basis, start, n_patterns)


def pattern_reads(basis: Any, start: int, loaded: int, chunk: int, dwell_s: float,
                  position: tuple[float, float],
                  label: Callable[[int], tuple[int, tuple, tuple]] | None = None,
                  stop: int | None = None, readings: np.ndarray | None = None) -> Plan:
    """Show patterns ``start``.. of ``basis`` and read each after ``dwell_s``.

    ``loaded``: the first pattern in the projector's memory (``chunk`` of them);
    ``label(k) -> (index, at, head)`` where pattern ``k``'s reading goes (default: plan
    index ``k``, signal element ``(k,)``, record head ``(k,)``); ``stop``: the pattern
    to end before (default: all); ``readings``: array that gets each pattern's X (V).
    Returns the first pattern in the projector's memory at the end.
    """
    n_patterns = basis.n_patterns
    for k in range(start, n_patterns if stop is None else stop):
        if not loaded <= k < loaded + chunk:
            loaded = k
            yield Call("projector", "load", (basis.patterns(k, min(k + chunk, n_patterns)),))
        index, at, head = label(k) if label is not None else (k, (k,), (k,))
        yield BeginPoint(index)
        yield Call("projector", "show", (k - loaded,))
        if dwell_s > 0:
            yield Dwell(dwell_s)
        reading = yield Read(index, dwell_s, at, head, position_um=position)
        if readings is not None:
            readings[k] = reading.x_V
        yield Checkpoint()
    return loaded
