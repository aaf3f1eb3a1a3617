"""Every user mistake is one line and exit status 2, never a traceback; SIGTERM stops a
scan like Ctrl-C (file marked abort, resumable); a closed stdout ends a command quietly.
"""

import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import pytest

from imager.cli import main
from imager.engine import StopRequest
from imager.engine.stop import ctrl_c_stops
from reconstruction import load_raster

SCANS = Path(__file__).resolve().parents[2] / "scans"
MIRIMAGER = str(Path(sys.executable).parent / "mirimager")
READY_BOUND_S = 300.0  # generous: only a hung child takes this long
ENV = {**os.environ, "MPLBACKEND": "Agg"}


@pytest.fixture
def recipe(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text('name = "small"\n[scan]\nnx = 6\nny = 5\n')
    return path


def one_line(err: str) -> str:
    err = err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


# ------------------------------------------------------------- outputs that cannot be written


def run_with_readonly(folder: Path, *args) -> subprocess.CompletedProcess:
    """Run mirimager with ``folder`` not writable: a read-only bind mount of it in a private
    mount namespace when running as root (root ignores permission bits), else mode 555."""
    command = [MIRIMAGER, *map(str, args)]
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=600,
                                  cwd=folder.parent, env=ENV)
        finally:
            folder.chmod(0o755)
    if shutil.which("unshare") is None or subprocess.run(
            ["unshare", "-rm", "true"], capture_output=True).returncode != 0:
        pytest.skip("running as root without user namespaces: no way to make a folder "
                    "read-only")
    script = ('mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && '
              'exec "$@"')
    return subprocess.run(["unshare", "-rm", "sh", "-c", script, "sh", str(folder), *command],
                          capture_output=True, text=True, timeout=600, cwd=folder.parent,
                          env=ENV)


@pytest.mark.parametrize("args, named", [
    (["scan", "{recipe}", "-o", "ro/x.h5", "--no-progress"], "ro/x.h5"),
    (["scan", "{recipe}", "-o", "ro/new/", "--no-progress"], "ro/new/"),
    (["calibrate", str(SCANS / "calibration.toml"), "-o", "ro/c.h5", "--no-progress"],
     "ro/c.h5"),
    (["paper", "ro/figures"], "ro/figures"),
    (["emulate", "--config-out", "ro/lab.toml"], "ro/lab.toml"),
], ids=["scan", "scan-new-folder", "calibrate", "paper", "emulate"])
def test_an_output_folder_that_is_not_writable_is_one_line(tmp_path, recipe, args, named):
    """Refused before the scan (or the emulators) starts: one line naming the output."""
    folder = tmp_path / "ro"
    folder.mkdir()
    args = [a.format(recipe=recipe) for a in args]
    proc = run_with_readonly(folder, *args)
    assert proc.returncode == 2, proc.stderr
    err = one_line(proc.stderr)
    assert err.startswith(f"mirimager {args[0]}: error: {named}"), err
    assert "cannot write: " in err
    assert list(folder.iterdir()) == []


# ------------------------------------------------------------- SIGTERM, resume of a running scan

# The CLI in a child process; after the first point is flushed it says so on stdout and
# waits for a line on stdin, so the test can act while the scan is surely running.
CHILD = r"""
import os, sys
from imager.storage import base

original, first = base.FileWriter.write_record, [True]
def write_record(self, *args, **kwargs):
    original(self, *args, **kwargs)
    if first:
        first.clear()
        os.write(1, b"first point written\n")
        sys.stdin.readline()
base.FileWriter.write_record = write_record
from imager.cli import main
sys.exit(main(sys.argv[1:]))
"""


def wait_for(stream, needle: bytes, proc) -> bytes:
    """Read ``stream`` until ``needle`` appears (generous overall bound, no short window)."""
    seen, deadline = b"", time.monotonic() + READY_BOUND_S
    while needle not in seen:
        assert time.monotonic() < deadline, f"no {needle!r} after {READY_BOUND_S:g} s: {seen!r}"
        ready, _, _ = select.select([stream], [], [], 1.0)
        if ready:
            chunk = os.read(stream.fileno(), 65536)
            assert chunk or proc.poll() is None, f"child ended early: {seen!r}"
            seen += chunk
    return seen


@pytest.mark.slow
def test_sigterm_ends_a_scan_like_ctrl_c_and_resume_completes_it(tmp_path):
    recipe = tmp_path / "t.toml"
    recipe.write_text('name = "term"\n[scan]\nnx = 12\nny = 10\n[sim]\nseed = 5\n')
    path = tmp_path / "term.h5"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, "scan", str(recipe), "-o", str(path),
                             "--no-progress"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=ENV)
    try:
        wait_for(proc.stdout, b"first point written", proc)
        # the scan is running: resume must refuse, in one line, and leave it alone
        busy = subprocess.run([MIRIMAGER, "resume", str(path), "--no-progress"],
                              capture_output=True, text=True, timeout=600, env=ENV)
        assert busy.returncode == 2, busy.stderr
        assert one_line(busy.stderr) == (f"mirimager resume: error: {path}: the scan is still "
                                          "running (file locked by another process)")
        proc.send_signal(signal.SIGTERM)
        err = wait_for(proc.stderr, b"SIGTERM: stopping after the current point", proc)
        proc.stdin.write(b"go on\n")
        proc.stdin.flush()
        out, rest = proc.communicate(timeout=600)
    finally:
        proc.kill()
    assert proc.returncode == 130, (err + rest).decode()
    assert b"stopped:   stopped by SIGTERM" in out
    scan = load_raster(path)
    assert scan.exit_status == "abort" and scan.attrs["error_message"] == "stopped by SIGTERM"
    assert 1 <= scan.points_done < 120
    png = path.with_suffix(".png")
    partial = png.read_bytes()
    resumed = subprocess.run([MIRIMAGER, "resume", str(path), "--no-progress"],
                             capture_output=True, text=True, timeout=600, env=ENV)
    assert resumed.returncode == 0, resumed.stderr
    scan = load_raster(path)
    assert scan.exit_status == "success" and scan.points_done == 120
    assert png.read_bytes() != partial  # its own image, replaced by the complete one


def test_sigterm_sets_the_stop_request_and_the_handlers_come_back():
    received = []
    sentinel = signal.signal(signal.SIGTERM, lambda *a: received.append("outer handler"))
    try:
        stop = StopRequest()
        with ctrl_c_stops(stop, message=False):
            os.kill(os.getpid(), signal.SIGTERM)
            deadline = time.monotonic() + 60
            while not (stop.is_set() or received) and time.monotonic() < deadline:
                time.sleep(0.01)
        assert stop.is_set() and stop.reason == "stopped by SIGTERM"
        assert received == []
        outer = signal.getsignal(signal.SIGTERM)
        assert outer is not None and outer.__name__ == "<lambda>"  # put back
    finally:
        signal.signal(signal.SIGTERM, sentinel)


# ------------------------------------------------------------- other mistakes


def test_a_file_another_scan_created_meanwhile_is_named(tmp_path, recipe, capsys,
                                                        monkeypatch):
    """Two scans racing for one name: the loser's line names the file (not 'None')."""
    from imager.cli import acquire

    path = tmp_path / "race.h5"
    original = acquire._open_lab

    def open_lab_while_the_other_scan_creates_the_file(*args):
        with h5py.File(path, "x") as f:
            f.attrs["winner"] = "the other scan"
        return original(*args)

    monkeypatch.setattr(acquire, "_open_lab", open_lab_while_the_other_scan_creates_the_file)
    assert main(["scan", str(recipe), "-o", str(path), "--no-progress"]) == 2
    assert one_line(capsys.readouterr().err) == (
        f"mirimager scan: error: {path}: file exists; scan files are never overwritten "
        "(choose another -o)")
    with h5py.File(path, "r") as f:
        assert f.attrs["winner"] == "the other scan"


GONE_LAB = ('name = "gone"\n[stage_x]\nserial_port = "/nonexistent/pty-x"\n'
            '[stage_y]\nserial_port = "/nonexistent/pty-y"\n'
            '[lockin]\naddress = "TCPIP::127.0.0.1::9::SOCKET"\n'
            '[chopper]\nserial_port = "/nonexistent/pty-c"\n'
            '[source]\ndriver = "manual"\n[pump]\ndriver = "manual"\n')
"""A lab configuration whose devices are all absent."""


def test_lab_that_does_not_answer_says_so_without_promising_a_file(tmp_path, recipe, capsys):
    config = tmp_path / "gone.toml"
    config.write_text(GONE_LAB)
    path = tmp_path / "never.h5"
    assert main(["scan", str(recipe), "--lab", str(config), "-o", str(path),
                 "--no-progress"]) == 1
    err = one_line(capsys.readouterr().err)
    assert err.startswith(f"mirimager scan: error: {config}: cannot open the lab: "), err
    assert "/nonexistent/pty-x" in err and "resume" not in err
    assert not path.exists()


@pytest.mark.parametrize("command", ["demo", "calibrate", "emulate"])
@pytest.mark.parametrize("seed", [-1, 2**31])
def test_seed_out_of_range_names_the_option(tmp_path, capsys, command, seed):
    args = {"demo": ["demo", "--size", "4", "-o", str(tmp_path / "d.h5")],
            "calibrate": ["calibrate", str(SCANS / "calibration.toml"), "-o",
                          str(tmp_path / "c.h5")],
            "emulate": ["emulate", "--config-out", str(tmp_path / "lab.toml")]}[command]
    assert main([*args, "--seed", str(seed)]) == 2
    assert one_line(capsys.readouterr().err) == (
        f"mirimager {command}: error: --seed: must be an integer in [0, 2147483647], "
        f"got {seed}")
    assert list(tmp_path.iterdir()) == []


def test_an_empty_recipe_file_is_refused(tmp_path):
    recipe = tmp_path / "empty.toml"
    recipe.write_text("# nothing yet\n")
    proc = subprocess.run([MIRIMAGER, "scan", str(recipe)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=600, env=ENV)
    assert proc.returncode == 2
    assert one_line(proc.stderr).startswith(f"mirimager scan: error: {recipe}: empty recipe")
    assert not (tmp_path / "data").exists()


# ------------------------------------------------------------- output piped into `head`


def run_into_closed_pipe(*args, unbuffered: bool, cwd: Path) -> subprocess.CompletedProcess:
    """stdout is a pipe whose reader has gone (``| head`` after its lines), from the start."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    env = {k: v for k, v in ENV.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    try:
        return subprocess.run([MIRIMAGER, *map(str, args)], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=600, cwd=cwd, env=env)
    finally:
        os.close(write_end)


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
def test_info_into_a_closed_pipe_ends_quietly(tmp_path, recipe, unbuffered):
    path = tmp_path / "s.h5"
    assert main(["scan", str(recipe), "-o", str(path), "--no-progress"]) == 0
    proc = run_into_closed_pipe("info", path, unbuffered=unbuffered, cwd=tmp_path)
    assert (proc.returncode, proc.stderr) == (1, "")


def test_scan_into_a_closed_pipe_keeps_its_file_and_image(tmp_path, recipe):
    path = tmp_path / "p.h5"
    proc = run_into_closed_pipe("scan", recipe, "-o", path, "--no-progress", unbuffered=True,
                                cwd=tmp_path)
    assert (proc.returncode, proc.stderr) == (1, "")
    assert load_raster(path).exit_status == "success"
    assert path.with_suffix(".png").stat().st_size > 1000


def test_scan_on_a_lab_says_the_recipes_sim_section_is_not_used(tmp_path, capsys):
    recipe = tmp_path / "star.toml"
    recipe.write_text('name = "star"\n[scan]\nnx = 4\nny = 4\n[sim]\nchart = "siemens_star"\n')
    config = tmp_path / "gone.toml"
    config.write_text(GONE_LAB)
    assert main(["scan", str(recipe), "--lab", str(config), "-o", str(tmp_path / "s.h5"),
                 "--no-progress"]) == 1
    note, error = capsys.readouterr().err.strip().splitlines()
    assert note.startswith(f"note:      {recipe}: its [sim] section") and "not used" in note
    assert "cannot open the lab" in error
