"""Scan files appear atomically: a kill at any moment leaves no file or a readable one.

The writer builds the file's header under a hidden temporary name in the same folder and
links it to the final name only once the header is complete and flushed
(``imager.storage.base.create_exclusive``).
"""

import os
import re
import signal
import subprocess
import sys
import time

import h5py
import pytest

from imager.plans import RasterGrid
from imager.storage import ScanWriter
from imager.storage.base import FileWriter, partial_name
from reconstruction import load_raster

PARTIAL = re.compile(r"^\.(?P<final>.+)\.partial-\d+-[0-9a-f]+$")


def _writer(path, **kwargs):
    return ScanWriter(path, RasterGrid(0.0, 1.0, 3, 0.0, 1.0, 2), recipe_text='name = "t"\n',
                      dwell_s=0.3, instruments={"lockin": {"time_constant_s": 0.03}},
                      lab={"kind": "simulated", "seed": 1}, **kwargs)


def test_existing_final_name_is_refused_by_name_and_the_temporary_removed(tmp_path):
    path = tmp_path / "x.h5"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError) as info:
        _writer(path)
    assert info.value.filename == str(path) and str(path) in str(info.value)
    assert path.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.h5"]


def test_name_taken_while_the_header_is_built(tmp_path):
    """Two writers racing for one name: the link refuses the second, nothing is lost."""
    path = tmp_path / "race.h5"

    def build(f):
        f.attrs["mine"] = 1
        path.write_bytes(b"the other writer")  # the name appears meanwhile

    with pytest.raises(FileExistsError) as info:
        FileWriter(path, build=build)
    assert info.value.filename == str(path)
    assert path.read_bytes() == b"the other writer"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["race.h5"]


@pytest.mark.parametrize("error", [ValueError("bad chart"), KeyboardInterrupt()])
def test_failure_while_building_the_header_leaves_nothing(tmp_path, error):
    class Chart:  # the writer reads its attributes while building the header
        transmission = [[1.0]]
        name, pixel_um, x0_um, y0_um = "c", 1.0, 0.0, 0.0

        def __getattribute__(self, name):
            if name == "y0_um":
                raise error
            return object.__getattribute__(self, name)

    with pytest.raises(type(error)):
        _writer(tmp_path / "f.h5", chart=Chart())
    assert list(tmp_path.iterdir()) == []


def test_the_open_file_is_the_final_one(tmp_path):
    path = tmp_path / "w.h5"
    writer = _writer(path)
    assert list(tmp_path.iterdir()) == [path]  # the temporary name is gone already
    writer.log_event("test", "after the link")
    writer.close("success")
    with h5py.File(path, "r") as f:
        assert f["entry"].attrs["exit_status"] == "success"
        assert f["entry/events"].shape == (1,)


def test_partial_name_is_hidden_and_names_the_final_file(tmp_path):
    name = partial_name(tmp_path / "scan.h5").name
    match = PARTIAL.match(name)
    assert match and match["final"] == "scan.h5"
    assert partial_name(tmp_path / "scan.h5") != partial_name(tmp_path / "scan.h5")


# A fork server: it imports and warms the simulated lab once, then for every path on stdin
# forks a scan process that builds its lab, says "ready PID" just before run_raster and
# scans until it is killed. The test kills each scan at a chosen delay after "ready".
SERVER = r"""
import os, sys
from imager.engine import run_raster
from imager.sim import simulated_lab_for
from imager.recipes import default_recipe
recipe = default_recipe(scan={"nx": 100, "ny": 100})
simulated_lab_for(recipe)
os.write(1, b"warm\n")
for line in sys.stdin:
    pid = os.fork()
    if pid == 0:
        lab = simulated_lab_for(recipe)
        os.write(1, b"ready %d\n" % os.getpid())
        try:
            run_raster(lab, recipe, line.strip(), progress=False)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    os.write(1, b"reaped\n")
"""
KILLS = 30
WINDOW_S = 0.3


@pytest.mark.slow
def test_kills_in_the_creation_window_leave_no_unreadable_file(tmp_path):
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}  # fork-safe
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, env=env)
    lines = iter(server.stdout.readline, b"")  # readline blocks until the line comes
    absent = readable = 0
    unreadable = []
    try:
        assert next(lines) == b"warm\n"
        for k in range(KILLS):
            # denser early on: the header is built in the first few ms on a quiet machine
            delay_s = WINDOW_S * (k / (KILLS - 1)) ** 2
            path = tmp_path / f"k{k}.h5"
            server.stdin.write(f"{path}\n".encode())
            server.stdin.flush()
            ready = next(lines)
            assert ready.startswith(b"ready "), ready
            time.sleep(delay_s)  # the experiment's variable, not a readiness wait
            os.kill(int(ready.split()[1]), signal.SIGKILL)
            assert next(lines) == b"reaped\n"
            if not path.exists():
                absent += 1
                continue
            try:
                load_raster(path)
                readable += 1
            except Exception as exc:  # noqa: BLE001 - counted and reported
                unreadable.append(f"{path.name} after {delay_s * 1e3:.0f} ms: {exc}")
    finally:
        server.stdin.close()
        server.wait(timeout=120)
    strays = [p.name for p in tmp_path.iterdir() if not re.fullmatch(r"k\d+\.h5", p.name)]
    print(f"\n{KILLS} kills over the first {WINDOW_S * 1e3:.0f} ms: {absent} no file, "
          f"{readable} readable, {len(unreadable)} unreadable, {len(strays)} hidden partials")
    assert unreadable == []
    assert absent + readable == KILLS
    # a kill before the link leaves the hidden temporary (header only, never any point)
    for name in strays:
        match = PARTIAL.match(name)
        assert match, name
        assert re.fullmatch(r"k\d+\.h5", match["final"])


def test_without_hard_links_the_file_is_still_created_exclusively(tmp_path, monkeypatch):
    import imager.storage.base as w

    def no_link(src, dst):
        raise PermissionError(1, "Operation not permitted", src, None, dst)

    monkeypatch.setattr(w.os, "link", no_link)  # FAT, exFAT, some network shares
    path = tmp_path / "fat.h5"
    _writer(path).close("success")
    assert list(tmp_path.iterdir()) == [path]
    assert load_raster(path).exit_status == "success"
    with pytest.raises(FileExistsError) as info:
        _writer(path)
    assert info.value.filename == str(path)
    assert list(tmp_path.iterdir()) == [path]


def test_single_pixel_and_calibration_files_are_created_the_same_way(tmp_path):
    from imager.calibration import run_calibration
    from imager.recipes import parse_recipe
    from imager.sim import simulated_lab_for
    from imager.storage.single_pixel import SinglePixelWriter

    spi = tmp_path / "spi.h5"
    spi.write_bytes(b"precious")
    with pytest.raises(FileExistsError) as info:
        SinglePixelWriter(spi, basis_spec={"kind": "hadamard", "size": 4}, n_patterns=32,
                          fov_um=400.0, center_um=(0.0, 0.0), recipe_text="", dwell_s=0.3,
                          instruments={}, lab={})
    assert info.value.filename == str(spi) and spi.read_bytes() == b"precious"

    recipe = parse_recipe('kind = "calibration"\nname = "cal"\n[calibration]\n'
                          'mir_power_mW = [0, 25, 50]\nrepeats = 2\n[sim]\nchart = "open"\n',
                          "cal.toml")
    lab = simulated_lab_for(recipe)

    def broken():
        raise RuntimeError("lock-in did not answer")

    lab.lockin.settings = broken  # the header records every instrument's settings
    with pytest.raises(RuntimeError, match="did not answer"):
        run_calibration(lab, recipe, tmp_path / "cal.h5", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spi.h5"]  # no file, no temporary
    with pytest.raises(FileExistsError) as info:
        run_calibration(simulated_lab_for(recipe), recipe, spi, progress=False)
    assert info.value.filename == str(spi) and spi.read_bytes() == b"precious"


def test_a_failing_event_listener_never_stops_the_scan(tmp_path):
    from imager.engine import ProgressSink, ScanContext, StopRequest
    from imager.engine.faults import FaultPolicy
    from imager.storage.sinks import ScanFileSink

    file = ScanFileSink(tmp_path / "e.h5")
    file.writer = _writer(tmp_path / "e.h5")
    progress, heard = ProgressSink(enabled=False), []

    class Bar:  # the progress bar's display fails, e.g. on a closed terminal
        def on_event(self, kind, message, index, t_lab_s):
            heard.append(kind)
            raise ValueError("I/O operation on closed file")

        def close(self):
            pass

    progress.bar = Bar()
    run = ScanContext(None, None, (file, progress), FaultPolicy(), StopRequest())
    run.log_event("unlock", "pausing", 3, 1.0)  # the engine's fault handling logs through it
    run.log_event("relock", "back", 3, 2.0)
    file.close("success", "")
    assert heard == ["unlock"]
    with h5py.File(tmp_path / "e.h5", "r") as f:
        assert f["entry/events"]["kind"].tolist() == [b"unlock", b"relock"]
