"""20 real SIGKILL trials at random moments: every file readable, at most one point lost,
`mirimager resume` completes it, and the resumed image equals the uninterrupted one.

Run with ``-s`` to see the report:  python -m pytest tests/imager/test_kill_trials.py -s
"""

import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from reconstruction import load_raster

MIRIMAGER = str(Path(sys.executable).parent / "mirimager")
TRIALS = 20

# The scan runs in a child process that reports each point on stdout only after the
# writer has returned (the point is flushed): the parent then knows which points the
# process completed before it was killed, and so how many the file lost.
CHILD = r"""
import os, sys
from imager.engine import run_raster
from imager.lab import simulated_lab_for
from imager.recipes import load_recipe
from imager.storage import writer as w

original = w.ScanWriter.write_point
def write_point(self, point, *args):
    original(self, point, *args)
    os.write(1, b"%d\n" % point.index)
w.ScanWriter.write_point = write_point
recipe = load_recipe(sys.argv[1])
run_raster(simulated_lab_for(recipe), recipe, sys.argv[2], progress=False)
"""


@pytest.mark.slow
def test_twenty_sigkill_trials(tmp_path):
    recipe = tmp_path / "k.toml"
    recipe.write_text('name = "kill"\n[scan]\nnx = 40\nny = 40\n[sim]\nseed = 11\n')
    ref = tmp_path / "ref.h5"
    subprocess.run([MIRIMAGER, "scan", str(recipe), "-o", str(ref), "--no-progress"],
                   check=True, capture_output=True, timeout=120)
    reference = load_raster(ref).image_V
    rng = random.Random(20261124)
    readable = resumed_equal = 0
    lost = []
    for trial in range(TRIALS):
        path = tmp_path / f"t{trial}.h5"
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(recipe), str(path)],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        target = rng.randint(1, 1500)  # points to complete before the kill, then a random delay
        reported, buffer = -1, b""
        while reported + 1 < target and proc.poll() is None:
            ready, _, _ = select.select([proc.stdout], [], [], 5.0)
            if not ready:
                break
            chunk = os.read(proc.stdout.fileno(), 65536)
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            if lines:
                reported = int(lines[-1])
        time.sleep(rng.uniform(0.0, 0.002))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        rest = proc.stdout.read()
        lines = (buffer + rest).split(b"\n")
        completed = max([reported] + [int(x) for x in lines if x.strip()]) + 1
        scan = load_raster(path)  # raises if unreadable
        readable += 1
        lost.append(completed - scan.points_done)
        assert (np.sort(scan.points["index"]) == np.arange(scan.points_done)).all()
        out = subprocess.run([MIRIMAGER, "resume", str(path), "--no-progress"],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        if np.allclose(load_raster(path).image_V, reference, rtol=0, atol=1e-9):
            resumed_equal += 1
    print(f"\nSIGKILL trials: {TRIALS}, files readable: {readable}, points lost per file: "
          f"max {max(lost)}, total {sum(lost)}, resumed equal to uninterrupted: "
          f"{resumed_equal}/{TRIALS}")
    assert readable == TRIALS
    assert max(lost) <= 1
    assert resumed_equal == TRIALS
