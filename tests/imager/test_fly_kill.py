"""Real SIGKILLs of a fly scan at random moments: the file stays readable, `mirimager resume`
completes it line by line, and the resumed file equals an uninterrupted scan's."""

import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from imager.engine import run_raster
from imager.recipes import load_recipe
from imager.sim import simulated_lab_for
from reconstruction import load_raster

MIRIMAGER = str(Path(sys.executable).parent / "mirimager")
READY_BOUND_S = 120.0  # overall bound on waiting for the child's lines (a busy machine)
FLY = 'name = "flykill"\n[scan]\nmode = "fly"\nnx = 24\nny = 24\n[sim]\nseed = 7\n'

# The fly scan in a child process that reports each line on stdout once it is written and
# flushed (FileWriter.write_records writes a line's pixels in one go).
CHILD = r"""
import os, sys
from imager.engine import run_raster
from imager.recipes import load_recipe
from imager.sim import simulated_lab_for
from imager.storage import base

original, lines = base.FileWriter.write_records, [0]
def write_records(self, records):
    original(self, records)
    os.write(1, b"%d\n" % lines[0])
    lines[0] += 1
base.FileWriter.write_records = write_records
recipe = load_recipe(sys.argv[1])
run_raster(simulated_lab_for(recipe), recipe, sys.argv[2], progress=False)
"""


def _lines_done(proc, target: int) -> int:
    """Read the child's reported lines until ``target`` are done; the last one reported."""
    reported, buffer = -1, b""
    deadline = time.monotonic() + READY_BOUND_S
    while reported + 1 < target and proc.poll() is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            proc.kill()
            pytest.fail(f"the fly-scan child reported no line {target - 1} in {READY_BOUND_S:g} s")
        if select.select([proc.stdout], [], [], remaining)[0]:
            buffer += os.read(proc.stdout.fileno(), 65536)
            *lines, buffer = buffer.split(b"\n")
            if lines:
                reported = int(lines[-1])
    return reported


@pytest.mark.slow
def test_killed_fly_scans_resume_to_the_uninterrupted_file(tmp_path):
    recipe_path = tmp_path / "fly.toml"
    recipe_path.write_text(FLY)
    recipe = load_recipe(recipe_path)
    ref = tmp_path / "ref.h5"
    reference = run_raster(simulated_lab_for(recipe), recipe, ref, progress=False).image_V
    with h5py.File(ref, "r") as f:
        ref_stream = f["entry/stream"][()]
    rng = random.Random(3)
    for trial in range(3):
        path = tmp_path / f"kill{trial}.h5"
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(recipe_path), str(path)],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        done = _lines_done(proc, rng.randint(2, 20))
        time.sleep(rng.uniform(0.0, 0.01))  # sometimes in the middle of the next line
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        scan = load_raster(path)  # readable after the kill
        assert scan.points_done >= (done + 1) * 24
        out = subprocess.run([MIRIMAGER, "resume", str(path), "--no-progress"],
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        np.testing.assert_allclose(load_raster(path).image_V, reference, rtol=0, atol=1e-12)
        with h5py.File(path, "r") as f:
            stream, lines = f["entry/stream"][()], f["entry/lines"][()]
        assert lines["line"].tolist() == list(range(24))
        np.testing.assert_array_equal(stream["line"], ref_stream["line"])
        np.testing.assert_allclose(stream["X_V"], ref_stream["X_V"], rtol=0, atol=1e-12)
