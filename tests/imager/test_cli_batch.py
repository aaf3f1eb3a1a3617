"""``mirimager reconstruct`` over several files or a folder (docs/batch.md): the embedded
dask cluster and a ``dask scheduler`` started by hand give the same images, a corrupt file is
named and skipped (exit 1), bad arguments are one line (exit 2)."""

from __future__ import annotations

import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from imager.cli import main
from imager.engine import run_single_pixel
from imager.recipes import parse_recipe
from imager.sim import simulated_lab_for

#: overall bound on a process becoming ready (never a short sleep: loaded machines)
READY_TIMEOUT_S = 180.0
SPI = ('kind = "single_pixel"\nname = "spi"\n[single_pixel]\nsize = 16\nratio = 0.5\n'
       'dwell_tc = 10\n[lockin]\nsensitivity_V = 0.02\n[pump]\npower_mW = 500\n'
       '[sim]\nseed = {seed}\n')


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> Path:
    """Three single-pixel scans (16x16, other seeds) and a corrupt .h5 file."""
    folder = tmp_path_factory.mktemp("cli_batch")
    for seed in (1, 2, 3):
        recipe = parse_recipe(SPI.format(seed=seed), "spi.toml")
        run_single_pixel(simulated_lab_for(recipe), recipe, folder / f"s{seed}.h5",
                         progress=False)
    (folder / "corrupt.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(4000))
    return folder


def copy_of(originals: Path, where: Path) -> Path:
    shutil.copytree(originals, where)
    return where


def stored(folder: Path) -> dict[str, np.ndarray]:
    images = {}
    for path in sorted(folder.glob("s*.h5")):
        with h5py.File(path, "r") as f:
            assert f["entry"].attrs["default"] == "reconstruction_1"
            assert "reconstruction_2" not in f["entry"]
            images[path.name] = f["entry/reconstruction_1/data/image"][()]
    return images


def run_batch(capsys, folder: Path, *options: str) -> tuple[int, str, str]:
    status = main(["reconstruct", str(folder), "-o", str(folder / "images"), *options])
    out, err = capsys.readouterr()
    return status, out, err


def check_embedded_run(capsys, folder: Path) -> dict[str, np.ndarray]:
    status, out, err = run_batch(capsys, folder, "--workers", "2")
    assert status == 1
    assert f"1 file failed (skipped): {folder / 'corrupt.h5'}" in err
    assert "reconstructed 3 of 4 files" in out and "local cluster of 2 workers" in out
    assert "Traceback" not in err
    for name in ("s1", "s2", "s3"):
        assert (folder / "images" / f"{name}.png").is_file()
        assert (folder / "images" / f"{name}.tif").is_file()
    return stored(folder)


def test_embedded_cluster_stores_each_image_and_names_the_corrupt_file(capsys, originals,
                                                                      tmp_path):
    images = check_embedded_run(capsys, copy_of(originals, tmp_path / "scans"))
    assert len(images) == 3 and all(im.shape == (16, 16) for im in images.values())
    assert not np.array_equal(images["s1.h5"], images["s2.h5"])  # each file its own image


def _lines_of(stream, into: queue.Queue) -> None:
    for line in iter(stream.readline, ""):
        into.put(line)
    into.put(None)


@pytest.fixture
def scheduler_by_hand(tmp_path):
    """``dask scheduler`` on 127.0.0.1 (a free port), one ``dask worker`` process; both
    killed at the end."""
    dask_cli = [sys.executable, "-m", "dask"]
    procs = []
    try:
        sched = subprocess.Popen(dask_cli + ["scheduler", "--host", "127.0.0.1", "--port", "0",
                                             "--no-dashboard", "--dashboard-address",
                                             "127.0.0.1:0"],  # its HTTP server: any port
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(sched)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=_lines_of, args=(sched.stderr, lines), daemon=True).start()
        deadline, address = time.monotonic() + READY_TIMEOUT_S, None
        while address is None:  # its readiness line: "Scheduler at: tcp://127.0.0.1:PORT"
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            assert line is not None, "dask scheduler exited before it was ready"
            if found := re.search(r"Scheduler at:\s+(tcp://127\.0\.0\.1:\d+)", line):
                address = found.group(1)
        log = (tmp_path / "worker.log").open("w")
        procs.append(subprocess.Popen(
            dask_cli + ["worker", address, "--nthreads", "1", "--no-nanny",  # one process
                        "--host", "127.0.0.1", "--no-dashboard"],
            stdout=log, stderr=log, cwd=tmp_path))
        yield address  # the CLI waits (bounded) for the worker to join
    finally:
        for proc in reversed(procs):
            proc.kill()
            proc.wait(timeout=60)


def test_a_scheduler_started_by_hand_gives_the_embedded_images(capsys, originals, tmp_path,
                                                              scheduler_by_hand):
    embedded = check_embedded_run(capsys, copy_of(originals, tmp_path / "embedded"))
    folder = copy_of(originals, tmp_path / "by_hand")
    status, out, err = run_batch(capsys, folder, "--scheduler", scheduler_by_hand)
    assert status == 1 and f"failed (skipped): {folder / 'corrupt.h5'}" in err
    assert "reconstructed 3 of 4 files" in out and f"scheduler {scheduler_by_hand}" in out
    by_hand = stored(folder)
    assert by_hand.keys() == embedded.keys()
    for name, image in by_hand.items():
        np.testing.assert_allclose(image, embedded[name], rtol=1e-12, atol=0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("extra, message", [
    (["--workers", "0"], "--workers: must be an integer >= 1, got 0"),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "--workers: sizes the local"),
    (["--ratio", "0"], "--ratio: must be > 0, got 0"),
    (["--scheduler", "tcp://127.0.0.1:{port}"], "scheduler tcp://127.0.0.1:{port}: cannot "
                                                "connect"),
])
def test_bad_arguments_are_one_line_and_exit_2(capsys, originals, tmp_path, extra, message):
    folder = copy_of(originals, tmp_path / "scans")
    port = str(_free_port())
    extra = [e.replace("{port}", port) for e in extra]
    status, out, err = run_batch(capsys, folder, *extra)
    assert status == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert message.replace("{port}", port) in err
    assert not (folder / "images").exists()  # nothing computed or written


def test_bad_batch_paths_are_one_line_and_exit_2(capsys, originals, tmp_path):
    folder = copy_of(originals, tmp_path / "scans")
    (tmp_path / "empty").mkdir()
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "s2.tif").write_bytes(b"mine")
    cases = [
        (["reconstruct", str(tmp_path / "empty"), "-o", str(tmp_path / "o")],
         f"{tmp_path / 'empty'}: folder has no .h5 files"),
        (["reconstruct", str(folder / "s1.h5"), str(folder / "nope.h5"), "-o",
          str(tmp_path / "o")], f"{folder / 'nope.h5'}: no such file"),
        (["reconstruct", str(folder / "s1.h5"), str(folder / "s2.h5"), "-o",
          str(tmp_path / "o.png")], "a batch needs a folder"),
        (["reconstruct", str(folder), "-o", str(tmp_path / "taken")],
         f"{tmp_path / 'taken' / 's2.tif'}: file exists; not overwritten"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        out, err = capsys.readouterr()
        assert err.count("\n") == 1 and message in err, err
    assert (tmp_path / "taken" / "s2.tif").read_bytes() == b"mine"
    with h5py.File(folder / "s1.h5", "r") as f:
        assert "reconstruction_1" not in f["entry"]


def test_a_batch_argument_error_imports_no_dask_or_plotting(tmp_path):
    (tmp_path / "a.h5").write_bytes(b"")
    (tmp_path / "b.h5").write_bytes(b"")
    code = (f"import os, sys\nos.chdir({str(tmp_path)!r})\nfrom imager.cli import main\n"
            "assert main(['reconstruct', 'a.h5', 'b.h5', '-o', 'out', '--workers', '0']) == 2\n"
            "print([m for m in ('dask', 'distributed', 'scipy', 'matplotlib', 'h5py')"
            " if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
