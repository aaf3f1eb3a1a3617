"""Spectral single-pixel plan: a single-pixel recipe's patterns at every wavelength.

An image per wavelength (``[spectral] order = "image"``): tune, measure the MIR power,
then show every pattern of the basis and read each (:func:`pattern_reads`); reading ``k``
at wavelength ``iw`` has plan index ``iw * n_patterns + k``. Every wavelength per pattern
(``"point"``): the power at each wavelength first, then each pattern is shown once and
read at every wavelength (plan index ``k * nw + iw``: a pattern's spectrum within
seconds). The reading goes to ``/entry/data/X_V[iw, k]``; each wavelength's image is
reconstructed on its own (:mod:`reconstruction.spectral.singlepixel`, in parallel on Dask).
"""

from __future__ import annotations

from typing import Any

from imager.plans.resume import Plan, ResumeFrom
from imager.plans.single_pixel import pattern_reads
from imager.plans.spectral import SPECTRAL_POWER, tune
from imager.plans.spi_stream import ProjectorMemory, stream_patterns, stream_setup
from imager.plans.steps import (
    BeginPoint,
    Call,
    CatchUp,
    Checkpoint,
    CheckTravel,
    Configure,
    Dwell,
    Emit,
    Finally,
    Get,
    MeasurePower,
    Move,
    Now,
    Open,
    Position,
    Read,
    Restore,
    Set,
    WaitSettled,
)


def spectral_single_pixel_plan(recipe: Any, basis: Any,
                               resume: ResumeFrom | None = None) -> Plan:
    """The plan of a single-pixel recipe with ``[spectral]`` wavelengths.

    Parameters
    ----------
    recipe : Recipe
        A validated single-pixel recipe with wavelengths (``readout = "stream"``: image
        order, :func:`_streamed`).
    basis : PatternBasis
        Its pattern basis.
    resume : ResumeFrom, optional
        Continue a stopped scan from its first missing reading.
    """
    from imager.recipes.recipe import spectral_wavelengths

    spi, spec = recipe.sections["single_pixel"], recipe.sections["spectral"]
    wavelengths = spectral_wavelengths(recipe)
    nw, n = len(wavelengths), basis.n_patterns
    centre = (spi["center_x_um"], spi["center_y_um"])
    yield Configure(recipe)
    yield CheckTravel(*centre)
    yield Move(*centre)
    yield WaitSettled()
    yield Set("projector", "fov_um", spi["fov_um"])
    dwell_s = recipe.dwell_s((yield Get("lockin", "time_constant_s")))
    chunk = min(n, (yield Get("projector", "max_patterns")))
    if spi["readout"] == "stream":
        yield from _streamed(recipe, basis, wavelengths, centre, dwell_s, chunk, resume)
        return
    start = resume.first_missing if resume is not None else 0
    order = spec["order"]
    iw0, k0 = divmod(start, n) if order == "image" else divmod(start, nw)[::-1]
    # the projector's memory starts with the patterns replayed (the last two measured)
    recent = [int(r["pattern"]) for r in resume.recent_done] if resume is not None else [0]
    loaded = min(recent) if recent else 0
    yield Call("projector", "load", (basis.patterns(loaded, min(loaded + chunk, n)),))
    yield Set("projector", "enabled", True)
    yield Finally((Set("projector", "enabled", False),))
    if resume is not None:
        def put_back(record: Any) -> Plan:
            yield Set("source", "wavelength_um", float(record["wavelength_um"]))
            yield Call("projector", "show", (int(record["pattern"]) - loaded,))

        yield from resume.replay(put_back)
    describe = {"basis_spec": basis.spec(), "n_patterns": n, "fov_um": spi["fov_um"],
                "center_um": centre, "dwell_s": dwell_s, "wavelengths_um": wavelengths,
                "order": order}
    lab_start_s = yield Open("spectral_single_pixel", nw * n, describe, recipe.text,
                             recipe.name,
                             truth=lambda sim: spectral_pattern_truth(sim, wavelengths, basis,
                                                                      spi["fov_um"], centre),
                             **(resume.open_args() if resume is not None else {}))
    position = yield Position()

    def power(iw: int, emit: bool) -> Plan:
        power_mW = float((yield MeasurePower()))
        if spec["measure_power"] and emit:
            t_s = float((yield Now())) - lab_start_s
            yield Emit(SPECTRAL_POWER, (iw, wavelengths[iw], power_mW, t_s))

    if order == "point":  # every wavelength for each pattern
        if start == 0:  # the power at each wavelength, once, before the patterns
            for iw, wl in enumerate(wavelengths):
                yield from tune(wl, spec["settle_s"])
                yield from power(iw, True)
        for k in range(k0, n):
            if not loaded <= k < loaded + chunk:
                loaded = k
                yield Call("projector", "load", (basis.patterns(k, min(k + chunk, n)),))
            if not (k == k0 and iw0 > 0):  # (a resumed pattern is on show: replayed)
                yield Call("projector", "show", (k - loaded,))
            for iw in range(iw0 if k == k0 else 0, nw):
                wl = wavelengths[iw]
                yield from tune(wl, spec["settle_s"])
                yield from power(iw, False)
                index = k * nw + iw
                yield BeginPoint(index)
                if dwell_s > 0:
                    yield Dwell(dwell_s)
                yield Read(index, dwell_s, (iw, k), (index, iw, k, wl), position_um=position)
                yield Checkpoint()
        return
    for iw in range(iw0, nw):
        wl = wavelengths[iw]
        yield from tune(wl, spec["settle_s"])
        yield from power(iw, not (iw == iw0 and k0 > 0))

        def label(k: int, iw: int = iw, wl: float = wl) -> tuple[int, tuple, tuple]:
            index = iw * n + k
            return index, (iw, k), (index, iw, k, wl)

        loaded = yield from pattern_reads(basis, k0 if iw == iw0 else 0, loaded, chunk,
                                          dwell_s, position, label)


def _streamed(recipe: Any, basis: Any, wavelengths: list[float], centre: tuple,
              dwell_s: float, chunk: int, resume: ResumeFrom | None) -> Plan:
    """Image order through the lock-in's buffer: at each wavelength the patterns in
    blocks (:func:`imager.plans.spi_stream.stream_patterns`), block ``b`` of wavelength
    ``iw`` numbered ``iw * blocks + b`` in the file. A stopped scan resumes at the block of
    its first missing pattern, when the block before it ended, at that block's wavelength."""
    spi, spec = recipe.sections["single_pixel"], recipe.sections["spectral"]
    nw, n = len(wavelengths), basis.n_patterns
    block = min(spi["block_patterns"], n)
    blocks = n // block  # the recipe checks that blocks tile each wavelength's patterns
    stream = yield from stream_setup(recipe, dwell_s)
    start = resume.first_missing - resume.first_missing % block if resume is not None else 0
    iw0, k0 = divmod(start, n)
    loaded = k0
    yield Call("projector", "load", (basis.patterns(loaded, min(loaded + chunk, n)),))
    yield Set("projector", "enabled", True)
    yield Finally((Set("projector", "enabled", False),))
    if resume is not None:
        yield Restore(resume.changes, resume.where)
    describe = {"basis_spec": basis.spec(), "n_patterns": n, "fov_um": spi["fov_um"],
                "center_um": centre, "dwell_s": dwell_s, "wavelengths_um": wavelengths,
                "order": "image"}
    open_args = {"points_done": start, "lab_start_s": resume.lab_start_s} \
        if resume is not None else {}
    lab_start_s = yield Open("spectral_single_pixel", nw * n, describe, recipe.text,
                             recipe.name,
                             truth=lambda sim: spectral_pattern_truth(sim, wavelengths, basis,
                                                                      spi["fov_um"], centre),
                             **open_args)
    position = yield Position()
    if resume is not None and resume.previous_blocks:  # where and when the last block ended
        last = resume.previous_blocks[-1]
        yield Set("source", "wavelength_um", float(wavelengths[int(last["line"]) // blocks]))
        yield CatchUp(lab_start_s + float(last["t_end_s"]))

    memory = ProjectorMemory(basis, loaded, chunk)
    for iw in range(iw0, nw):
        wl = wavelengths[iw]
        yield from tune(wl, spec["settle_s"])
        power_mW = float((yield MeasurePower()))
        if spec["measure_power"] and not (iw == iw0 and k0 > 0):
            yield Emit(SPECTRAL_POWER, (iw, wl, power_mW, float((yield Now())) - lab_start_s))

        def label(k: int, iw: int = iw, wl: float = wl) -> tuple[int, tuple, tuple]:
            index = iw * n + k
            return index, (iw, k), (index, iw, k, wl)

        yield from stream_patterns(recipe, basis, dwell_s, stream, position, lab_start_s,
                                   memory.slot, None, first_block=k0 // block if iw == iw0 else 0,
                                   label=label, block_offset=iw * blocks)


def spectral_pattern_truth(sim: Any, wavelengths_um: list[float], basis: Any, fov_um: float,
                           centre_um: tuple[float, float]) -> dict[str, Any] | None:
    """A simulated lab's noise-free image per lit DMD pixel at each wavelength, and the
    chart's materials at the pixel centres (:class:`~imager.lab.SimHooks`)."""
    import numpy as np

    cube = getattr(sim, "expected_pattern_cube", None)
    if cube is None:
        return None
    size = basis.size
    pixels = (np.arange(size) - (size - 1) / 2) * (fov_um / size)
    x_um, y_um = centre_um[0] + pixels, centre_um[1] + pixels
    materials = getattr(sim, "chart_truth", None)
    return {"truth_V": cube(wavelengths_um),
            "chart_truth": materials(x_um, y_um, wavelengths_um) if materials else None}
