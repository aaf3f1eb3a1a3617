"""Run a calibration recipe: MIR-power sweep (responsivity, detection limit), and
optionally pump-power, wavelength and temperature sweeps and lifetime traces.

Everything goes through the lab's device interfaces, so hardware and the
simulated lab run the same code. Raw readings are written to an HDF5 file
(``/entry/calibration``) and flushed after every level; fits are stored as
attributes next to their data and returned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from imager.engine.progress import LabProgress
from imager.lab import Lab, apply_settings
from imager.recipes import Recipe
from imager.results_display import CalibrationResultDisplay
from imager.storage.base import FileWriter
from imager.storage.header import build_layout, create_from, write_header
from reconstruction.calibration import (
    BoltzmannFit,
    LinearFit,
    Responsivity,
    fit_boltzmann,
    fit_decay,
    fit_line,
    fit_responsivity,
)
from reconstruction.schema import CALIBRATION, CALIBRATION_RUN

BANDS = ("525", "545", "660")


def gaussian_peak_intensity_W_per_um2(power_mW: float, fwhm_um: float) -> float:
    """Peak intensity of a round Gaussian beam: ``P * 4 ln 2 / (pi FWHM^2)``."""
    return power_mW * 1e-3 * 4.0 * math.log(2.0) / (math.pi * fwhm_um**2)


@dataclass
class CalibrationResult(CalibrationResultDisplay):
    """Fits of one calibration run (see :func:`run_calibration`)."""

    path: Path
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


class _Session:
    """Shared state of one run: lab, file, counters, progress."""

    def __init__(self, lab: Lab, recipe: Recipe, f: h5py.File, group: h5py.Group,
                 bar: LabProgress) -> None:
        self.lab, self.recipe, self.f, self.group, self.bar = lab, recipe, f, group, bar
        self.cal = recipe.sections["calibration"]
        self.reading_index = 0
        self.lab_start = lab.clock.now_s()
        self.begin_point = getattr(lab, "begin_point", None)

    def wait_tc(self, n_tc: float) -> None:
        if n_tc > 0:
            self.lab.clock.sleep(n_tc * self.lab.lockin.time_constant_s)

    def tick(self) -> None:
        self.reading_index += 1
        self.bar.update(self.reading_index, self.lab.clock.now_s() - self.lab_start)

    def lockin_readings(self) -> np.ndarray:
        out = np.empty(self.cal["repeats"])
        for k in range(out.size):
            if self.begin_point is not None:
                self.begin_point(self.reading_index)
            self.wait_tc(self.cal["sample_tc"])
            out[k] = self.lab.lockin.read_xy().x_V
            self.tick()
        return out

    def mir_sweep(self, name: str) -> Responsivity:
        """Readings at every MIR level; one dataset row per level, flushed."""
        levels = self.cal["mir_power_mW"]
        group = self.group.create_group(name)
        intensity = np.array([gaussian_peak_intensity_W_per_um2(p, self.cal["beam_fwhm_um"])
                              for p in levels])
        sizes = {"levels": len(levels), "repeats": self.cal["repeats"]}
        _dataset(group, "{sweep}/mir_power_mW", sizes, levels, sweep=name)
        _dataset(group, "{sweep}/intensity_W_per_um2", sizes, intensity, sweep=name)
        readings = _dataset(group, "{sweep}/X_V", sizes, sweep=name)
        source = self.lab.source
        for i, power in enumerate(levels):
            source.power_mW = power
            source.on = True
            self.wait_tc(self.cal["settle_tc"])
            readings[i] = self.lockin_readings()
            self.f.flush()
        result = fit_responsivity(intensity, readings[()])
        group.attrs.update(result.as_dict())
        group.attrs["pump_mW"] = float(self.lab.pump.power_mW)
        group.attrs["wavelength_um"] = float(source.wavelength_um)
        self.f.flush()
        return result


def _dataset(group: h5py.Group, name: str, sizes: dict[str, int] | None, data: Any = None,
             **names: str) -> h5py.Dataset:
    """Create the dataset the schema declares at ``/entry/calibration/<name>``."""
    return create_from(group, CALIBRATION_RUN[f"{CALIBRATION}/{name}"], sizes, data, **names)


def _count_readings(cal: dict[str, Any]) -> int:
    per_sweep = len(cal["mir_power_mW"]) * cal["repeats"]
    n = per_sweep * (1 + len(cal["pump_power_mW"]) + len(cal["mir_wavelength_um"]))
    n += len(cal["temperature_K"]) * cal["repeats"]
    if cal["decay"]:
        n += len(cal["mir_power_mW"]) * len(BANDS)
    return n


def _require(lab: Lab, attribute: str, recipe: Recipe, key: str, what: str) -> Any:
    device = getattr(lab, attribute, None)
    if device is None:
        raise recipe.error(f"[calibration] {key}: this lab has no {what}")
    return device


def _check_levels(lab: Lab, recipe: Recipe) -> None:
    """Refuse, before anything moves, settings the lab's devices would refuse."""
    cal = recipe.sections["calibration"]
    cap = getattr(lab.source, "max_power_mW", None)
    if cap is not None and max(cal["mir_power_mW"]) > cap:
        raise recipe.error(f"[calibration] mir_power_mW: {max(cal['mir_power_mW']):g} mW is "
                           f"above this lab's MIR power cap of {cap:g} mW")
    if cal["temperature_K"]:
        _require(lab, "temperature", recipe, "temperature_K", "temperature controller")
        _require(lab, "photometer", recipe, "temperature_K", "band photometer (525/545 nm)")
    if cal["decay"]:
        _require(lab, "decay_recorder", recipe, "decay", "decay recorder")
    lab.stage.check_within_travel(cal["x_um"], cal["y_um"])


def run_calibration(lab: Lab, recipe: Recipe, path: str | Path, *,
                    progress: bool = True) -> CalibrationResult:
    """Run a ``kind = "calibration"`` recipe on a lab and write its file.

    Returns
    -------
    CalibrationResult
        Responsivity (with uncertainty), detection limit (SNR = 1), and the
        optional sweeps' fits. An exception marks the file ``fail`` and
        propagates; the MIR source is left off at the end.
    """
    if recipe.kind != "calibration":
        raise recipe.error(f"kind: expected 'calibration', got {recipe.kind!r}")
    apply_settings(lab, recipe)
    _check_levels(lab, recipe)
    cal = recipe.sections["calibration"]
    path = Path(path)

    def build(f: h5py.File) -> None:  # the header, written before the file appears
        write_header(f, "calibration", recipe.text,
                     {n: d.settings() for n, d in lab.instruments().items()}, lab.settings())
        build_layout(f, CALIBRATION_RUN, {}, {CALIBRATION: {
            "x_um": cal["x_um"], "y_um": cal["y_um"], "beam_fwhm_um": cal["beam_fwhm_um"]}}, {})

    writer = FileWriter(path, build=build)
    f = writer.file
    bar = LabProgress(_count_readings(cal), enabled=progress, desc=recipe.name)
    try:
        lab.stage.move_to(cal["x_um"], cal["y_um"])
        lab.stage.wait_settled()
        session = _Session(lab, recipe, f, f[CALIBRATION], bar)
        result = _run(session, path)
        writer.close("success")
        return result
    except BaseException as exc:
        status = "abort" if isinstance(exc, KeyboardInterrupt) else "fail"
        writer.close(status, f"{type(exc).__name__}: {exc}")
        raise
    finally:
        _source_off(lab)
        bar.close()
        if not writer.closed:
            f.close()


def _run(s: _Session, path: Path) -> CalibrationResult:
    lab, cal = s.lab, s.cal
    pump0, wavelength0 = float(lab.pump.power_mW), float(lab.source.wavelength_um)
    result = CalibrationResult(path, s.mir_sweep("responsivity"), pump0, wavelength0)
    for i, pump in enumerate(cal["pump_power_mW"]):
        lab.pump.power_mW = pump
        result.pump_sweep.append((pump, s.mir_sweep(f"pump_sweep/{i}")))
    lab.pump.power_mW = pump0
    for i, wavelength in enumerate(cal["mir_wavelength_um"]):
        lab.source.wavelength_um = wavelength
        result.spectral.append((wavelength, s.mir_sweep(f"spectral_sweep/{i}")))
    lab.source.wavelength_um = wavelength0
    _summarise_sweep(s.group, "pump_sweep", "pump_mW", result.pump_sweep)
    _summarise_sweep(s.group, "spectral_sweep", "wavelength_um", result.spectral)
    if cal["temperature_K"]:
        _temperature_sweep(s, result)
    if cal["decay"]:
        _decay_sweep(s, result)
    return result


def _summarise_sweep(group: h5py.Group, name: str, axis: str,
                     rows: list[tuple[float, Responsivity]]) -> None:
    if not rows:
        return
    sweep = group[name]
    sweep.create_dataset(axis, data=[r[0] for r in rows])
    sweep.create_dataset("slope_V_per_W_per_um2", data=[r[1].slope_V_per_W_per_um2 for r in rows])
    sweep.create_dataset("slope_err_V_per_W_per_um2",
                         data=[r[1].slope_err_V_per_W_per_um2 for r in rows])
    sweep.create_dataset("nei_W_per_um2", data=[r[1].nei_W_per_um2 for r in rows])


def _temperature_sweep(s: _Session, result: CalibrationResult) -> None:
    """Band ratio R = I525/I545 with the MIR off at each temperature; Boltzmann fit."""
    lab, cal = s.lab, s.cal
    controller, photometer = lab.temperature, lab.photometer
    temps = cal["temperature_K"]
    group = s.group.create_group("temperature_sweep")
    sizes = {"temperatures": len(temps), "repeats": cal["repeats"]}
    _dataset(group, "temperature_sweep/temperature_K", sizes, temps)
    bands = {b: _dataset(group, "temperature_sweep/band_{band}_V", sizes, band=b) for b in BANDS}
    t_initial = float(controller.temperature_K)
    lab.source.on = False
    for i, temperature in enumerate(temps):
        controller.temperature_K = temperature
        wait = getattr(controller, "wait_stable", None)
        if wait is not None:
            wait()
        s.wait_tc(cal["settle_tc"])
        rows = {b: np.empty(cal["repeats"]) for b in BANDS}
        for k in range(cal["repeats"]):
            if s.begin_point is not None:
                s.begin_point(s.reading_index)
            s.wait_tc(cal["sample_tc"])
            reading = photometer.read_bands()
            for b in BANDS:
                rows[b][k] = reading[b]
            s.tick()
        for b in BANDS:
            bands[b][i] = rows[b]
        s.f.flush()
    controller.temperature_K = t_initial
    ratio = bands["525"][()].mean(axis=1) / bands["545"][()].mean(axis=1)
    group.create_dataset("ratio_525_545", data=ratio)
    result.ratio_T = list(zip(map(float, temps), map(float, ratio), strict=True))
    if len(temps) >= 3:
        result.boltzmann = fit_boltzmann(np.asarray(temps), ratio)
        group.attrs.update(result.boltzmann.as_dict())
    s.f.flush()


def _decay_sweep(s: _Session, result: CalibrationResult) -> None:
    """Decay trace per band at each MIR level; lifetimes and Delta K = 1/tau - 1/tau(0)."""
    lab, cal = s.lab, s.cal
    recorder = lab.decay_recorder
    levels = np.asarray(cal["mir_power_mW"], dtype=float)
    group = s.group.create_group("decay")
    _dataset(group, "decay/mir_power_mW", None, levels)
    taus = {b: np.full(levels.size, np.nan) for b in BANDS}
    errs = {b: np.full(levels.size, np.nan) for b in BANDS}
    for i, power in enumerate(levels):
        lab.source.power_mW = power
        lab.source.on = True
        s.wait_tc(cal["settle_tc"])
        for b in BANDS:
            if s.begin_point is not None:
                s.begin_point(s.reading_index)
            t_s, trace = recorder.record_decay(b, cal["decay_window_s"], cal["decay_samples"])
            sizes = {"levels": levels.size, "samples": len(trace)}
            if "t_s" not in group:
                _dataset(group, "decay/t_s", sizes, t_s)
            if f"trace_{b}" not in group:
                _dataset(group, "decay/trace_{band}", sizes, band=b)
            group[f"trace_{b}"][i] = trace
            fit = fit_decay(t_s, trace)
            taus[b][i], errs[b][i] = fit.tau_s, fit.tau_err_s
            s.tick()
        s.f.flush()
    zero = int(np.argmin(levels))
    for b in BANDS:
        group.create_dataset(f"tau_{b}_s", data=taus[b])
        group.create_dataset(f"tau_err_{b}_s", data=errs[b])
        delta_k = 1.0 / taus[b] - 1.0 / taus[b][zero]
        dk_err = np.hypot(errs[b] / taus[b] ** 2, errs[b][zero] / taus[b][zero] ** 2)
        fit = fit_line(levels, delta_k, np.maximum(dk_err, 1e-12))
        group.create_dataset(f"delta_k_{b}_per_s", data=delta_k)
        group.attrs.update({f"delta_k_{b}_slope_per_s_per_mW": fit.slope,
                            f"delta_k_{b}_slope_err_per_s_per_mW": fit.slope_err,
                            f"delta_k_{b}_r_squared": fit.r_squared})
        result.lifetimes_s[b] = taus[b]
        result.delta_k[b] = fit
    s.f.flush()


def _source_off(lab: Lab) -> None:
    try:
        lab.source.on = False
    except Exception:  # noqa: BLE001 - never mask the run's own error
        pass
