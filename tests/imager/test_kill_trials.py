"""20 real SIGKILL trials at random moments: every file readable, at most one point lost,
`mirimager resume` completes it, and the resumed image equals the uninterrupted one.

Half the trials scan a recipe whose lock-in re-ranges twice (overloads near points 50 and
130, where the noise first crosses each full scale) before the kill, so the resumed scan
must start from the re-ranged sensitivity;
the other half a scan that pauses twice (chopper stopped at point 100, MIR power drop at
point 250, injected in the simulated lab) before the kill.

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

from imager.engine import run_raster
from imager.recipes import load_recipe
from imager.sim import simulated_lab_for
from reconstruction import load_raster
from reconstruction.events import load_events

MIRIMAGER = str(Path(sys.executable).parent / "mirimager")
TRIALS = 10  # per recipe
READY_BOUND_S = 120.0  # overall bound on waiting for the child's points (a busy machine)

RERANGE = 'name = "rerange"\n[scan]\nnx = 40\nny = 40\n[lockin]\nsensitivity_V = 1e-4\n' \
          '[sim]\nseed = 11\n'
PAUSES = 'name = "pauses"\n[scan]\nnx = 40\nny = 40\n[sim]\nseed = 12\n'


def _inject_pauses(faults):
    faults.reference_unlock(at_point=100, duration_s=5.0)
    faults.power_drop(at_point=250, duration_s=5.0, fraction=0.5)


# The scan runs in a child process that reports each point on stdout only after the
# writer has returned (the point is flushed): the parent then knows which points the
# process completed before it was killed, and so how many the file lost.
CHILD = r"""
import os, sys
from imager.engine import run_raster
from imager.sim import simulated_lab_for
from imager.recipes import load_recipe
from imager.storage import base

original = base.FileWriter.write_record
def write_record(self, index, *args):
    original(self, index, *args)
    os.write(1, b"%d\n" % index)
base.FileWriter.write_record = write_record
recipe = load_recipe(sys.argv[1])
lab = simulated_lab_for(recipe)
if sys.argv[3] == "pauses":
    lab.faults.reference_unlock(at_point=100, duration_s=5.0)
    lab.faults.power_drop(at_point=250, duration_s=5.0, fraction=0.5)
run_raster(lab, recipe, sys.argv[2], progress=False)
"""


def _run_until(proc, target: int) -> tuple[int, bytes]:
    """Read the child's reported points until ``target`` are done (or it ends).

    Waits as long as the child needs, within READY_BOUND_S overall: a busy machine
    may take several seconds to start it. Returns (last reported index, unread tail).
    """
    reported, buffer = -1, b""
    deadline = time.monotonic() + READY_BOUND_S
    while reported + 1 < target and proc.poll() is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            proc.kill()
            pytest.fail(f"the scan child reported no point {target - 1} in {READY_BOUND_S:g} s")
        ready, _, _ = select.select([proc.stdout], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(proc.stdout.fileno(), 65536)
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        if lines:
            reported = int(lines[-1])
    return reported, buffer


def _trials(tmp_path, name: str, text: str, rng: random.Random) -> dict:
    recipe_path = tmp_path / f"{name}.toml"
    recipe_path.write_text(text)
    recipe = load_recipe(recipe_path)
    lab = simulated_lab_for(recipe)
    if name == "pauses":
        _inject_pauses(lab.faults)
    ref = tmp_path / f"{name}_ref.h5"
    reference = run_raster(lab, recipe, ref, progress=False).image_V
    # the behaviour the trials are about happens before any kill
    kinds = [(e.kind, e.index) for e in load_events(ref)]
    if name == "pauses":
        assert kinds == [("unlock", 100), ("relock", 100), ("power_drop", 250),
                         ("power_ok", 250)]
    else:
        assert [kind for kind, _ in kinds] == ["overload", "overload"]
        assert kinds[1][1] < 300  # both re-ranges well before the kills' targets
    last_event = max(index for _, index in kinds)
    report = {"readable": 0, "equal": 0, "lost": []}
    for trial in range(TRIALS):
        path = tmp_path / f"{name}{trial}.h5"
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(recipe_path), str(path), name],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        # points to complete before the kill (all after the re-ranges or pauses), then
        # a random delay
        target = rng.randint(last_event + 2, 1500)
        reported, buffer = _run_until(proc, target)
        time.sleep(rng.uniform(0.0, 0.002))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        rest = proc.stdout.read()
        lines = (buffer + rest).split(b"\n")
        completed = max([reported] + [int(x) for x in lines if x.strip()]) + 1
        assert completed > last_event + 1
        scan = load_raster(path)  # raises if unreadable
        report["readable"] += 1
        report["lost"].append(completed - scan.points_done)
        assert (np.sort(scan.points["index"]) == np.arange(scan.points_done)).all()
        out = subprocess.run([MIRIMAGER, "resume", str(path), "--no-progress"],
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        if np.allclose(load_raster(path).image_V, reference, rtol=0, atol=1e-12):
            report["equal"] += 1
    return report


@pytest.mark.slow
@pytest.mark.parametrize("name, text", [("rerange", RERANGE), ("pauses", PAUSES)])
def test_sigkill_trials(tmp_path, name, text):
    report = _trials(tmp_path, name, text, random.Random(f"20261124-{name}"))
    lost = report["lost"]
    print(f"\nSIGKILL trials ({name}): {TRIALS}, files readable: {report['readable']}, "
          f"points lost per file: max {max(lost)}, total {sum(lost)}, resumed equal to "
          f"uninterrupted: {report['equal']}/{TRIALS}")
    assert report["readable"] == TRIALS
    assert max(lost) <= 1
    assert report["equal"] == TRIALS
