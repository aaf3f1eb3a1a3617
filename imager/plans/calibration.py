"""Calibration plan: MIR-power sweeps (responsivity, detection limit) and the optional
pump-power, wavelength and temperature sweeps and lifetime traces, as steps.

The plan only yields steps (:mod:`imager.plans.steps`): the engine sets the
devices, waits and reads. The fits are pure functions of the readings the
engine sends back (:mod:`reconstruction.calibration`); the plan returns them
as a :class:`CalibrationResult` (``RunResult.value``). What goes into the file
reaches the sinks as documents (``Emit(name, payload)``, payloads are dicts):

=============================  ==============================================================
document                       payload
=============================  ==============================================================
``calibration.sweep``          an MIR-power sweep starts: ``sweep`` (group name, e.g.
                               ``"responsivity"``, ``"pump_sweep/0"``), ``mir_power_mW``,
                               ``intensity_W_per_um2``, ``repeats``
``calibration.sweep_level``    ``sweep``, ``level``, ``X_V`` (the level's readings)
``calibration.sweep_fit``      ``sweep``, ``attrs`` (the responsivity fit, pump, wavelength)
``calibration.sweep_summary``  ``sweep`` (``"pump_sweep"``, ``"spectral_sweep"``), ``axis``,
                               ``values``, ``slope``, ``slope_err``, ``nei``
``calibration.temperature``    ``temperature_K``, ``repeats``
``calibration.temperature_level``  ``level``, ``bands`` (``{band: readings}``)
``calibration.temperature_fit``    ``ratio_525_545``, ``attrs`` (Boltzmann fit, or empty)
``calibration.decay``          ``mir_power_mW``
``calibration.decay_trace``    ``level``, ``band``, ``t_s``, ``trace``, ``levels``
``calibration.decay_level``    ``level`` (the level's traces are complete)
``calibration.decay_fit``      ``bands`` (``{band: {tau_s, tau_err_s, delta_k_per_s}}``),
                               ``attrs`` (``{band: Delta K slope attributes}``)
``calibration.reading``        ``index``: a photometer or decay reading was made (the
                               lock-in readings are ``Read`` steps, points of the run)
=============================  ==============================================================

Every reading (lock-in, photometer, decay trace) starts with ``BeginPoint`` of
its running index, so a simulated lab's noise is the same on every run.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imager.plans.steps import (
    BeginPoint,
    Call,
    Checkpoint,
    CheckTravel,
    Configure,
    Dwell,
    Emit,
    Finally,
    Get,
    Move,
    Open,
    Position,
    Read,
    Set,
    WaitSettled,
)
from imager.results_display import CalibrationResultDisplay
from reconstruction.calibration import (
    BoltzmannFit,
    LinearFit,
    Responsivity,
    fit_boltzmann,
    fit_decay,
    fit_line,
    fit_responsivity,
)

Steps = Generator[Any, Any, Any]

BANDS = ("525", "545", "660")

SWEEP, SWEEP_LEVEL, SWEEP_FIT, SWEEP_SUMMARY = (
    "calibration.sweep", "calibration.sweep_level", "calibration.sweep_fit",
    "calibration.sweep_summary")
TEMPERATURE, TEMPERATURE_LEVEL, TEMPERATURE_FIT = (
    "calibration.temperature", "calibration.temperature_level", "calibration.temperature_fit")
DECAY, DECAY_TRACE, DECAY_LEVEL, DECAY_FIT = (
    "calibration.decay", "calibration.decay_trace", "calibration.decay_level",
    "calibration.decay_fit")
READING = "calibration.reading"


def gaussian_peak_intensity_W_per_um2(power_mW: float, fwhm_um: float) -> float:
    """Peak intensity of a round Gaussian beam: ``P * 4 ln 2 / (pi FWHM^2)``."""
    return power_mW * 1e-3 * 4.0 * math.log(2.0) / (math.pi * fwhm_um**2)


@dataclass
class CalibrationResult(CalibrationResultDisplay):
    """Fits of one calibration run (see :func:`imager.calibration.run_calibration`)."""

    path: Path | None
    responsivity: Responsivity
    pump_mW: float
    wavelength_um: float
    pump_sweep: list[tuple[float, Responsivity]] = field(default_factory=list)
    spectral: list[tuple[float, Responsivity]] = field(default_factory=list)
    boltzmann: BoltzmannFit | None = None
    ratio_T: list[tuple[float, float]] = field(default_factory=list)
    lifetimes_s: dict[str, np.ndarray] = field(default_factory=dict)
    delta_k: dict[str, LinearFit] = field(default_factory=dict)
    exit_status: str = "success"


def count_readings(cal: dict[str, Any]) -> int:
    """Readings of a ``[calibration]`` section: lock-in, photometer and decay traces."""
    per_sweep = len(cal["mir_power_mW"]) * cal["repeats"]
    n = per_sweep * (1 + len(cal["pump_power_mW"]) + len(cal["mir_wavelength_um"]))
    n += len(cal["temperature_K"]) * cal["repeats"]
    if cal["decay"]:
        n += len(cal["mir_power_mW"]) * len(BANDS)
    return n


def calibration_plan(recipe: Any) -> Steps:
    """The plan of a ``kind = "calibration"`` recipe.

    Configure the instruments, check the spot is within the stage travel, open
    the run, move to the spot, then the MIR-power sweep (and the pump-power,
    wavelength, temperature and decay sweeps the recipe asks for). The MIR
    source is switched off at the end, however the run ends.

    Parameters
    ----------
    recipe : Recipe
        A validated calibration recipe (its ``[calibration]`` section).

    Returns
    -------
    CalibrationResult
        The fits (``path`` None: the caller knows where the sinks wrote).
    """
    cal = recipe.sections["calibration"]
    spot = (cal["x_um"], cal["y_um"])
    yield Configure(recipe)
    yield CheckTravel(*spot)
    yield Open("calibration", count_readings(cal),
               {"x_um": cal["x_um"], "y_um": cal["y_um"], "beam_fwhm_um": cal["beam_fwhm_um"]},
               recipe.text, recipe.name)
    yield Finally((Set("source", "on", False),))
    yield Move(*spot)
    yield WaitSettled()
    run = _Readings(cal, (yield Position()))
    pump0 = float((yield Get("pump", "power_mW")))
    wavelength0 = float((yield Get("source", "wavelength_um")))
    result = CalibrationResult(None, (yield from run.mir_sweep("responsivity")), pump0,
                               wavelength0)
    for i, pump in enumerate(cal["pump_power_mW"]):
        yield Set("pump", "power_mW", pump)
        result.pump_sweep.append((pump, (yield from run.mir_sweep(f"pump_sweep/{i}"))))
    yield Set("pump", "power_mW", pump0)
    for i, wavelength in enumerate(cal["mir_wavelength_um"]):
        yield Set("source", "wavelength_um", wavelength)
        result.spectral.append((wavelength, (yield from run.mir_sweep(f"spectral_sweep/{i}"))))
    yield Set("source", "wavelength_um", wavelength0)
    yield from _summary("pump_sweep", "pump_mW", result.pump_sweep)
    yield from _summary("spectral_sweep", "wavelength_um", result.spectral)
    if cal["temperature_K"]:
        yield from run.temperature_sweep(result)
    if cal["decay"]:
        yield from run.decay_sweep(result)
    return result


def _summary(sweep: str, axis: str, rows: list[tuple[float, Responsivity]]) -> Steps:
    if rows:
        yield Emit(SWEEP_SUMMARY, {
            "sweep": sweep, "axis": axis, "values": [r[0] for r in rows],
            "slope": [r[1].slope_V_per_W_per_um2 for r in rows],
            "slope_err": [r[1].slope_err_V_per_W_per_um2 for r in rows],
            "nei": [r[1].nei_W_per_um2 for r in rows]})


def _wait_tc(n_tc: float) -> Steps:
    """Wait ``n_tc`` lock-in time constants (the time constant read each time)."""
    if n_tc > 0:
        yield Dwell(n_tc * (yield Get("lockin", "time_constant_s")))


class _Readings:
    """The sweeps of one run; ``index`` counts the readings (noise seed of each)."""

    def __init__(self, cal: dict[str, Any], position_um: tuple[float, float]) -> None:
        self.cal, self.position_um, self.index = cal, position_um, 0

    def lockin_readings(self) -> Steps:
        """``repeats`` lock-in X readings, ``sample_tc`` apart."""
        out = np.empty(self.cal["repeats"])
        for k in range(out.size):
            yield BeginPoint(self.index)
            yield from _wait_tc(self.cal["sample_tc"])
            reading = yield Read(self.index, position_um=self.position_um, checked=False)
            out[k] = reading.x_V
            self.index += 1
        return out

    def mir_sweep(self, name: str) -> Steps:
        """Readings at every MIR level, one row per level; the responsivity fit."""
        cal = self.cal
        levels = cal["mir_power_mW"]
        intensity = np.array([gaussian_peak_intensity_W_per_um2(p, cal["beam_fwhm_um"])
                              for p in levels])
        yield Emit(SWEEP, {"sweep": name, "mir_power_mW": levels,
                           "intensity_W_per_um2": intensity, "repeats": cal["repeats"]})
        readings = np.full((len(levels), cal["repeats"]), np.nan)
        for i, power in enumerate(levels):
            yield Set("source", "power_mW", power)
            yield Set("source", "on", True)
            yield from _wait_tc(cal["settle_tc"])
            readings[i] = yield from self.lockin_readings()
            yield Emit(SWEEP_LEVEL, {"sweep": name, "level": i, "X_V": readings[i].copy()})
            yield Checkpoint()
        result = fit_responsivity(intensity, readings)
        attrs = dict(result.as_dict())
        attrs["pump_mW"] = float((yield Get("pump", "power_mW")))
        attrs["wavelength_um"] = float((yield Get("source", "wavelength_um")))
        yield Emit(SWEEP_FIT, {"sweep": name, "attrs": attrs})
        return result

    def temperature_sweep(self, result: CalibrationResult) -> Steps:
        """Band ratio R = I525/I545 with the MIR off at each temperature; Boltzmann fit."""
        cal = self.cal
        temps, repeats = cal["temperature_K"], cal["repeats"]
        yield Emit(TEMPERATURE, {"temperature_K": temps, "repeats": repeats})
        t_initial = float((yield Get("temperature", "temperature_K")))
        yield Set("source", "on", False)
        bands = {b: np.full((len(temps), repeats), np.nan) for b in BANDS}
        for i, temperature in enumerate(temps):
            yield Set("temperature", "temperature_K", temperature)
            yield Call("temperature", "wait_stable", optional=True)
            yield from _wait_tc(cal["settle_tc"])
            for k in range(repeats):
                yield BeginPoint(self.index)
                yield from _wait_tc(cal["sample_tc"])
                reading = yield Call("photometer", "read_bands")
                for b in BANDS:
                    bands[b][i, k] = reading[b]
                yield Emit(READING, {"index": self.index})
                self.index += 1
            yield Emit(TEMPERATURE_LEVEL, {"level": i, "bands": {b: bands[b][i].copy()
                                                                  for b in BANDS}})
            yield Checkpoint()
        yield Set("temperature", "temperature_K", t_initial)
        ratio = bands["525"].mean(axis=1) / bands["545"].mean(axis=1)
        result.ratio_T = list(zip(map(float, temps), map(float, ratio), strict=True))
        if len(temps) >= 3:
            result.boltzmann = fit_boltzmann(np.asarray(temps), ratio)
        attrs = result.boltzmann.as_dict() if result.boltzmann is not None else {}
        yield Emit(TEMPERATURE_FIT, {"ratio_525_545": ratio, "attrs": attrs})

    def decay_sweep(self, result: CalibrationResult) -> Steps:
        """Decay trace per band at each MIR level; lifetimes and Delta K = 1/tau - 1/tau(0)."""
        cal = self.cal
        levels = np.asarray(cal["mir_power_mW"], dtype=float)
        yield Emit(DECAY, {"mir_power_mW": levels})
        taus = {b: np.full(levels.size, np.nan) for b in BANDS}
        errs = {b: np.full(levels.size, np.nan) for b in BANDS}
        for i, power in enumerate(levels):
            yield Set("source", "power_mW", power)
            yield Set("source", "on", True)
            yield from _wait_tc(cal["settle_tc"])
            for b in BANDS:
                yield BeginPoint(self.index)
                t_s, trace = yield Call("decay_recorder", "record_decay",
                                        (b, cal["decay_window_s"], cal["decay_samples"]))
                yield Emit(DECAY_TRACE, {"level": i, "band": b, "t_s": t_s, "trace": trace,
                                         "levels": levels.size})
                fit = fit_decay(t_s, trace)
                taus[b][i], errs[b][i] = fit.tau_s, fit.tau_err_s
                yield Emit(READING, {"index": self.index})
                self.index += 1
            yield Emit(DECAY_LEVEL, {"level": i})
            yield Checkpoint()
        zero = int(np.argmin(levels))
        bands, attrs = {}, {}
        for b in BANDS:
            delta_k = 1.0 / taus[b] - 1.0 / taus[b][zero]
            dk_err = np.hypot(errs[b] / taus[b] ** 2, errs[b][zero] / taus[b][zero] ** 2)
            fit = fit_line(levels, delta_k, np.maximum(dk_err, 1e-12))
            bands[b] = {"tau_s": taus[b], "tau_err_s": errs[b], "delta_k_per_s": delta_k}
            attrs[b] = {f"delta_k_{b}_slope_per_s_per_mW": fit.slope,
                        f"delta_k_{b}_slope_err_per_s_per_mW": fit.slope_err,
                        f"delta_k_{b}_r_squared": fit.r_squared}
            result.lifetimes_s[b] = taus[b]
            result.delta_k[b] = fit
        yield Emit(DECAY_FIT, {"bands": bands, "attrs": attrs})
