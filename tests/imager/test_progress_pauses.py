"""The progress line says when a scan pauses, what it waits for, and when it resumes."""

import io
import re
from pathlib import Path

import tqdm.auto

from imager.engine import progress as progress_module
from imager.engine import run_raster, run_single_pixel
from imager.engine.progress import LabProgress
from imager.recipes import default_recipe, load_recipe
from imager.sim import simulated_lab_for

SCANS = Path(__file__).resolve().parents[2] / "scans"
UNLOCK = ("reference unlocked (chopper stopped?): pausing, waiting for relock (up to 60 s)")


def _recipe():
    return default_recipe(scan={"nx": 6, "ny": 6, "x_start_um": 12450.0, "x_stop_um": 12550.0,
                                "y_start_um": 12450.0, "y_stop_um": 12550.0})


def test_the_bar_shows_a_pause_until_it_ends():
    stream = io.StringIO()
    bar = LabProgress(36, desc="t", file=stream)
    bar.update(5, 20.0)
    bar.on_event("unlock", UNLOCK, 5, 20.0)
    assert bar.paused and stream.getvalue().rstrip().endswith(f"PAUSED: {UNLOCK}]")
    bar.update(5, 21.0)  # the engine does not update while paused, but if it did
    assert bar.note == f"PAUSED: {UNLOCK}"
    bar.on_event("relock", "reference locked again after 5.0 s; re-measuring", 5, 25.0)
    assert not bar.paused
    assert stream.getvalue().rstrip().endswith("resumed after 5.0 s (reference locked again)]")
    bar.on_event("overload", "sensitivity 0.001 -> 0.002 V, re-measuring", 9, 40.0)
    assert stream.getvalue().rstrip().endswith(
        "overload at point 9: sensitivity 0.001 -> 0.002 V, re-measuring]")
    bar.close()


def test_a_silent_bar_keeps_the_state():
    bar = LabProgress(10, enabled=False)
    bar.on_event("power_drop", "MIR power 20 mW ...: pausing, waiting for the power to come "
                 "back (up to 60 s)", 3, 7.0)
    assert bar.paused and bar.note.startswith("PAUSED: MIR power 20 mW")
    bar.on_event("power_ok", "MIR power back to 50 mW after 3.0 s; re-measuring", 3, 10.0)
    assert bar.note == "resumed after 3.0 s (MIR power back)" and not bar.paused


def test_progress_uses_tqdm_auto():
    assert progress_module.tqdm is tqdm.auto.tqdm  # a widget in Jupyter, text in a terminal


def _lines(err: str) -> list[str]:
    return [line for line in re.split(r"[\r\n]", err) if line.strip()]


def test_a_chopper_stop_during_a_raster_shows_on_the_line(tmp_path, capsys):
    recipe = _recipe()
    lab = simulated_lab_for(recipe)
    lab.faults.reference_unlock(at_point=5, duration_s=4.0)
    run_raster(lab, recipe, tmp_path / "s.h5")
    lines = _lines(capsys.readouterr().err)
    paused = [i for i, line in enumerate(lines) if f"PAUSED: {UNLOCK}" in line]
    resumed = [i for i, line in enumerate(lines)
               if re.search(r"resumed after 4\.0 s \(reference locked again\)", line)]
    assert paused and resumed and paused[0] < resumed[0]
    assert " 5/36 pts" in lines[paused[0]]  # paused while measuring point 5


def test_a_power_drop_during_a_single_pixel_scan_shows_on_the_line(tmp_path, capsys):
    recipe = load_recipe(SCANS / "single_pixel.toml")
    recipe.sections["single_pixel"]["size"] = 8
    lab = simulated_lab_for(recipe)
    lab.faults.power_drop(at_point=7, duration_s=5.0, fraction=0.5)
    run_single_pixel(lab, recipe, tmp_path / "p.h5")
    err = capsys.readouterr().err
    assert re.search(r"PAUSED: MIR power [\d.]+ mW on the meter, 50% below the reference "
                     r"[\d.]+ mW: pausing, waiting for the power to come back \(up to 60 s\)",
                     err)
    assert re.search(r"resumed after [56]\.0 s \(MIR power back\)", err)
