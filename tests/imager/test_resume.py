"""Resume: a stopped scan continues in its own file and equals an uninterrupted one."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from imager.cli import main
from imager.engine import StopRequest, run_raster, run_single_pixel
from imager.lab import simulated_lab_for
from imager.recipes import default_recipe, load_recipe
from reconstruction import load_raster
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
    np.testing.assert_allclose(done.image_V, full.image_V, rtol=0, atol=1e-9)
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
    scale = np.abs(full.raw_V).max()
    np.testing.assert_allclose(load_single_pixel(tmp_path / "s.h5").raw_V, full.raw_V,
                               rtol=0, atol=1e-6 * scale)


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
