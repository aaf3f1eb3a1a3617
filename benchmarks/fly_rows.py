"""Fly scans against the step raster on the same 64 x 64 chart (used by ``lab_time.py``).

For each time per pixel (in lock-in time constants) one fly scan of the twin, with and
without deconvolving the lock-in's filter, scored against its own truth (the settled
signal averaged across each pixel's bin) and the common reference; the forward/backward
disagreement of a bidirectional scan of a sharp edge (the twin's ``knife_edge`` chart: the
mean 50 % crossing of the forward lines minus that of the backward ones); the lab time a
fly scan needs to reach the step raster's SSIM; and the physical floors: pixels x 1 time
constant (the shortest pixel the deconvolution resolves) and pixels x 1 / (2 ENBW) = 4
time constants at 12 dB/oct (the averaging time that gives one pixel the noise of one
step-raster reading).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from imager.engine import run_raster
from imager.recipes import default_recipe
from imager.sim import simulated_lab_for
from imager.sim.projector import pixel_centres_um
from reconstruction.metrics import edge_position_px, psnr, ssim

FLY_PIXEL_TC = (1, 2, 3, 4, 6)


def fly_recipe(n: int, fov_um: float, centre_um: float, tau_s: float, slope: int,
               pixel_tc: float, seed: int, deconvolve: bool = True):
    """The raster recipe of ``lab_time.py`` flown: snake lines, ``pixel_tc`` per pixel."""
    centres = pixel_centres_um(n, fov_um, centre_um)
    return default_recipe(
        scan={"nx": n, "ny": n, "x_start_um": float(centres[0]), "x_stop_um": float(centres[-1]),
              "y_start_um": float(centres[0]), "y_stop_um": float(centres[-1]),
              "order": "snake", "mode": "fly", "fly_pixel_tc": float(pixel_tc),
              "deconvolve": deconvolve},
        lockin={"time_constant_s": tau_s, "filter_slope_dB_per_oct": slope},
        sim={"seed": seed})


def edge_disagreement_px(folder, seed: int, tau_s: float, slope: int, pixel_tc: float,
                         deconvolve: bool, n: int = 64, rows: int = 8) -> float:
    """Bidirectional fly scan of a sharp edge (400 um field, ``n`` pixels, ``rows`` lines):
    mean edge position of the forward lines minus that of the backward lines, pixels."""
    recipe = default_recipe(
        scan={"nx": n, "ny": rows, "x_start_um": 12300.0, "x_stop_um": 12700.0,
              "y_start_um": 12490.0, "y_stop_um": 12510.0, "order": "snake", "mode": "fly",
              "fly_pixel_tc": float(pixel_tc), "deconvolve": deconvolve},
        lockin={"time_constant_s": tau_s, "filter_slope_dB_per_oct": slope},
        sim={"seed": seed, "chart": "knife_edge", "chart_width_um": 400.0})
    result = run_raster(simulated_lab_for(recipe), recipe,
                        folder / f"edge_{pixel_tc:g}_{deconvolve}_{seed}.h5", progress=False,
                        handle_ctrl_c=False)
    edges = [edge_position_px(row) for row in result.image_V]
    return float(np.mean(edges[0::2]) - np.mean(edges[1::2]))


def fly_rows(folder, seed: int, n: int, fov_um: float, centre_um: float, tau_s: float,
             slope: int, score_common: Callable, reference: np.ndarray, row_type) -> tuple:
    """Fly scans at every ``FLY_PIXEL_TC``: the table rows and ``{pixel_tc: shift}`` with
    and without deconvolution."""
    rows, shifts = [], {}
    for deconvolve in (True, False):
        for tc in (FLY_PIXEL_TC if deconvolve else FLY_PIXEL_TC[:1]):
            recipe = fly_recipe(n, fov_um, centre_um, tau_s, slope, tc, seed, deconvolve)
            path = folder / f"fly_{tc:g}tc_{deconvolve}.h5"
            result = run_raster(simulated_lab_for(recipe), recipe, path, progress=False,
                                handle_ctrl_c=False)
            assert result.exit_status == "success", result.error_message
            image, truth = result.image_V, result.truth_V
            ssim_c, psnr_c = score_common(image, reference)
            rows.append(row_type("fly", "deconvolved" if deconvolve else "raw", tc, None,
                                 result.points_done, result.lab_time_s, ssim(image, truth),
                                 ssim_c, psnr(image, truth), psnr_c))
    for deconvolve in (True, False):
        shifts[(FLY_PIXEL_TC[0], deconvolve)] = edge_disagreement_px(
            folder, seed, tau_s, slope, FLY_PIXEL_TC[0], deconvolve)
    return rows, shifts


def fly_summary(step_row, rows: list, shifts: dict, n: int, tau_s: float) -> list[str]:
    """Lines comparing the fly scans with the step raster ``step_row`` (same chart)."""
    fly = [r for r in rows if r.method == "fly" and r.recon == "deconvolved"]
    reach = next((r for r in sorted(fly, key=lambda r: r.lab_time_s)
                  if r.ssim_own >= step_row.ssim_own), None)
    pixels = n * n
    lines = [f"step raster, {step_row.dwell_tc:g} tc dwell: {step_row.lab_time_s / 60:.1f} min, "
             f"SSIM (own truth) {step_row.ssim_own:.3f}"]
    if reach is None:
        lines.append(f"fly: no time per pixel up to {max(FLY_PIXEL_TC)} tc reaches that SSIM")
    else:
        lines.append(f"fly reaches it at {reach.dwell_tc:g} tc per pixel: "
                     f"{reach.lab_time_s / 60:.1f} min, SSIM {reach.ssim_own:.3f}: "
                     f"{reach.lab_time_s / step_row.lab_time_s:.2f} of the step raster's lab "
                     f"time (target <= 0.20)")
    lines.append(f"physical floor: {pixels} pixels x 1 tc = {pixels * tau_s / 60:.1f} min "
                 f"(resolution), x 4 tc = {pixels * 4 * tau_s / 60:.1f} min (the noise of one "
                 "step-raster reading, 1 / (2 ENBW) at 12 dB/oct)")
    raw = shifts.get((FLY_PIXEL_TC[0], False))
    dec = shifts.get((FLY_PIXEL_TC[0], True))
    lines.append(f"sharp edge, 4 forward and 4 backward lines at {FLY_PIXEL_TC[0]} tc per pixel: "
                 f"forward - backward edge {raw:+.2f} px raw, {dec:+.2f} px deconvolved "
                 "(target |difference| <= 0.2 px)")
    return lines


def spi_stream_summary(step_row, rows: list) -> list[str]:
    """A line comparing streamed single-pixel scans (the lock-in's memory fitted out) with
    the step raster ``step_row``: the fastest that reaches its SSIM (and the fraction of
    its lab time; issue 13 asks <= 1/3 with the reference channel), or the best."""
    if not rows:
        return []
    kind = rows[0].method.split(", ", 1)[-1]
    reach = next((r for r in sorted(rows, key=lambda r: r.lab_time_s)
                  if r.ssim_own >= step_row.ssim_own), None)
    best = max(rows, key=lambda r: r.ssim_own)
    if reach is None:
        return [f"single pixel ({kind}, TV): best SSIM {best.ssim_own:.3f} ({best.ratio:g}, "
                f"{best.dwell_tc:g} tc, {best.lab_time_s / 60:.1f} min); none reaches the step "
                f"raster's {step_row.ssim_own:.3f}"]
    return [f"single pixel ({kind}, TV) reaches the step raster's SSIM "
            f"({step_row.ssim_own:.3f} in {step_row.lab_time_s / 60:.1f} min) at ratio "
            f"{reach.ratio:g}, {reach.dwell_tc:g} tc per pattern: SSIM {reach.ssim_own:.3f} in "
            f"{reach.lab_time_s / 60:.1f} min, {reach.lab_time_s / step_row.lab_time_s:.2f} of "
            "its lab time"]


#: A fly scan with signal to spare: the focused pump raised below its limit (226.6 mW at
#: 1 um, imager/twin/limits.py) and the photodiode gain that does not saturate (the planner's
#: choice); the step raster at the same pump is printed beside it.
STRONG_FLY_PUMP_MW = 200.0
STRONG_FLY_PIXEL_TC = (0.5, 0.75, 1.0)
STRONG_SENSITIVITY_V = 0.01


def strong_fly_rows(folder, seed: int, n: int, fov_um: float, centre_um: float, tau_s: float,
                    slope: int, score_common: Callable, reference: np.ndarray, row_type,
                    step_recipe: Callable) -> list:
    """Fly scans at ``STRONG_FLY_PIXEL_TC`` and the 1 tc step raster, both at
    ``STRONG_FLY_PUMP_MW``."""
    from imager.planner.recommend import _gain_for

    pump = {"power_mW": STRONG_FLY_PUMP_MW}
    recipes = [(f"fly, {STRONG_FLY_PUMP_MW:g} mW", tc,
                fly_recipe(n, fov_um, centre_um, tau_s, slope, tc, seed))
               for tc in STRONG_FLY_PIXEL_TC]
    recipes.append((f"step raster, {STRONG_FLY_PUMP_MW:g} mW", 1.0, step_recipe(1, seed)))
    rows = []
    for method, tc, recipe in recipes:
        probe = recipe.with_overrides("strong", pump=pump)
        recipe = probe.with_overrides("strong", lockin={"sensitivity_V": STRONG_SENSITIVITY_V},
                                      sim={"detector_gain_V_per_A": _gain_for(probe, False)})
        path = folder / f"strong_{method.split(',')[0].replace(' ', '_')}_{tc:g}.h5"
        result = run_raster(simulated_lab_for(recipe), recipe, path, progress=False,
                            handle_ctrl_c=False)
        assert result.exit_status == "success", result.error_message
        image, truth = result.image_V, result.truth_V
        ssim_c, psnr_c = score_common(image, reference)
        rows.append(row_type(method, "deconvolved" if method.startswith("fly") else "raw", tc,
                             None, result.points_done, result.lab_time_s, ssim(image, truth),
                             ssim_c, psnr(image, truth), psnr_c))
    return rows


def strong_fly_summary(step_row, rows: list, step_s: float) -> list[str]:
    """Lines: the fastest strong fly scan reaching the step raster's SSIM, and the step
    raster at that pump (bound by its stepping: ``step_s`` per pixel at zero dwell)."""
    fly = [r for r in rows if r.method.startswith("fly")]
    step = next(r for r in rows if r.method.startswith("step"))
    reach = next((r for r in sorted(fly, key=lambda r: r.lab_time_s)
                  if r.ssim_own >= step_row.ssim_own), None)
    floor_min = len(fly) and fly[0].readings * step_s / 60
    if reach is None:
        head = (f"fly at {STRONG_FLY_PUMP_MW:g} mW: none of {STRONG_FLY_PIXEL_TC} tc per pixel "
                f"reaches the step raster's SSIM {step_row.ssim_own:.3f}")
    else:
        head = (f"fly at {STRONG_FLY_PUMP_MW:g} mW (signal to spare) reaches the 0.5 mW step "
                f"raster's SSIM at {reach.dwell_tc:g} tc per pixel: SSIM {reach.ssim_own:.3f} in "
                f"{reach.lab_time_s / 60:.2f} min, {reach.lab_time_s / step_row.lab_time_s:.2f} "
                "of its lab time (target <= 0.20)")
    return [head, f"the step raster at {STRONG_FLY_PUMP_MW:g} mW: SSIM {step.ssim_own:.3f} in "
            f"{step.lab_time_s / 60:.1f} min; stepping alone takes {floor_min:.1f} min at any "
            "pump (no dwell), so only the fly scan turns the extra signal into speed"]
