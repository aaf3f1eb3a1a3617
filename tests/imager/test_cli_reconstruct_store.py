"""``mirimager reconstruct`` of a single-pixel file stores the image in it (the file's
default plot), ``info`` lists what is stored; locked and read-only files are one line."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

from imager.cli import main
from reconstruction import nxprocess

MIRIMAGER = str(Path(sys.executable).parent / "mirimager")
READY_BOUND_S = 300.0  # generous: only a hung child takes this long
RECIPE = """
kind = "single_pixel"
name = "spi"
[single_pixel]
basis = "hadamard"
size = 16
ratio = 0.5
dwell_tc = 10
[lockin]
sensitivity_V = 0.01
[pump]
power_mW = 500
[sim]
noise = true
"""


@pytest.fixture(scope="module")
def spi_bytes(tmp_path_factory) -> bytes:
    folder = tmp_path_factory.mktemp("spi_cli")
    (folder / "spi.toml").write_text(RECIPE)
    assert main(["scan", str(folder / "spi.toml"), "-o", str(folder / "spi.h5"),
                 "--no-progress"]) == 0
    return (folder / "spi.h5").read_bytes()


@pytest.fixture
def spi(tmp_path, spi_bytes) -> Path:
    path = tmp_path / "spi.h5"
    path.write_bytes(spi_bytes)
    return path


def bucket(path: Path) -> bytes:
    """The measured bucket data: the points table and the signal, as bytes."""
    with h5py.File(path, "r") as f:
        return f["entry/scan/points"][()].tobytes() + f["entry/data/X_V"][()].tobytes()


def stored_groups(path: Path) -> list[str]:
    with h5py.File(path, "r") as f:
        return [name for name in f["entry"] if name.startswith("reconstruction_")]


def one_line_error(capsys, path: Path) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"mirimager reconstruct: error: {path}: "), err
    return err


def test_reconstruct_stores_the_image_as_the_default_plot(spi, tmp_path, capsys):
    from silx.io import nxdata
    from silx.io import open as silx_open

    before = bucket(spi)
    capsys.readouterr()
    assert main(["reconstruct", str(spi), "-o", str(tmp_path / "out.png")]) == 0
    assert f"stored:   /entry/reconstruction_1 in {spi}" in capsys.readouterr().out
    assert Image.open(tmp_path / "out.png").size[0] > 100
    with silx_open(str(spi)) as f:
        default = nxdata.get_default(f)
        assert default.group.name == "/entry/reconstruction_1/data"
        assert default.signal_is_2d and default.signal.shape == (16, 16)
        assert default.signal.attrs["units"] == "V"
    with h5py.File(spi, "r") as f:
        assert f["entry/reconstruction_1/method"][()] == b"tv"
        assert f["entry/reconstruction_1/ratio"][()] == pytest.approx(0.5)
    # a second run adds an entry and moves the default; the first stays
    assert main(["reconstruct", str(spi), "-o", str(tmp_path / "two.png"), "--method", "pinv",
                 "--ratio", "0.25"]) == 0
    assert "stored:   /entry/reconstruction_2" in capsys.readouterr().out
    with h5py.File(spi, "r") as f:
        assert f["entry"].attrs["default"] == "reconstruction_2"
        assert f["entry/reconstruction_1/method"][()] == b"tv"
        assert f["entry/reconstruction_2/measurements"][()] == 64
    assert bucket(spi) == before
    assert main(["info", str(spi)]) == 0
    lines = [line.strip() for line in capsys.readouterr().out.splitlines()]
    at = lines.index("images:   2 stored".strip())
    assert lines[at + 1].startswith("reconstruction_1: tv 16x16, 128 measurements (ratio 0.5)")
    assert not lines[at + 1].endswith("(default plot)")
    assert lines[at + 2].startswith("reconstruction_2: pinv 16x16, 64 measurements (ratio 0.25)")
    assert lines[at + 2].endswith("(default plot)")
    assert main(["info", "--json", str(spi)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["method"], r["default"]) for r in info["reconstructions"]] == \
        [("reconstruction_1", "tv", False), ("reconstruction_2", "pinv", True)]


def test_no_store_leaves_the_file_as_it_was(spi, tmp_path, capsys):
    before = spi.read_bytes()
    assert main(["reconstruct", str(spi), "-o", str(tmp_path / "out"), "--no-store"]) == 0
    assert "stored:" not in capsys.readouterr().out
    assert (tmp_path / "out.png").exists() and (tmp_path / "out.tif").exists()
    assert spi.read_bytes() == before


def test_a_read_only_file_is_one_line_and_the_images_are_written(spi, tmp_path, capsys):
    before = spi.read_bytes()
    spi.chmod(0o444)
    try:
        capsys.readouterr()
        assert main(["reconstruct", str(spi), "-o", str(tmp_path / "out.png")]) == 2
    finally:
        spi.chmod(0o644)
    err = one_line_error(capsys, spi)
    assert "read-only file" in err and "--no-store" in err
    assert Image.open(tmp_path / "out.png").size[0] > 100  # as without the store
    assert spi.read_bytes() == before


def test_a_file_on_a_read_only_file_system_is_one_line(spi, tmp_path):
    """The file in a folder mounted read-only (a private mount namespace), the image
    written elsewhere."""
    if shutil.which("unshare") is None or subprocess.run(
            ["unshare", "-rm", "true"], capture_output=True).returncode != 0:
        pytest.skip("no user namespaces: no way to mount a folder read-only")
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "spi.h5"
    shutil.move(spi, path)
    before = path.read_bytes()
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    run = subprocess.run(["unshare", "-rm", "sh", "-c", script, "sh", str(folder), MIRIMAGER,
                          "reconstruct", str(path), "-o", str(tmp_path / "out.png")],
                         capture_output=True, text=True, timeout=600,
                         env={**os.environ, "MPLBACKEND": "Agg"})
    assert run.returncode == 2, run.stderr
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    assert run.stderr.startswith(f"mirimager reconstruct: error: {path}: read-only file on a "
                                 "read-only file system"), run.stderr
    assert (tmp_path / "out.png").exists()
    assert path.read_bytes() == before


def test_a_file_a_scan_is_still_writing_is_one_line(spi, tmp_path, capsys):
    """Another process holds the file open for writing, as a running scan's writer does
    (``h5py.File(path, "r+")`` with HDF5's file locking, ``imager.storage.base``)."""
    before = bucket(spi)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, h5py\nf = h5py.File(sys.argv[1], 'r+')\n"
         "print('ready', flush=True)\nsys.stdin.read()\nf.close()", str(spi)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([holder.stdout], [], [], READY_BOUND_S)
        assert ready and holder.stdout.readline().strip() == "ready"
        capsys.readouterr()
        assert main(["reconstruct", str(spi), "-o", str(tmp_path / "out.png")]) == 2
    finally:
        holder.stdin.close()
        holder.wait(timeout=READY_BOUND_S)
    err = one_line_error(capsys, spi)
    assert "locked by another process" in err
    assert (tmp_path / "out.png").exists()
    assert stored_groups(spi) == [] and bucket(spi) == before


def test_a_store_that_fails_leaves_the_file_as_it_was(spi, tmp_path, capsys, monkeypatch):
    assert main(["reconstruct", str(spi), "-o", str(tmp_path / "one.png")]) == 0
    with h5py.File(spi, "r") as f:
        first = f["entry/reconstruction_1/data/image"][()]
    before = bucket(spi)
    write, calls = nxprocess._write_dataset, []

    def failing_write(*args, **kwargs):
        calls.append(1)
        if len(calls) > 5:
            raise OSError("disk full (simulated)")
        return write(*args, **kwargs)

    monkeypatch.setattr(nxprocess, "_write_dataset", failing_write)
    capsys.readouterr()
    assert main(["reconstruct", str(spi), "-o", str(tmp_path / "two.png"), "--method",
                 "pinv"]) == 2
    assert "disk full" in one_line_error(capsys, spi)
    assert stored_groups(spi) == ["reconstruction_1"] and bucket(spi) == before
    with h5py.File(spi, "r") as f:
        assert f["entry"].attrs["default"] == "reconstruction_1"
        np.testing.assert_array_equal(f["entry/reconstruction_1/data/image"][()], first)
