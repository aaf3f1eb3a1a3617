"""imager.cli.probe: a file on which libhdf5 hangs is reported, in bounded time, as one line."""

from __future__ import annotations

import time
from pathlib import Path

import h5py
import pytest

from imager.cli import probe
from imager.cli.probe import probe_scan_file, probe_timeout_s
from reconstruction import ScanFileError


def _small_file(path: Path) -> Path:
    with h5py.File(path, "w") as f:
        f.attrs["mirimager_format_version"] = 1
        entry = f.create_group("entry")
        entry.attrs["kind"] = "raster"  # variable-length strings: in the global heap
        entry.attrs["exit_status"] = "success"
        entry["recipe"] = 'kind = "raster"\n'
    return path


def _zeroed_heap(path: Path, out: Path) -> Path:
    """A copy with the first object of the global heap zeroed: reading /entry's string
    attributes then never returns (libhdf5 2.0.0)."""
    data = path.read_bytes()
    heap = data.index(b"GCOL")
    out.write_bytes(data[: heap + 16] + bytes(16) + data[heap + 32:])
    return out


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch):
    monkeypatch.setattr(probe, "_passed", {})
    monkeypatch.delenv("MIRIMAGER_PROBE_TIMEOUT_S", raising=False)


def test_normal_file_passes_quickly_and_once(tmp_path, monkeypatch):
    path = _small_file(tmp_path / "ok.h5")
    start = time.monotonic()
    probe_scan_file(path)
    assert time.monotonic() - start < 2.0
    assert len(probe._passed) == 1
    calls = []
    monkeypatch.setattr(probe, "_probe_forked", lambda *a: calls.append(a) or "ok")
    probe_scan_file(path)  # unchanged: not probed again
    assert calls == []
    with h5py.File(path, "a") as f:  # changed: probed again
        f.attrs["extra"] = 1
    probe_scan_file(path)
    assert len(calls) == 1


def test_hanging_file_is_one_line_in_bounded_time(tmp_path, capfd):
    path = _zeroed_heap(_small_file(tmp_path / "ok.h5"), tmp_path / "hang.h5")
    before = path.read_bytes()
    start = time.monotonic()
    with pytest.raises(ScanFileError) as info:
        probe_scan_file(path, timeout_s=1.0)
    assert time.monotonic() - start < 5.0
    assert str(info.value) == f"{path}: the HDF5 library hangs reading it (corrupt file?)"
    assert path.read_bytes() == before
    assert capfd.readouterr() == ("", "")  # the child printed nothing
    assert probe._passed == {}


def test_crashing_child_is_reported(tmp_path, monkeypatch):
    import os
    import signal

    path = _small_file(tmp_path / "ok.h5")
    monkeypatch.setattr(probe, "read_everything",
                        lambda p: os.kill(os.getpid(), signal.SIGSEGV))
    with pytest.raises(ScanFileError, match="the HDF5 library crashes reading it"):
        probe_scan_file(path)


def test_errors_the_library_reports_are_left_to_the_reader(tmp_path):
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    probe_scan_file(garbage)  # the reader gives its own one-line error
    probe_scan_file(tmp_path / "missing.h5")
    probe_scan_file(tmp_path)  # a folder


def test_timeout_setting(tmp_path, monkeypatch):
    path = _small_file(tmp_path / "ok.h5")
    assert probe_timeout_s(path) == pytest.approx(probe.PROBE_TIMEOUT_S, abs=0.01)
    monkeypatch.setenv("MIRIMAGER_PROBE_TIMEOUT_S", "12")
    assert probe_timeout_s(path) == pytest.approx(12.0, abs=0.01)
    monkeypatch.setenv("MIRIMAGER_PROBE_TIMEOUT_S", "twelve")  # ignored
    assert probe_timeout_s(path) == pytest.approx(probe.PROBE_TIMEOUT_S, abs=0.01)
    monkeypatch.setenv("MIRIMAGER_PROBE_TIMEOUT_S", "0")  # off
    assert probe_timeout_s(path) == 0.0
    hang = _zeroed_heap(path, tmp_path / "hang.h5")
    probe_scan_file(hang)  # not probed: returns at once


def test_a_file_whose_listing_breaks_midway_is_still_probed_past_it(tmp_path):
    """A spectral scan file damaged by a byte fuzzer (kept gzipped in tests/imager/fixtures):
    listing /entry fails part way ("wrong B-tree signature"), and reading /entry/scan's
    attributes crashes libhdf5. The probe reads on past the broken listing, so the crash
    happens in its child and the command says so in one line (before: exit 139)."""
    import gzip
    import subprocess
    import sys

    damaged = tmp_path / "damaged.h5"
    damaged.write_bytes(gzip.decompress(
        (Path(__file__).parent / "fixtures" / "segfault_spectral.h5.gz").read_bytes()))
    run = subprocess.run([sys.executable, "-m", "imager", "reconstruct", str(damaged), "-o",
                          str(tmp_path / "out")], capture_output=True, text=True, timeout=300)
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip().endswith("crashes reading it (corrupt file?)")
    assert len(run.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.glob("out*"))
