"""The scan-file schema on the reading side: what is retried, what is reported at once.

A read is tried again only when it failed the way a concurrent writer's flush makes it
fail, or when the file changed while it was read; any other failure is the precise
one-line error at once. (Reading a file that a real writer process is flushing:
tests/imager/test_storage_schema.py.)
"""

from __future__ import annotations

import os

import h5py
import numpy as np
import pytest

from reconstruction import ScanFileError, load_raster, schema
from reconstruction import scanfile as sf
from reconstruction.events import load_events


def _image(ny: int = 3, nx: int = 4) -> np.ndarray:
    return np.arange(ny * nx, dtype=float).reshape(ny, nx) + 1.0


@pytest.fixture
def opens(monkeypatch):
    """How many times the reader opened the file (one per attempt)."""
    calls = []
    original = sf._open

    def counting_open(path):
        calls.append(path)
        return original(path)

    monkeypatch.setattr(sf, "_open", counting_open)
    return calls


@pytest.mark.parametrize(("node", "link", "expected"), [
    ("lab", h5py.ExternalLink("missing.h5", "/entry"),
     "/entry/lab is a link to /entry in missing.h5, which cannot be opened"),
    ("data", h5py.SoftLink("/nowhere"), "/entry/data is a broken link (to /nowhere)"),
    ("scan/points", h5py.ExternalLink("missing.h5", "/p"),
     "/entry/scan/points is a link to /p in missing.h5, which cannot be opened"),
])
def test_a_corrupt_file_gives_its_precise_error_at_once(tmp_path, scan_writer, opens,
                                                        node, link, expected):
    # Was: the external link was retried 5 times and reported as "unreadable scan file
    # (truncated or corrupt?)"; the broken /entry/data link as "missing /entry/data group",
    # and the points table behind a link was silently replaced by /entry/data/X_V.
    path = scan_writer(tmp_path / "linked.h5", _image())
    with h5py.File(path, "r+") as f:
        del f[f"entry/{node}"]
        f[f"entry/{node}"] = link
    with pytest.raises(ScanFileError) as info:
        load_raster(path)
    assert str(info.value) == f"{path}: {expected}"
    assert len(opens) == 1


def _failing_reader(monkeypatch, error, times=1):
    """Make the raster reader raise ``error`` on its first ``times`` calls (as if it met it
    in the file), then read normally; returns the list of calls."""
    original, calls = sf._read, []

    def reader(f, path):
        calls.append(path)
        if len(calls) <= times:
            raise error(path) if callable(error) else error
        return original(f, path)

    monkeypatch.setattr(sf, "_read", reader)
    return calls


def test_an_hdf5_error_no_flush_makes_is_not_retried(tmp_path, scan_writer, monkeypatch):
    # Was: retried 5 times (~0.5 s), then "unreadable scan file (truncated or corrupt?)".
    path = scan_writer(tmp_path / "s.h5", _image())
    calls = _failing_reader(monkeypatch, KeyError(
        "Unable to synchronously open object (bad object header version number)"), times=5)
    with pytest.raises(ScanFileError) as info:
        load_raster(path)
    assert len(calls) == 1
    assert str(info.value) == (f"{path}: cannot read scan file (KeyError): 'Unable to "
                               "synchronously open object (bad object header version number)'")


@pytest.mark.parametrize("error", [
    OSError("Unable to synchronously open file (truncated file: eof = 96, "
            "sblock->base_addr = 0, stored_eof = 1056)"),
    OSError("Can't synchronously read data (addr overflow, addr = 887272, size = 87040, "
            "eoa = 887272)"),
    KeyError("Unable to synchronously open object (addr overflow, addr = 1, size = 2, eoa = 1)"),
    KeyError("Unable to synchronously open object (len not positive after adjustment for "
             "EOA)"),
    KeyError("Unable to synchronously open object (bad heap free list)"),
    RuntimeError("Unable to synchronously check link existence (free block size is zero?)"),
], ids=["truncated", "read-overflow", "open-overflow", "eoa", "heap", "free-block"])
def test_what_a_concurrent_flush_produces_is_retried(tmp_path, scan_writer, monkeypatch,
                                                     error):
    # The errors met while reading files a writer process was flushing (FLUSH_SIGNATURES).
    path = scan_writer(tmp_path / "s.h5", _image())
    calls = _failing_reader(monkeypatch, error)
    assert load_raster(path).points_done == 12
    assert len(calls) == 2 and sf.during_flush(error)


def test_a_flush_error_that_persists_is_reported_as_truncation(tmp_path, scan_writer, opens):
    path = scan_writer(tmp_path / "cut.h5", _image(8, 8))
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ScanFileError, match=r"unreadable scan file \(truncated or corrupt\?\)"
                                            r": .*truncated file"):
        load_raster(path)
    assert len(opens) == sf.READ_ATTEMPTS


def test_a_file_that_changed_while_read_is_read_again(tmp_path, scan_writer, monkeypatch):
    # A reader can meet a record half-written (done = 1, indices still the fill value -1):
    # a precise error for a file at rest, but the file changed meanwhile, so it is read again.
    # (Was: reported at once, "bad point table", while the scan was running fine.)
    path = scan_writer(tmp_path / "s.h5", _image())

    def torn(p):
        stat = os.stat(p)
        os.utime(p, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # the writer's flush
        return ScanFileError(f"{p}: bad point table: point 7 at (ix=-1, iy=-1) is outside "
                             "the 3x4 grid")

    calls = _failing_reader(monkeypatch, torn)
    assert load_raster(path).points_done == 12
    assert len(calls) == 2


def test_a_file_at_rest_with_a_bad_table_is_reported_at_once(tmp_path, scan_writer, opens):
    path = scan_writer(tmp_path / "bad.h5", _image())
    with h5py.File(path, "r+") as f:
        f["entry/events"] = np.arange(3.0)
    with pytest.raises(ScanFileError) as info:
        load_events(path)
    assert str(info.value) == (f"{path}: /entry/events is not an event log (1-D records with "
                               "fields t_wall_s, t_lab_s, index, kind, message)")
    assert len(opens) == 1


def test_the_layout_version_is_the_schemas(tmp_path, scan_writer):
    assert sf.SUPPORTED_FORMAT_VERSION == schema.LAYOUT_VERSION
    path = scan_writer(tmp_path / "next.h5", _image(), version=schema.LAYOUT_VERSION + 1)
    with pytest.raises(ScanFileError, match=f"version {schema.LAYOUT_VERSION + 1} is newer"):
        load_raster(path)


def test_member_tells_absent_from_unreadable(tmp_path):
    path = tmp_path / "m.h5"
    with h5py.File(path, "w") as f:
        f.create_group("entry/data")
        f["entry/ghost"] = h5py.SoftLink("/nowhere")
    with h5py.File(path, "r") as f:
        assert schema.member(f, "/entry/data", path).name == "/entry/data"
        assert schema.member(f["entry"], "data", path).name == "/entry/data"
        assert schema.member(f, "/entry/nothing/points", path) is None
        assert schema.member(f, "/entry/data/X_V/more", path) is None
        with pytest.raises(ScanFileError, match="/entry/ghost is a broken link"):
            schema.member(f, "/entry/ghost", path)


def test_each_layout_declares_its_points_table_and_signal():
    for kind, layout in schema.LAYOUTS.items():
        assert layout.kind == kind
        paths = [item.path for item in layout.items]
        assert len(paths) == len(set(paths)), kind
        if layout.points is not None:
            points, signal = layout[layout.points], layout[layout.signal]
            assert {"index", "X_V", "done", *layout.resume_fields} <= set(points.dtype.names)
            assert points.fill["done"] == 0 and np.isnan(signal.fill)
    assert schema.RASTER[schema.SIGNAL].shape_for({"nx": 5, "ny": 2}) == (2, 5)
