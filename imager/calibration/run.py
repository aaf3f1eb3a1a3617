"""Run a calibration recipe: MIR-power sweep (responsivity, detection limit), and
optionally pump-power, wavelength and temperature sweeps and lifetime traces.

The sweeps are a plan (:func:`imager.plans.calibration.calibration_plan`) run by
the one engine loop (:func:`imager.engine.run_plan`) on the lab's device
interfaces, so hardware and the simulated lab run the same code. The file sink
(:class:`imager.calibration.sink.CalibrationFileSink`) writes the raw readings
to ``/entry/calibration``, flushed after every level, with the fits as
attributes next to their data; the fits are returned.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from imager.calibration.sink import CalibrationFileSink, CalibrationProgressSink
from imager.engine.run import run_plan
from imager.lab import Lab
from imager.plans.calibration import (
    BANDS,
    CalibrationResult,
    calibration_plan,
    gaussian_peak_intensity_W_per_um2,
)
from imager.recipes import Recipe

__all__ = ["BANDS", "CalibrationResult", "check_calibration", "gaussian_peak_intensity_W_per_um2",
           "run_calibration"]


def check_calibration(lab: Lab, recipe: Recipe) -> None:
    """Refuse, before anything moves or is created, what this lab cannot do.

    Raises
    ------
    RecipeError
        One line naming the ``[calibration]`` key: an MIR level above the
        source's power cap, a temperature sweep without a temperature controller
        or band photometer, decay traces without a decay recorder.
    """
    cal = recipe.sections["calibration"]
    cap = getattr(lab.source, "max_power_mW", None)
    if cap is not None and max(cal["mir_power_mW"]) > cap:
        raise recipe.error(f"[calibration] mir_power_mW: {max(cal['mir_power_mW']):g} mW is "
                           f"above this lab's MIR power cap of {cap:g} mW")
    caps = lab.capabilities()
    needs = []
    if cal["temperature_K"]:
        needs += [("temperature_K", caps.temperature, "temperature controller"),
                  ("temperature_K", caps.photometer, "band photometer (525/545 nm)")]
    if cal["decay"]:
        needs.append(("decay", caps.decay_recorder, "decay recorder"))
    for key, device, what in needs:
        if device is None:
            raise recipe.error(f"[calibration] {key}: this lab has no {what}")


def run_calibration(lab: Lab, recipe: Recipe, path: str | Path, *,
                    progress: bool = True) -> CalibrationResult:
    """Run a ``kind = "calibration"`` recipe on a lab and write its file.

    Parameters
    ----------
    lab : Lab
        Devices (simulated or real); temperature and decay sweeps need the
        probes its :meth:`~imager.lab.Lab.capabilities` declare.
    recipe : Recipe
        A validated calibration recipe; its instrument settings are applied first.
    path : path
        The new calibration file (never overwritten).
    progress : bool
        Show a progress bar on stderr.

    Returns
    -------
    CalibrationResult
        Responsivity (with uncertainty), detection limit (SNR = 1), and the
        optional sweeps' fits. Ctrl-C marks the file ``abort`` and raises
        KeyboardInterrupt; an exception marks it ``fail`` and propagates. The
        MIR source is left off at the end.
    """
    if recipe.kind != "calibration":
        raise recipe.error(f"kind: expected 'calibration', got {recipe.kind!r}")
    check_calibration(lab, recipe)
    path = Path(path)
    sinks = (CalibrationFileSink(path), CalibrationProgressSink(progress, lab.clock))
    run = run_plan(lab, calibration_plan(recipe), sinks, handle_ctrl_c=False)
    if run.status == "abort":
        raise KeyboardInterrupt(run.error)
    return replace(run.value, path=path)
