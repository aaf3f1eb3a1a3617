"""Batch reconstruction (reconstruction/batch.py): one task per file, results in each file,
a bad file reported and skipped, on the embedded dask cluster and in this process."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import h5py
import numpy as np
import pytest

from imager.cli import main
from imager.engine import run_single_pixel
from imager.recipes import parse_recipe
from imager.sim import simulated_lab_for
from reconstruction.batch import (
    BatchError,
    WorkItem,
    collect_items,
    local_client,
    reconstruct_batch,
    reconstruct_item,
)
from reconstruction.spifile import load_single_pixel, reconstruct_single_pixel

SPI = """
kind = "single_pixel"
name = "spi"
[single_pixel]
size = 16
ratio = 0.5
dwell_tc = 10
[lockin]
sensitivity_V = 0.02
[pump]
power_mW = 500
[sim]
seed = {seed}
"""


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> Path:
    """Two single-pixel scans (16x16, other seeds), a raster scan and a corrupt .h5."""
    folder = tmp_path_factory.mktemp("batch_originals")
    for seed in (1, 2):
        recipe = parse_recipe(SPI.format(seed=seed), "spi.toml")
        run_single_pixel(simulated_lab_for(recipe), recipe, folder / f"spi{seed}.h5",
                         progress=False)
    (folder / "r.toml").write_text('kind = "raster"\nname = "r"\n[scan]\nnx = 6\nny = 5\n')
    assert main(["scan", str(folder / "r.toml"), "-o", str(folder / "raster.h5"),
                 "--no-progress"]) == 0
    (folder / "raster.png").unlink()
    (folder / "r.toml").unlink()
    (folder / "corrupt.h5").write_bytes((folder / "spi1.h5").read_bytes()[:2000])
    return folder


@pytest.fixture
def batch(tmp_path, originals) -> Path:
    folder = tmp_path / "scans"
    shutil.copytree(originals, folder)
    return folder


def stored_image(path: Path, k: int = 1) -> np.ndarray:
    with h5py.File(path, "r") as f:
        assert f["entry"].attrs["default"] == f"reconstruction_{k}"
        return f[f"entry/reconstruction_{k}/data/image"][()]


def test_collect_items_lists_a_folders_scans_once_and_refuses_what_is_not_there(batch):
    (batch / ".spi1.h5.partial-1-ab").write_bytes(b"")  # a scan's hidden temporary
    items = collect_items([batch, batch / "spi1.h5"])
    assert [Path(i.path).name for i in items] == ["corrupt.h5", "raster.h5", "spi1.h5",
                                                  "spi2.h5"]
    assert all(Path(i.path).is_absolute() and i.selector is None for i in items)
    empty = batch / "empty"
    empty.mkdir()
    with pytest.raises(BatchError, match=f"{empty}: folder has no .h5 files"):
        collect_items(empty)
    with pytest.raises(BatchError, match="missing.h5: no such file"):
        collect_items([batch / "spi1.h5", batch / "missing.h5"])


def test_inline_batch_stores_what_a_single_reconstruction_gives(batch):
    seen = []
    results = reconstruct_batch([batch / "spi1.h5", batch / "corrupt.h5", batch / "spi2.h5"],
                                scheduler="inline", progress=seen.append)
    assert [r.ok for r in results] == [True, False, True] and len(seen) == 3
    assert results[1].message.startswith(f"{batch / 'corrupt.h5'}: ")
    for result in (results[0], results[2]):
        assert result.stored == "/entry/reconstruction_1"
        direct = reconstruct_single_pixel(load_single_pixel(result.path), "tv")
        np.testing.assert_allclose(stored_image(Path(result.path)), direct.image,
                                   rtol=1e-9, atol=1e-12)
        assert result.metrics["correlation"] > 0.9  # an image of the chart, not noise


def test_embedded_cluster_of_two_workers_reconstructs_each_file_and_skips_the_corrupt(batch):
    corrupt = (batch / "corrupt.h5").read_bytes()
    results = reconstruct_batch(batch, workers=2, out_dir=batch / "images")
    by_name = {Path(r.path).name: r for r in results}
    assert not by_name["corrupt.h5"].ok and "corrupt.h5" in by_name["corrupt.h5"].message
    assert (batch / "corrupt.h5").read_bytes() == corrupt  # left as it was
    assert all(r.ok for n, r in by_name.items() if n != "corrupt.h5"), results
    for name in ("spi1", "spi2"):
        assert by_name[f"{name}.h5"].stored == "/entry/reconstruction_1"
        assert stored_image(batch / f"{name}.h5").shape == (16, 16)
    for name in ("spi1", "spi2", "raster"):  # the raster file's result is its images
        assert (batch / "images" / f"{name}.png").stat().st_size > 0
        assert (batch / "images" / f"{name}.tif").stat().st_size > 0
    assert not (batch / "images" / "corrupt.png").exists()


def test_raster_images_equal_the_single_file_command(batch, tmp_path):
    tifffile = pytest.importorskip("tifffile")
    [result] = reconstruct_batch(batch / "raster.h5", scheduler="inline",
                                 out_dir=tmp_path / "batch", background="plane")
    assert result.ok and result.kind == "raster" and result.stored is None
    assert main(["reconstruct", str(batch / "raster.h5"), "-o", str(tmp_path / "one") + "/",
                 "--background", "plane"]) == 0
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "batch" / "raster.tif"),
                                  tifffile.imread(tmp_path / "one" / "raster.tif"))
    [no_folder] = reconstruct_batch(batch / "raster.h5", scheduler="inline")
    assert not no_folder.ok and "need an output folder" in no_folder.message


def test_an_existing_image_is_not_overwritten_and_that_file_fails(batch):
    out = batch / "images"
    out.mkdir()
    (out / "spi1.tif").write_bytes(b"mine")
    [result] = reconstruct_batch(batch / "spi1.h5", scheduler="inline", out_dir=out)
    assert not result.ok and "spi1.tif: file exists; not overwritten" in result.message
    assert (out / "spi1.tif").read_bytes() == b"mine"
    assert not list(out.glob(".*part*"))  # no temporary left behind


def test_a_selector_on_a_file_without_wavelengths_fails_that_item(batch):
    result = reconstruct_item(WorkItem(str(batch / "spi1.h5"), selector=3))
    assert not result.ok and "no wavelength axis (selector 3)" in result.message
    with h5py.File(batch / "spi1.h5", "r") as f:
        assert "reconstruction_1" not in f["entry"]


def test_embedded_workers_run_blas_on_one_thread():
    from threadpoolctl import threadpool_info

    with local_client(1) as client:
        info = client.run(lambda: [lib["num_threads"] for lib in threadpool_info()
                                   if lib["user_api"] == "blas"])
        addresses = [client.scheduler.address, *client.scheduler_info()["workers"]]
    [threads] = info.values()
    assert threads and set(threads) == {1}
    assert all(a.startswith("tcp://127.0.0.1:") for a in addresses)  # nothing listens outside


@pytest.mark.parametrize("kwargs, match", [
    ({"workers": 0}, "workers must be an integer >= 1, got 0"),
    ({"workers": 2, "scheduler": "tcp://127.0.0.1:1"}, "workers sets the size"),
    ({"client": object(), "scheduler": "tcp://127.0.0.1:1"}, "not both"),
    ({"scheduler": "127.0.0.1"}, "not an address tcp://HOST:PORT"),
])
def test_a_batch_that_cannot_start_is_one_error(batch, kwargs, match):
    with pytest.raises(BatchError, match=match):
        reconstruct_batch(batch / "spi1.h5", **kwargs)


def test_an_unreachable_scheduler_is_named(batch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(BatchError, match=f"scheduler tcp://127.0.0.1:{port}: cannot connect"):
        reconstruct_batch(batch / "spi1.h5", scheduler=f"tcp://127.0.0.1:{port}")
    with h5py.File(batch / "spi1.h5", "r") as f:
        assert "reconstruction_1" not in f["entry"]


def test_a_file_its_check_refuses_is_reported_and_never_opened(batch):
    def check(path: str) -> None:  # as the CLI's probe does for a file that hangs libhdf5
        if path.endswith("spi2.h5"):
            raise ValueError("hangs libhdf5 (probe timed out)")

    ready = []
    results = reconstruct_batch([batch / "spi1.h5", batch / "spi2.h5"], scheduler="inline",
                                check=check, on_ready=ready.append)
    assert [r.ok for r in results] == [True, False] and ready == [1]
    assert results[1].message == f"{batch / 'spi2.h5'}: hangs libhdf5 (probe timed out)"
    with h5py.File(batch / "spi2.h5", "r") as f:
        assert "reconstruction_1" not in f["entry"]
