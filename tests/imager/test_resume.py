"""Resume: a stopped scan continues in its own file and equals an uninterrupted one."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from imager.cli import main
from imager.engine import StopRequest, run_raster, run_single_pixel
from imager.engine.faults import restore_settings
from imager.recipes import default_recipe, load_recipe
from imager.sim import simulated_lab_for
from imager.storage import ScanWriter
from reconstruction import load_raster
from reconstruction.errors import ScanFileError
from reconstruction.events import load_events
from reconstruction.spifile import load_single_pixel

MIRIMAGER = str(Path(sys.executable).parent / "mirimager")
SCANS = Path(__file__).resolve().parents[2] / "scans"


def _stop_after(lab, n):
    stop, original, calls = StopRequest(), lab.lockin.read_xy, {"n": 0}

    def read():
        calls["n"] += 1
        if calls["n"] == n:
            stop.set("test stop")
        return original()

    lab.lockin.read_xy = read
    return stop


@pytest.mark.parametrize("order", ["snake", "row"])
def test_resumed_raster_equals_the_uninterrupted_one(tmp_path, order):
    recipe = default_recipe(scan={"nx": 12, "ny": 10, "order": order})
    full = run_raster(simulated_lab_for(recipe), recipe, tmp_path / "full.h5", progress=False)
    lab = simulated_lab_for(recipe)
    part = run_raster(lab, recipe, tmp_path / "r.h5", progress=False, stop=_stop_after(lab, 53))
    assert part.points_done == 53
    done = run_raster(simulated_lab_for(recipe), recipe, tmp_path / "r.h5", progress=False,
                      resume=True)
    assert done.exit_status == "success" and done.points_done == 120
    np.testing.assert_allclose(done.image_V, full.image_V, rtol=0, atol=1e-12)
    a, b = load_raster(tmp_path / "full.h5"), load_raster(tmp_path / "r.h5")
    np.testing.assert_allclose(a.points["t_lab_s"], b.points["t_lab_s"])
    assert b.exit_status == "success" and "test stop" in b.attrs["resumed"]


def test_resumed_single_pixel_equals_the_uninterrupted_one(tmp_path):
    recipe = load_recipe(SCANS / "single_pixel.toml")
    recipe.sections["single_pixel"]["size"] = 16
    full = run_single_pixel(simulated_lab_for(recipe), recipe, tmp_path / "f.h5",
                            progress=False)
    lab = simulated_lab_for(recipe)
    run_single_pixel(lab, recipe, tmp_path / "s.h5", progress=False, stop=_stop_after(lab, 77))
    done = run_single_pixel(simulated_lab_for(recipe), recipe, tmp_path / "s.h5",
                            progress=False, resume=True)
    assert done.exit_status == "success"
    np.testing.assert_allclose(load_single_pixel(tmp_path / "s.h5").raw_V, full.raw_V,
                               rtol=0, atol=1e-12)


def test_cli_resume_refuses_finished_and_calibration_files(tmp_path, capsys):
    path = tmp_path / "d.h5"
    assert main(["demo", "--size", "4", "-o", str(path), "--no-progress"]) == 0
    assert main(["resume", str(path)]) == 2
    assert "nothing to resume (16/16 done" in capsys.readouterr().err


@pytest.mark.slow
def test_sigkill_then_resume_from_the_command_line(tmp_path):
    """A real process killed mid-scan; `mirimager resume` completes the same file."""
    recipe = tmp_path / "k.toml"
    recipe.write_text('name = "k"\n[scan]\nnx = 60\nny = 60\n[sim]\nseed = 3\n')
    path = tmp_path / "k.h5"
    proc = subprocess.Popen([MIRIMAGER, "scan", str(recipe), "-o", str(path), "--no-progress"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.05)
        if path.exists() and load_raster(path).points_done > 300:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    killed = load_raster(path)
    assert killed.exit_status == "running" and 300 < killed.points_done < 3600
    out = subprocess.run([MIRIMAGER, "resume", str(path), "--no-progress"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    resumed = load_raster(path)
    assert resumed.exit_status == "success" and resumed.points_done == 3600
    ref = tmp_path / "ref.h5"
    assert main(["scan", str(recipe), "-o", str(ref), "--no-progress"]) == 0
    np.testing.assert_allclose(resumed.image_V, load_raster(ref).image_V, rtol=0, atol=1e-9)


def _changes(path):
    with h5py.File(path, "r") as f:
        table = f["entry/settings_changes"][()]
    return [(int(r["index"]), r["device"].decode(), r["attribute"].decode(),
             json.loads(r["value"])) for r in table]


def test_resume_restores_the_sensitivity_the_scan_re_ranged_to(tmp_path):
    """Re-ranged at points 15 and 17 (1e-4 -> 2e-4 -> 5e-4 V), stopped at 53: the resumed
    scan starts at 5e-4 V, does not overload again, and equals the uninterrupted scan."""
    recipe = default_recipe(scan={"nx": 12, "ny": 10}, lockin={"sensitivity_V": 1e-4})
    full = run_raster(simulated_lab_for(recipe), recipe, tmp_path / "full.h5", progress=False)
    assert [(e.kind, e.index) for e in load_events(tmp_path / "full.h5")] == [
        ("overload", 15), ("overload", 17)]
    assert _changes(tmp_path / "full.h5") == [(15, "lockin", "sensitivity_V", 2e-4),
                                              (17, "lockin", "sensitivity_V", 5e-4)]
    lab = simulated_lab_for(recipe)
    run_raster(lab, recipe, tmp_path / "r.h5", progress=False, stop=_stop_after(lab, 55))
    fresh = simulated_lab_for(recipe)
    done = run_raster(fresh, recipe, tmp_path / "r.h5", progress=False, resume=True)
    assert done.exit_status == "success" and fresh.lockin.sensitivity_V == pytest.approx(5e-4)
    assert [e.index for e in load_events(tmp_path / "r.h5")] == [15, 17]  # no new overload
    np.testing.assert_allclose(done.image_V, full.image_V, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(load_raster(tmp_path / "r.h5").points["t_lab_s"],
                                  load_raster(tmp_path / "full.h5").points["t_lab_s"])


def test_a_change_at_the_point_in_flight_is_not_restored(tmp_path):
    """Killed after re-ranging at point 15 but before writing it: the resumed scan
    measures point 15 again from the old range, re-ranges again, and loses nothing."""
    recipe = default_recipe(scan={"nx": 12, "ny": 10}, lockin={"sensitivity_V": 1e-4})
    full = run_raster(simulated_lab_for(recipe), recipe, tmp_path / "full.h5", progress=False)
    lab = simulated_lab_for(recipe)
    stop = _stop_after(lab, 15)  # after point 14
    run_raster(lab, recipe, tmp_path / "r.h5", progress=False, stop=stop)
    writer = ScanWriter.reopen(tmp_path / "r.h5")  # what the killed process left
    writer.record_setting("lockin", "sensitivity_V", 2e-4, 15, 0.0)
    writer.close("abort", "killed")
    done = run_raster(simulated_lab_for(recipe), recipe, tmp_path / "r.h5", progress=False,
                      resume=True)
    np.testing.assert_allclose(done.image_V, full.image_V, rtol=0, atol=1e-12)
    assert [c[0] for c in _changes(tmp_path / "r.h5")] == [15, 15, 17]


def test_settings_restore_in_order_and_refuse_what_the_lab_lacks(tmp_path):
    recipe = default_recipe(scan={"nx": 4, "ny": 4})
    lab = simulated_lab_for(recipe)
    run_raster(lab, recipe, tmp_path / "s.h5", progress=False, stop=_stop_after(lab, 5))
    writer = ScanWriter.reopen(tmp_path / "s.h5")
    writer.record_setting("lockin", "sensitivity_V", 2e-3, 1, 0.0)
    writer.record_setting("lockin", "sensitivity_V", 5e-3, 3, 0.0)
    writer.record_setting("dmd", "enabled", True, 4, 0.0)
    assert [(c.index, c.value) for c in writer.settings_changes()] == [
        (1, 2e-3), (3, 5e-3), (4, True)]
    writer.close("abort")
    with pytest.raises(ScanFileError, match=r"s\.h5: the scan set dmd\.enabled at point 4, "
                                            r"but this lab has no dmd"):
        run_raster(simulated_lab_for(recipe), recipe, tmp_path / "s.h5", progress=False,
                   resume=True)
    scan = load_raster(tmp_path / "s.h5")  # closed, kept, still resumable
    assert scan.exit_status == "fail" and scan.points_done == 5
    assert "resume: ScanFileError" in scan.attrs["error_message"]
    restored = simulated_lab_for(recipe)
    restore_settings(restored, ScanWriter.reopen(tmp_path / "s.h5").settings_changes()[:2])
    assert restored.lockin.sensitivity_V == pytest.approx(5e-3)


def test_a_malformed_settings_table_is_a_one_line_error(tmp_path):
    recipe = default_recipe(scan={"nx": 4, "ny": 4})
    lab = simulated_lab_for(recipe)
    run_raster(lab, recipe, tmp_path / "s.h5", progress=False, stop=_stop_after(lab, 5))
    with h5py.File(tmp_path / "s.h5", "a") as f:
        f["entry/settings_changes"] = np.arange(3.0)
    with pytest.raises(ScanFileError, match=r"s\.h5: /entry/settings_changes is not a table"):
        run_raster(simulated_lab_for(recipe), recipe, tmp_path / "s.h5", progress=False,
                   resume=True)
    assert load_raster(tmp_path / "s.h5").exit_status == "abort"  # untouched
