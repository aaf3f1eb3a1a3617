"""docs/plans.md: its custom plan runs exactly as printed, into a file the readers read."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from imager.cli import main
from imager.engine import run_plan
from imager.plans import raster_plan
from imager.recipes import default_recipe
from imager.sim import simulated_lab_for
from reconstruction import load_raster, reconstruct_raster
from reconstruction.events import load_setting_changes

DOC = Path(__file__).resolve().parents[2] / "docs" / "plans.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_the_custom_plan_runs_as_printed_into_a_file_info_and_reconstruction_read(
        tmp_path, capsys):
    script = tmp_path / "example.py"
    script.write_text(BLOCKS[0], encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "MPLBACKEND": "Agg"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "success 192 points"
    path = tmp_path / "pump_lines.h5"
    scan = load_raster(path)
    assert scan.image_V.shape == (3, 64) and np.isfinite(scan.image_V).all()
    changes = load_setting_changes(path)
    assert [(c.index, c.device, c.attribute, c.value) for c in changes] == [
        (0, "pump", "power_mW", 0.25), (64, "pump", "power_mW", 0.5),
        (128, "pump", "power_mW", 1.0)]
    rows = scan.image_V.mean(axis=1)
    assert rows[0] < rows[1] and rows[0] < rows[2]  # less pump, less upconverted signal
    assert reconstruct_raster(scan).image.shape == (3, 64)
    capsys.readouterr()
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "64 x 3 points" in out and "point 64, lab" in out and "pump.power_mW = 0.5" in out
    assert main(["reconstruct", str(path), "-o", str(tmp_path / "lines.png")]) == 0
    assert (tmp_path / "lines.png").stat().st_size > 0


def test_the_printing_sink_of_the_doc_hears_every_reading(capsys):
    namespace: dict = {}
    exec(BLOCKS[1], namespace)  # noqa: S102 - the documentation's own example
    recipe = default_recipe(scan={"nx": 3, "ny": 2, "dwell_s": 0.0})
    run = run_plan(simulated_lab_for(recipe), raster_plan(recipe), [namespace["Printer"]()],
                   handle_ctrl_c=False)
    assert run.status == "success" and run.points_done == 6
    lines = capsys.readouterr().out.splitlines()
    assert [int(line.split()[0]) for line in lines] == list(range(6))
