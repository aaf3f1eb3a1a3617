"""The mirimager command, run as a user would (in-process and as real processes)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

from imager.cli import main
from reconstruction import load_raster

SCANS = Path(__file__).resolve().parents[2] / "scans"


# the installed console script, as a user runs it
MIRIMAGER = str(Path(sys.executable).parent / "mirimager")


def run_cli(*args, cwd=None, timeout=120):
    return subprocess.run([MIRIMAGER, *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=timeout,
                          env={**os.environ, "MPLBACKEND": "Agg"})


def test_demo_writes_file_and_png_and_reports(tmp_path, capsys):
    assert main(["demo", "--size", "32", "-o", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    files = list(tmp_path.glob("*_usaf_demo.h5"))
    assert len(files) == 1
    png = files[0].with_suffix(".png")
    assert f"scan file: {files[0]}" in out and str(png) in out
    assert Image.open(png).size[0] > 200
    assert "correlation" in out
    scan = load_raster(files[0])
    assert scan.exit_status == "success" and scan.points_done == 32 * 32


@pytest.fixture
def small_scan(tmp_path):
    recipe = tmp_path / "small.toml"
    recipe.write_text('kind = "raster"\nname = "small"\n[scan]\nnx = 12\nny = 10\n'
                      'x_start_um = 12400\nx_stop_um = 12600\ny_start_um = 12400\n'
                      'y_stop_um = 12600\n')
    path = tmp_path / "small.h5"
    assert main(["scan", str(recipe), "-o", str(path), "--no-progress"]) == 0
    return path


def test_info_describes_a_scan(small_scan, capsys):
    capsys.readouterr()
    assert main(["info", str(small_scan)]) == 0
    out = capsys.readouterr().out
    assert "raster (snake), 12 x 10 points" in out
    assert "status:   success" in out and "points:   120/120 done" in out
    assert "time_constant_s=0.03" in out


def test_reconstruct_reproduces_the_image(small_scan, tmp_path, capsys):
    assert main(["reconstruct", str(small_scan), "-o", str(tmp_path / "out" / "img"),
                 "--snake", "off"]) == 0
    out = capsys.readouterr().out
    assert "vs truth" in out
    import tifffile

    tif = tifffile.imread(tmp_path / "out" / "img.tif")
    with h5py.File(small_scan, "r") as f:
        np.testing.assert_allclose(tif, f["entry/data/X_V"][()].astype(np.float32))
    assert (tmp_path / "out" / "img.png").stat().st_size > 1000


def test_existing_output_is_never_overwritten(small_scan, capsys):
    before = small_scan.read_bytes()
    assert main(["demo", "--size", "4", "-o", str(small_scan), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "file exists" in err and len(err.strip().splitlines()) == 1
    assert small_scan.read_bytes() == before


@pytest.mark.parametrize(
    "args, message",
    [
        (["scan", "missing.toml"], "recipe file not found"),
        (["info", "missing.h5"], "missing.h5"),
        (["reconstruct", "missing.h5", "-o", "x.png"], "missing.h5"),
        (["demo", "--size", "0"], "--size: must be an integer in [2, 1024]"),
    ],
)
def test_bad_input_is_one_line_exit_2_no_traceback(tmp_path, args, message):
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_bad_recipe_fields_exit_2(tmp_path):
    recipe = tmp_path / "bad.toml"
    recipe.write_text("[scan]\nnx = 4\nny = 4\ndwell_s = -1\n")
    proc = run_cli("scan", recipe, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"mirimager scan: error: {recipe}: [scan] dwell_s: "
                                   "must be in [0, 3600] s, got -1")
    assert not (tmp_path / "data").exists()


def test_recipe_beyond_travel_exit_2_before_any_file(tmp_path):
    recipe = tmp_path / "far.toml"
    recipe.write_text("[scan]\nnx = 4\nny = 4\nx_stop_um = '30 mm'\n")
    proc = run_cli("scan", recipe, cwd=tmp_path)
    assert proc.returncode == 2 and "outside travel" in proc.stderr
    assert not list(tmp_path.rglob("*.h5"))


def test_garbage_file_exit_2(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not an hdf5 file at all" * 10)
    proc = run_cli("info", bad, cwd=tmp_path)
    assert proc.returncode == 2 and "bad.h5" in proc.stderr and "Traceback" not in proc.stderr


def test_help_on_every_command():
    for command in ("demo", "scan", "reconstruct", "info", "calibrate", "devices", "paper"):
        proc = run_cli(command, "--help")
        assert proc.returncode == 0 and "usage: " in proc.stdout


@pytest.mark.slow
def test_ctrl_c_leaves_an_aborted_file_that_reconstructs(tmp_path):
    """A real process gets SIGINT mid-scan: it finishes the point, marks abort, exits."""
    recipe = tmp_path / "long.toml"
    recipe.write_text('name = "long"\n[scan]\nnx = 400\nny = 400\n')
    path = tmp_path / "long.h5"
    proc = subprocess.Popen([MIRIMAGER, "scan", str(recipe),
                             "-o", str(path), "--no-progress"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "MPLBACKEND": "Agg"})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.5)
        if path.exists() and load_raster(path).points_done > 200:
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "stopping after the current point" in err
    scan = load_raster(path)
    assert scan.exit_status == "abort"
    assert 200 < scan.points_done < 400 * 400
    assert scan.measured.sum() == scan.points_done
    png = tmp_path / "partial.png"
    assert main(["reconstruct", str(path), "-o", str(png)]) == 0
    assert png.exists()


def test_live_view_writes_a_png_headless(tmp_path, monkeypatch):
    from imager.cli import live
    from imager.recipes import default_recipe
    from imager.sim import simulated_lab_for

    recipe = default_recipe(scan={"nx": 16, "ny": 16})
    path = tmp_path / "live.h5"
    drawn, update = [], live._PngView.update

    def update_and_look(self, image):
        update(self, image)
        if self.path.exists():
            drawn.append(Image.open(self.path).size[0])

    monkeypatch.setattr(live._PngView, "update", update_and_look)
    result = live.run_with_live_view(simulated_lab_for(recipe), recipe, path, progress=False,
                                     refresh_s=0.05, window=False)
    assert result.exit_status == "success"
    assert drawn and min(drawn) > 100  # drawn while the scan ran (removed when it ended)


def test_seed_option_is_in_the_stored_recipe_and_the_lab(tmp_path):
    """--seed is validated into the recipe: the file's recipe text and lab agree with the
    scan that ran, so the stored recipe alone reproduces it."""
    from imager.engine import run_raster
    from imager.recipes import parse_recipe
    from imager.sim import simulated_lab_for

    recipe = tmp_path / "seeded.toml"
    recipe.write_text('# a small scan\nname = "seeded"\n[scan]\nnx = 5\nny = 4\n'
                      'x_start_um = 12400\nx_stop_um = 12600\ny_start_um = 12400\n'
                      'y_stop_um = 12600\n[sim]\nseed = 5  # mine\n')
    path = tmp_path / "seeded.h5"
    assert main(["scan", str(recipe), "--seed", "7", "-o", str(path), "--no-progress"]) == 0
    scan = load_raster(path)
    stored = parse_recipe(scan.recipe_toml, "stored")
    assert scan.lab["seed"] == 7 and stored.sections["sim"]["seed"] == 7
    assert "# a small scan" in scan.recipe_toml and "--seed" in scan.recipe_toml
    again = run_raster(simulated_lab_for(stored), stored, tmp_path / "again.h5",
                       progress=False)
    np.testing.assert_array_equal(again.image_V, scan.image_V)
