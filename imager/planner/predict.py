"""Predicted per-pixel noise, image quality and lab time of a recipe, before acquiring.

:func:`predict` takes a recipe (step raster, fly raster or single pixel) and
returns a :class:`Prediction` from the noise budget of one reading
(:mod:`imager.planner.budget`), the chart the twin images (its noise-free truth:
signal levels and, for short dwells, the lock-in's memory of the previous pixel or
pattern) and the timing of the plan (stage moves, dwells, pattern switches):

* step raster: one reading per pixel; noise ``sqrt(add^2 + (S m)^2)`` at signal
  ``S`` (``m``: MIR, pump and drift together); the filter still holds
  ``S_n((settle + dwell) / tau)`` of the previous pixel (:func:`memory_fraction`).
* fly raster: the samples of one pixel (``pitch / velocity`` long) averaged, the
  lock-in's additive noise density over that time.
* single pixel: per-pixel noise of the pseudo-inverse, ``g * sigma_b`` (``g``
  from the basis: ``sqrt(2 / M)`` for ``M`` complementary pairs of a complete
  Hadamard basis), with the bucket noise ``sigma_b`` of one reading, or of one
  streamed pattern fitted through the filter (:func:`~imager.planner.budget.
  stream_pair_noise`), plus the pair difference of the power fluctuations; read
  one by one, a reading keeps ``S_n(dwell / tau)`` of the previous pattern.

The image quality is the PSNR against the noise-free image (its range over the
rms error). Compressive ratios (< 1) are predicted for the pseudo-inverse only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imager.planner.budget import model_lab, reading_budget, stream_pair_noise


@dataclass(frozen=True)
class Prediction:
    """What an acquisition is predicted to give.

    Attributes
    ----------
    mode : str
        ``"step raster"``, ``"fly raster"`` or ``"single pixel"``.
    settings : dict
        The settings it was predicted for (pump, gain, dwell, ratio, readout, ...).
    signal_V : float
        Brightest pixel of the noise-free image, V.
    sigma_pixel_V : float
        Noise of one pixel at that signal, V rms.
    sigma_rms_V : float
        rms error over the image: noise, plus the lock-in's memory where it stays
        (after the best overall scale: a gain error is not in it).
    gain_rel : float
        Expected gain error of the whole image, relative rms: the slow drift's rms
        (an uncalibrated scan sees it at an unknown phase).
    psnr_dB : float
        ``20 log10(range / error)`` against the noise-free image, the error being
        ``sigma_rms`` and the gain error together.
    lab_time_s : float
    warnings : tuple of str
    """

    mode: str
    settings: dict[str, Any]
    signal_V: float
    sigma_pixel_V: float
    sigma_rms_V: float
    gain_rel: float
    psnr_dB: float
    lab_time_s: float
    warnings: tuple[str, ...] = field(default=())

    @property
    def snr(self) -> float:
        """Per-pixel signal-to-noise ratio at the brightest pixel."""
        return self.signal_V / self.sigma_pixel_V if self.sigma_pixel_V > 0 else math.inf


def memory_fraction(elapsed_tc: float, n_poles: int) -> float:
    """What an n-pole filter still holds of its input ``elapsed_tc`` time constants ago:
    ``exp(-x) sum_{m<n} x^m / m!``."""
    x = max(float(elapsed_tc), 0.0)
    return math.exp(-x) * sum(x**m / math.factorial(m) for m in range(n_poles))


def filtered_readings(inputs: np.ndarray, dwell_tc: float, n_poles: int) -> np.ndarray:
    """Lock-in output read ``dwell_tc`` time constants after each input step: the exact
    n-pole cascade driven by the inputs one after the other (settled on the first)."""
    x = float(dwell_tc)
    decay = math.exp(-x)
    coef = [decay * x**m / math.factorial(m) for m in range(n_poles)]
    state = [float(inputs[0])] * n_poles
    out = np.empty(len(inputs))
    for k, u in enumerate(np.asarray(inputs, dtype=float)):
        d = [v - u for v in state]
        state = [u + sum(d[j] * coef[i - j] for j in range(i + 1)) for i in range(n_poles)]
        out[k] = state[-1]
    return out


def move_memory(dyn: Any, distance_um: float, after_s: float, tau_s: float,
                n_poles: int) -> float:
    """What the filter still holds of the previous pixel ``after_s`` after a step move of
    ``distance_um`` ended: the input moves from the old pixel's value to the new one
    along the stage's trapezoidal profile (the filter follows it during the move), a
    sum over the path of the filter's step response."""
    from reconstruction.fly.motion import trapezoid_position

    move_s = dyn.move_duration_s(distance_um)
    if distance_um <= 0 or move_s <= 0:
        return memory_fraction(after_s / tau_s, n_poles)
    s = np.linspace(0.0, move_s, 257)
    p = trapezoid_position(s, 0.0, distance_um, dyn.velocity_um_per_s,
                           dyn.acceleration_um_per_s2, 0.0) / distance_um
    elapsed = (move_s + after_s - 0.5 * (s[1:] + s[:-1])) / tau_s  # since each bit of the step
    held = np.array([memory_fraction(x, n_poles) for x in elapsed])
    return float(np.sum(np.diff(p) * held))


def _quality(truth: np.ndarray, sigma_rms: float, lab: Any) -> tuple[float, float]:
    """``(gain_rel, psnr_dB)``: the drift's expected gain error, and the PSNR with it."""
    nm = lab.lockin.noise
    gain = nm.drift_rel_rms if nm is not None else 0.0
    error = math.hypot(sigma_rms, gain * math.sqrt(float(np.mean(truth**2))))
    span = float(truth.max() - truth.min())
    return gain, (20.0 * math.log10(span / error) if error > 0 and span > 0 else math.inf)


def _overload(li: Any, level_V: float) -> list[str]:
    if level_V > li.sensitivity_V:
        return [f"readings up to {level_V:.3g} V exceed the lock-in's {li.sensitivity_V:g} V "
                "sensitivity: it will re-range (set [lockin] sensitivity_V higher)"]
    return []


def predict(recipe: Any) -> Prediction:
    """Predict the acquisition ``recipe`` describes (kind and mode), on its model lab."""
    lab = model_lab(recipe)
    if recipe.kind == "single_pixel":
        return _single_pixel(recipe, lab)
    if recipe.kind != "raster":
        raise recipe.error(f"kind = {recipe.kind!r}: the planner predicts raster and "
                           "single-pixel scans")
    if recipe.sections["scan"]["mode"] == "fly":
        return _fly_raster(recipe, lab)
    return _step_raster(recipe, lab)


def _common(recipe: Any, lab: Any) -> dict[str, Any]:
    sim = recipe.sections["sim"]
    return {"pump_mW": lab.pump.power_mW, "time_constant_s": lab.lockin.time_constant_s,
            "detector_gain_V_per_A": sim["detector_gain_V_per_A"],
            "reference_channel": sim["reference_channel"]}


def _step_raster(recipe: Any, lab: Any) -> Prediction:
    grid, li = recipe.grid, lab.lockin
    tau, n_poles = li.time_constant_s, li.filter_slope_dB_per_oct // 6
    dwell_s = recipe.dwell_s(tau)
    dyn = lab.stage_x.dynamics
    dx, dy = (abs(v) for v in grid.step_um)
    step_s = dyn.move_duration_s(dx) + dyn.settle_s + dwell_s
    line_s = dyn.move_duration_s(dy if grid.order == "snake" else math.hypot(
        dy, (grid.nx - 1) * dx)) + dyn.settle_s + dwell_s
    lab_time = grid.ny * (grid.nx - 1) * step_s + (grid.ny - 1) * line_s + dwell_s
    truth = lab.expected_image(grid.x_um, grid.y_um)
    budget = reading_budget(lab, False, step_s, lab_time)
    add, m = budget.additive_V, budget.multiplicative_rel
    signal = float(truth.max())
    order = np.array([truth[iy, ix] for ix, iy in map(grid.grid_index, range(grid.n_points))])
    memory = move_memory(dyn, dx, dyn.settle_s + dwell_s, tau, n_poles)
    lag = memory * np.diff(order, prepend=order[0])
    sigma_rms = math.sqrt(add**2 + m**2 * float(np.mean(truth**2)) + float(np.mean(lag**2)))
    return Prediction(
        "step raster", {**_common(recipe, lab), "dwell_s": dwell_s, "nx": grid.nx,
                        "ny": grid.ny}, signal, math.hypot(add, signal * m), sigma_rms,
        *_quality(truth, sigma_rms, lab), lab_time,
        budget.warnings + tuple(_overload(li, signal + 4 * add)))


def _fly_raster(recipe: Any, lab: Any) -> Prediction:
    from imager.plans.fly import fly_geometry

    grid, li = recipe.grid, lab.lockin
    tau = li.time_constant_s
    geometry = fly_geometry(recipe, tau, lab.stage_x.settings(), lab.stage_x.max_velocity_um_per_s,
                            li.stream_rates_Hz, li.stream_capacity)
    dyn = lab.stage_x.dynamics
    dy = abs(grid.step_um[1])
    line_s = geometry.line_duration_s() + geometry.settle_s + dyn.move_duration_s(dy) \
        + dyn.settle_s
    lab_time = grid.ny * line_s
    pixel_s = abs(grid.step_um[0] or 1.0) / geometry.velocity_um_per_s
    truth = lab.expected_image(grid.x_um, grid.y_um)
    budget = reading_budget(lab, False, pixel_s, lab_time)
    density = li.noise_density_V_per_rtHz()
    add = density * math.sqrt(1.0 / (2.0 * pixel_s))  # white noise averaged over a pixel
    m = budget.multiplicative_rel
    signal = float(truth.max())
    sigma_rms = math.sqrt(add**2 + m**2 * float(np.mean(truth**2)))
    return Prediction(
        "fly raster", {**_common(recipe, lab), "velocity_um_per_s": geometry.velocity_um_per_s,
                       "stream_rate_Hz": geometry.rate_Hz, "nx": grid.nx, "ny": grid.ny},
        signal, math.hypot(add, signal * m), sigma_rms, *_quality(truth, sigma_rms, lab),
        lab_time,
        budget.warnings + tuple(_overload(li, signal + 4 * budget.additive_V)))


def _single_pixel(recipe: Any, lab: Any) -> Prediction:
    from imager.recipes.recipe import single_pixel_basis
    from imager.sim.projector import SWITCH_TIME_S
    from reconstruction.spi import reconstruct

    spi, li = recipe.sections["single_pixel"], lab.lockin
    tau, n_poles = li.time_constant_s, li.filter_slope_dB_per_oct // 6
    basis = single_pixel_basis(recipe)
    n = basis.size
    lab.stage.move_to(spi["center_x_um"], spi["center_y_um"])
    lab.stage.wait_settled()
    lab.projector.fov_um = spi["fov_um"]
    half = (np.random.default_rng(0).random((1, n, n)) < 0.5).astype(np.uint8)
    lab.projector.load(half)
    lab.projector.enabled = True
    lab.projector.show(0)
    truth = lab.expected_pattern_image()
    dwell_s = recipe.dwell_s(tau)
    period_s = dwell_s + SWITCH_TIME_S
    streamed = spi["readout"] == "stream"
    n_patterns = basis.n_patterns
    lab_time = n_patterns * period_s
    if streamed:
        lab_time += math.ceil(n_patterns / spi["block_patterns"]) * spi["settle_tc"] * tau
    fill = float(basis.patterns(0, min(2, n_patterns)).reshape(-1, n * n).mean(axis=1).max())
    budget = reading_budget(lab, True, period_s, lab_time, lit_fraction_max=fill)
    buckets = basis.raw(truth)  # the noise-free reading of every pattern, in order
    level = float(np.mean(buckets))
    if streamed:
        rate = max(r for r in li.stream_rates_Hz if r <= spi["stream_rate_Hz"] + 1e-9)
        per_density, fluctuation = stream_pair_noise(lab, dwell_s / tau, rate, level)
        pair_V = math.hypot(li.noise_density_V_per_rtHz() * per_density, fluctuation)
        memory = 0.0
    else:
        pair_V = math.sqrt(2.0 * budget.additive_V**2 + (level * budget.pair_rel()) ** 2)
        memory = memory_fraction(dwell_s / tau, n_poles)
    sigma_b = pair_V / math.sqrt(2.0)  # one reading's share of a pair difference
    # the pseudo-inverse's noise gain and the lock-in's memory, through the basis itself
    rng = np.random.default_rng(1)
    gain = float(np.std(reconstruct(basis.combine(rng.standard_normal(n_patterns)), basis,
                                    method="pinv")))
    lagged = filtered_readings(buckets, dwell_s / tau, n_poles) if memory else buckets
    exact = reconstruct(basis.combine(buckets), basis, method="pinv")
    lag_error = reconstruct(basis.combine(lagged), basis, method="pinv") - exact
    norm = float(np.sum(exact * exact))
    if norm > 0:  # its gain is no error of the image's shape
        lag_error -= float(np.sum(lag_error * exact)) / norm * exact
    sigma_pixel = gain * sigma_b
    sigma_rms = math.sqrt(sigma_pixel**2 + float(np.mean(lag_error**2)))
    warnings = list(budget.warnings) + _overload(li, float(buckets.max()) + 4 * sigma_b)
    if basis.ratio < 1.0:
        warnings.append(f"compressive (ratio {basis.ratio:g}): predicted for the pseudo-inverse;"
                        " the unmeasured coefficients' error depends on the image and solver")
    return Prediction(
        "single pixel", {**_common(recipe, lab), "dwell_s": dwell_s, "size": n,
                         "ratio": basis.ratio, "readout": spi["readout"]},
        float(truth.max()), sigma_pixel, sigma_rms, *_quality(truth, sigma_rms, lab), lab_time,
        tuple(warnings))


def spectral_lab_time_s(recipe: Any, image_s: float, dwell_s: float) -> float | None:
    """Lab time of a recipe's ``[spectral]`` scan, from one image's (``image_s``, as
    :func:`predict` gives it at the recipe's wavelength) and the QCL's tunes
    (:func:`imager.instruments.qcl.tune_time_s`); None for a recipe of one wavelength.
    Point order adds ``dwell_s`` and a tune per reading instead of whole images; the
    blank spot's readings and the power meter are not counted."""
    from imager.instruments.qcl import tune_time_s
    from imager.recipes.recipe import spectral_wavelengths

    wavelengths = spectral_wavelengths(recipe)
    if not wavelengths:
        return None
    spec = recipe.sections["spectral"]
    path = [recipe.sections["source"]["wavelength_um"], *wavelengths]
    tunes_s = sum(tune_time_s(a, b, spec["settle_s"]) for a, b in _pairs(path))
    if spec["order"] == "image":
        return len(wavelengths) * image_s + tunes_s
    cycle = [*wavelengths, wavelengths[0]]
    per_point_s = (len(wavelengths) - 1) * dwell_s + sum(
        tune_time_s(a, b, spec["settle_s"]) for a, b in _pairs(cycle))
    return image_s + recipe.grid.n_points * per_point_s + tunes_s


def _pairs(values: list[float]) -> list[tuple[float, float]]:
    """Consecutive pairs: the tunes of a wavelength sequence."""
    return list(zip(values[:-1], values[1:], strict=True))
