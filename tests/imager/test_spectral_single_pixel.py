"""Spectral single-pixel scans: one image per wavelength on the one engine, resume,
and the cube reconstructed per wavelength (here and on a dask cluster).

(A resumed scan replays its last two readings; with 10 time constants per pattern, as
scans/single_pixel.toml, the lock-in's memory of what came before them is < 1e-12 V.)"""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from stop_at import stop_after_point

from imager.engine.kinds import kind_of
from imager.engine.spectral import run_spectral_single_pixel
from imager.recipes import RecipeError, parse_recipe
from imager.sim import simulated_lab_for
from reconstruction.spectral.singlepixel import load_spectral_single_pixel, reconstruct_cube

RECIPE = """
kind = "single_pixel"
name = "sspi_test"
[single_pixel]
size = 8
dwell_tc = 10
{spi}
[spectral]
wavelengths_um = [7.0, 8.2]
[pump]
power_mW = 500.0
[sim]
{sim}
"""


def _recipe(spi: str = "", sim: str = ""):
    return parse_recipe(RECIPE.format(spi=spi, sim=sim), "t.toml")


def test_both_orders_measure_the_same_readings_without_noise(tmp_path):
    raws = []
    for order in ("image", "point"):
        recipe = _recipe(sim="noise = false").with_overrides("t", spectral={"order": order})
        raws.append(run_spectral_single_pixel(simulated_lab_for(recipe), recipe,
                                              tmp_path / f"{order}.h5", progress=False).raw_V)
        loaded = load_spectral_single_pixel(tmp_path / f"{order}.h5").raw_V
        np.testing.assert_array_equal(loaded, raws[-1])  # the file's readings, placed
    # (each reading holds a little of the lock-in's memory of the one before it, which
    # differs between the orders)
    np.testing.assert_allclose(raws[0], raws[1], rtol=2e-3, atol=1e-3 * np.abs(raws[0]).max())


def test_single_pixel_recipes_with_wavelengths_are_spectral_scans():
    assert kind_of(_recipe()).name == "spectral_single_pixel"
    assert kind_of(_recipe('readout = "stream"')).name == "spectral_single_pixel"


def test_each_wavelength_equals_a_plain_single_pixel_scan_there(tmp_path):
    recipe = _recipe(sim="noise = false")
    result = run_spectral_single_pixel(simulated_lab_for(recipe), recipe, tmp_path / "s.h5",
                                       progress=False)
    assert result.exit_status == "success" and result.raw_V.shape == (2, 128)
    with h5py.File(tmp_path / "s.h5", "r") as f:
        assert [a.decode() for a in f["/entry/data"].attrs["axes"]] == ["wavelength_um",
                                                                        "pattern"]
        assert list(f["/entry/spectral/power"]["iw"]) == [0, 1]
    scan = load_spectral_single_pixel(tmp_path / "s.h5")
    images = reconstruct_cube(scan, "pinv")
    for iw, wl in enumerate((7.0, 8.2)):
        plain = parse_recipe(RECIPE.format(spi="", sim="noise = false")
                             .replace("[spectral]\nwavelengths_um = [7.0, 8.2]\n",
                                      f"[source]\nwavelength_um = {wl}\n"), "p.toml")
        assert kind_of(plain).name == "single_pixel"
        single = kind_of(plain).run(simulated_lab_for(plain), plain, tmp_path / f"p{iw}.h5",
                                    progress=False)
        # (the first pattern also holds the lock-in's memory of what came before it)
        np.testing.assert_allclose(result.raw_V[iw, 1:], single.raw_V[1:], rtol=2e-3,
                                   atol=1e-3 * np.abs(single.raw_V).max())
        # the stored truth at each wavelength is the plain scan's truth there
        np.testing.assert_allclose(scan.truth_V[iw], single.truth_V, rtol=1e-12)
    # the film's absorption band: the two wavelengths give different images
    assert abs(images.cube[0].mean() / images.cube[1].mean() - 1) > 0.01


@pytest.mark.parametrize("order, stop_at", [("image", 127), ("image", 140), ("point", 99),
                                            ("point", 100)])
def test_a_stopped_spectral_single_pixel_scan_resumes_bit_identically(tmp_path, order,
                                                                      stop_at):
    recipe = _recipe().with_overrides("t", spectral={"order": order})
    full = run_spectral_single_pixel(simulated_lab_for(recipe), recipe, tmp_path / "f.h5",
                                     progress=False)
    lab = simulated_lab_for(recipe)
    stop = stop_after_point(lab, stop_at)
    part = run_spectral_single_pixel(lab, recipe, tmp_path / "r.h5", progress=False, stop=stop)
    assert part.exit_status == "abort" and part.points_done == stop_at + 1
    done = run_spectral_single_pixel(simulated_lab_for(recipe), recipe, tmp_path / "r.h5",
                                     progress=False, resume=True)
    assert done.exit_status == "success"
    np.testing.assert_allclose(done.raw_V, full.raw_V, rtol=0, atol=1e-12)


def test_cube_on_a_dask_cluster_equals_the_cube_solved_here(tmp_path):
    from dask.distributed import Client, LocalCluster

    recipe = _recipe()
    run_spectral_single_pixel(simulated_lab_for(recipe), recipe, tmp_path / "s.h5",
                              progress=False)
    scan = load_spectral_single_pixel(tmp_path / "s.h5")
    here = reconstruct_cube(scan, "tv")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        there = reconstruct_cube(scan, "tv", client=client)
        pids = set(client.run(lambda: __import__("os").getpid()).values())
    assert len(pids) == 2
    np.testing.assert_array_equal(here.cube, there.cube)


def test_the_stored_cube_is_what_silx_and_nexusformat_show(tmp_path):
    from nexusformat.nexus import nxload
    from silx.io import open as silx_open
    from silx.io.nxdata import get_default

    from reconstruction.spectral.store_cube import store_cube

    recipe = _recipe()
    run_spectral_single_pixel(simulated_lab_for(recipe), recipe, tmp_path / "s.h5",
                              progress=False)
    scan = load_spectral_single_pixel(tmp_path / "s.h5")
    images = reconstruct_cube(scan, "tv")
    first = store_cube(tmp_path / "s.h5", images, scan)
    second = store_cube(tmp_path / "s.h5", images, scan)
    assert (first, second) == ("/entry/reconstruction_1", "/entry/reconstruction_2")
    with silx_open(str(tmp_path / "s.h5")) as f:
        nxdata = get_default(f)
        assert nxdata.signal.shape == (2, 8, 8)
        assert [a.attrs["units"] for a in nxdata.axes] == ["um", "um", "um"]
        np.testing.assert_array_equal(nxdata.axes[0][()], [7.0, 8.2])
        np.testing.assert_array_equal(nxdata.signal[()], images.cube)
    plottable = nxload(str(tmp_path / "s.h5"), "r").plottable_data
    assert plottable.nxsignal.shape == (2, 8, 8)
    assert plottable.nxaxes[0].nxname == "wavelength_um"
    # the readings are untouched, and a changed file is refused
    assert load_spectral_single_pixel(tmp_path / "s.h5").raw_V.tobytes() == scan.raw_V.tobytes()
    scan.raw_V[0, 0] += 1.0
    with pytest.raises(ValueError, match="changed since"):
        store_cube(tmp_path / "s.h5", images, scan)


def test_a_batch_solves_each_wavelength_as_a_task_and_stores_the_cube(tmp_path):
    from reconstruction.batch import reconstruct_batch

    recipe = _recipe()
    run_spectral_single_pixel(simulated_lab_for(recipe), recipe, tmp_path / "s.h5",
                              progress=False)
    (tmp_path / "bad.h5").write_bytes(b"not hdf5")
    results = reconstruct_batch([tmp_path], workers=2)
    by = {(r.path.rsplit("/", 1)[-1], r.selector): r for r in results}
    assert not by[("bad.h5", None)].ok
    assert by[("s.h5", 0)].ok and by[("s.h5", 1)].ok
    cube = by[("s.h5", None)]
    assert cube.ok and cube.stored == "/entry/reconstruction_1"
    here = reconstruct_cube(load_spectral_single_pixel(tmp_path / "s.h5"), "tv")
    with h5py.File(tmp_path / "s.h5", "r") as f:
        np.testing.assert_array_equal(f["/entry/reconstruction_1/data/cube"][()], here.cube)
        assert f["/entry"].attrs["default"] == "reconstruction_1"


STREAM = 'readout = "stream"\nblock_patterns = 32\nsettle_tc = 25'
SENSITIVE = "[lockin]\nsensitivity_V = 0.02\n[pump]"  # a stream does not range up


def test_a_streamed_spectral_scan_fits_each_block_at_each_wavelength(tmp_path):
    fast = STREAM + "\ndwell_tc = 2"
    recipe = parse_recipe(RECIPE.format(spi=fast, sim="noise = false").replace(
        "dwell_tc = 10\n" + fast, fast).replace("[pump]", SENSITIVE), "s.toml")
    assert recipe.sections["single_pixel"]["dwell_tc"] == 2
    streamed = run_spectral_single_pixel(simulated_lab_for(recipe), recipe, tmp_path / "s.h5",
                                         progress=False)
    reads = _recipe(sim="noise = false")
    read = run_spectral_single_pixel(simulated_lab_for(reads), reads, tmp_path / "r.h5",
                                     progress=False)
    assert streamed.exit_status == "success" and streamed.lab_time_s < read.lab_time_s
    # the filter's memory fitted out: the buckets of 2 time constants per pattern agree
    # with settled reads of 10
    np.testing.assert_allclose(streamed.raw_V[:, 1:], read.raw_V[:, 1:], rtol=0.01,
                               atol=2e-3 * np.abs(read.raw_V).max())
    with h5py.File(tmp_path / "s.h5", "r") as f:
        assert sorted(set(f["/entry/lines"]["line"])) == list(range(8))  # iw * 4 + b
        assert f["/entry/stream"].shape[0] > 0


def test_streamed_spectral_blocks_must_tile_the_patterns():
    with pytest.raises(RecipeError, match=r"\[single_pixel\] block_patterns: .*128 patterns"):
        _recipe('readout = "stream"\nblock_patterns = 48')
    with pytest.raises(RecipeError, match=r"\[spectral\] order"):
        _recipe(STREAM).with_overrides("t", spectral={"order": "point"})


@pytest.mark.parametrize("stop_at", [150, 180])
def test_a_stopped_streamed_spectral_scan_resumes_bit_identically(tmp_path, stop_at):
    recipe = parse_recipe(RECIPE.format(spi=STREAM, sim="").replace("[pump]", SENSITIVE),
                          "s.toml")
    full = run_spectral_single_pixel(simulated_lab_for(recipe), recipe, tmp_path / "f.h5",
                                     progress=False)
    lab = simulated_lab_for(recipe)
    part = run_spectral_single_pixel(lab, recipe, tmp_path / "r.h5", progress=False,
                                     stop=stop_after_point(lab, stop_at))
    assert part.exit_status == "abort"
    done = run_spectral_single_pixel(simulated_lab_for(recipe), recipe, tmp_path / "r.h5",
                                     progress=False, resume=True)
    assert done.exit_status == "success"
    np.testing.assert_allclose(done.raw_V, full.raw_V, rtol=0, atol=1e-12)
