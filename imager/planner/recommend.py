"""Search settings for the fastest acquisition that reaches a target per-pixel SNR.

For each mode (step raster, fly raster, single pixel) over the recipe's field and
pixel count, :func:`recommend` tries pump powers up to the mode's limit
(:mod:`imager.twin.limits`), with the highest photodiode gain that does not
saturate, dwells in time constants and, for single pixel, the readout (reads or
streamed) with and without the MIR reference channel; each candidate is a
:func:`~imager.planner.predict.predict` of the recipe with those overrides. The
fastest candidate whose SNR reaches the target wins; if none does, the one with
the best SNR.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from imager.planner.predict import Prediction, predict

#: Dwell candidates, lock-in time constants per pixel (step raster) or pattern (reads).
STEP_DWELL_TC = (1.0, 3.0, 10.0)
READ_DWELL_TC = (3.0, 5.0, 10.0)
STREAM_DWELL_TC = (1.0, 2.0)
FLY_PIXEL_TC = (2.0, 4.0, 8.0)


def _gain_for(recipe: Any, patterned: bool) -> float:
    """The highest ladder gain (up to 5e8 V/A) whose DC output stays within 80 % of the
    swing, for a fully lit field when ``patterned`` (a Hadamard basis's first pattern)."""
    from imager.planner.budget import model_lab
    from imager.sim.signal_chain import detector_dc_A
    from imager.twin.detection import AMPLIFIER_GAINS_V_PER_A

    lab = model_lab(recipe)
    if patterned:
        spi = recipe.sections["single_pixel"]
        lab.projector.fov_um = spi["fov_um"]
    dc_A = detector_dc_A(lab, patterned, 1.0 if patterned else None)
    detector = getattr(lab.film, "detector", None)
    if dc_A is None or detector is None or dc_A <= 0:
        return recipe.sections["sim"]["detector_gain_V_per_A"]
    fits = [g for g in AMPLIFIER_GAINS_V_PER_A if dc_A * g <= 0.8 * detector.output_swing_V]
    return min(max(fits) if fits else AMPLIFIER_GAINS_V_PER_A[0], 5e8)


def _pumps(recipe: Any, limit_mW: float) -> list[float]:
    pump = recipe.sections["pump"]["power_mW"]
    return sorted({pump, *(p for p in (10 * pump, 100 * pump) if p < limit_mW),
                   round(0.98 * limit_mW, 1)})


def _with_pump(recipe: Any, pump_mW: float, patterned: bool) -> Any:
    probe = recipe.with_overrides("plan", pump={"power_mW": pump_mW})
    return probe.with_overrides("plan", sim={"detector_gain_V_per_A": _gain_for(probe,
                                                                              patterned)})


def _dwell(recipe: Any, section: str, tc: float) -> dict[str, float]:
    """``dwell_tc`` (or, when the recipe gives it in seconds, ``dwell_s``) of ``tc``."""
    if recipe.sections[section]["dwell_s"] is None:
        return {"dwell_tc": tc}
    return {"dwell_s": tc * recipe.sections["lockin"]["time_constant_s"]}


def _candidates(recipe: Any) -> Iterator[Any]:
    from imager.twin.limits import PATTERNED_LIMIT_MW, SPOT_LIMIT_MW

    if recipe.kind == "single_pixel":
        for pump in _pumps(recipe, PATTERNED_LIMIT_MW):
            base = _with_pump(recipe, pump, True)
            for reference in (False, True):
                for readout, dwells in (("reads", READ_DWELL_TC), ("stream", STREAM_DWELL_TC)):
                    for tc in dwells:
                        yield base.with_overrides(
                            "plan", sim={"reference_channel": reference},
                            single_pixel={"readout": readout,
                                          **_dwell(base, "single_pixel", tc)})
        return
    for pump in _pumps(recipe, SPOT_LIMIT_MW):
        base = _with_pump(recipe, pump, False)
        for tc in STEP_DWELL_TC:
            yield base.with_overrides("plan", scan={"mode": "step",
                                                    **_dwell(base, "scan", tc)})
        for tc in FLY_PIXEL_TC:
            yield base.with_overrides("plan", scan={"mode": "fly", "fly_pixel_tc": tc})


def recommend(recipe: Any, target_snr: float) -> list[Prediction]:
    """The fastest acquisition per mode reaching ``target_snr`` (or the best SNR).

    Parameters
    ----------
    recipe : Recipe
        Field, pixel count, lock-in and lab of the acquisition to plan.
    target_snr : float
        Per-pixel SNR at the brightest pixel to reach (> 0).

    Returns
    -------
    list of Prediction
        One per mode the recipe's kind offers (raster: step and fly; single pixel).
    """
    if not (math.isfinite(target_snr) and target_snr > 0):
        raise ValueError(f"target SNR must be > 0, got {target_snr!r}")
    best: dict[str, Prediction] = {}
    for candidate in _candidates(recipe):
        try:
            p = predict(candidate)
        except Exception as exc:  # a candidate the devices refuse (fly speed, buffer)
            if type(exc).__name__ != "RecipeError":
                raise
            continue
        if any("saturates" in w for w in p.warnings):
            continue
        held = best.get(p.mode)
        if held is None or _better(p, held, target_snr):
            best[p.mode] = p
    return list(best.values())


def _better(p: Prediction, held: Prediction, target: float) -> bool:
    reach, held_reach = p.snr >= target, held.snr >= target
    if reach != held_reach:
        return reach
    if reach:
        return p.lab_time_s < held.lab_time_s
    return p.snr > held.snr
