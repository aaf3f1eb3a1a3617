import h5py
import numpy as np
import pytest

from imager.engine import StopRequest, run_raster
from imager.engine.faults import ScanFault
from imager.recipes import RecipeError, default_recipe
from imager.sim import simulated_lab_for
from reconstruction import correlation, load_raster
from stages import TravelLimitError


def test_full_scan_succeeds_and_matches_truth(tmp_path, small_recipe):
    recipe = small_recipe(24)
    result = run_raster(simulated_lab_for(recipe), recipe, tmp_path / "s.h5", progress=False)
    assert result.exit_status == "success"
    assert result.points_done == 24 * 24
    assert np.isfinite(result.image_V).all()
    assert correlation(result.image_V, result.truth_V) > 0.9
    # lab time: every point waits 10 time constants after settling
    assert result.lab_time_s > 24 * 24 * 10 * 0.03
    scan = load_raster(tmp_path / "s.h5")
    np.testing.assert_array_equal(scan.image_V, result.image_V)


def test_stop_request_ends_after_current_point_with_abort(tmp_path, small_recipe):
    recipe = small_recipe(10)
    lab = simulated_lab_for(recipe)
    stop = StopRequest()
    calls = {"n": 0}
    original = lab.lockin.read_xy

    def read_and_stop():
        calls["n"] += 1
        if calls["n"] == 37:
            stop.set("test stop")
        return original()

    lab.lockin.read_xy = read_and_stop
    result = run_raster(lab, recipe, tmp_path / "a.h5", progress=False, stop=stop)
    assert result.exit_status == "abort" and result.points_done == 37
    scan = load_raster(tmp_path / "a.h5")
    assert scan.exit_status == "abort" and scan.points_done == 37
    assert scan.measured.sum() == 37 and np.isnan(scan.image_V[~scan.measured]).all()
    assert not lab.source.on  # source switched off on abort


def test_a_dead_lock_in_stops_the_scan_as_fail_with_message(tmp_path, small_recipe):
    recipe = small_recipe(6)
    lab = simulated_lab_for(recipe)
    original = lab.lockin.read_xy
    calls = {"n": 0}

    def dead_after_nine():
        calls["n"] += 1
        if calls["n"] >= 10:
            raise TimeoutError("lock-in did not answer")
        return original()

    lab.lockin.read_xy = dead_after_nine
    with pytest.raises(ScanFault, match="lock-in read failed 4 times"):
        run_raster(lab, recipe, tmp_path / "f.h5", progress=False)
    scan = load_raster(tmp_path / "f.h5")
    assert scan.exit_status == "fail"
    assert "lock-in did not answer" in scan.attrs["error_message"]
    assert scan.points_done == 9
    with h5py.File(tmp_path / "f.h5", "r") as f:
        kinds = [k.decode() for k in f["entry/events"]["kind"]]
    assert kinds == ["read_error"] * 4 + ["stop"]


def test_one_timeout_is_retried_and_logged(tmp_path, small_recipe):
    recipe = small_recipe(6)
    lab = simulated_lab_for(recipe)
    original = lab.lockin.read_xy
    calls = {"n": 0}

    def flaky():
        calls["n"] += 1
        if calls["n"] == 10:
            raise TimeoutError("lock-in did not answer")
        return original()

    lab.lockin.read_xy = flaky
    reference = run_raster(simulated_lab_for(recipe), recipe, tmp_path / "r.h5", progress=False)
    result = run_raster(lab, recipe, tmp_path / "t.h5", progress=False)
    assert result.exit_status == "success" and result.points_done == 36
    # the retry costs lab time, nothing else: the same image up to what moves on with lab
    # time (slow drift; the 1 % MIR power fluctuation, correlated over 1 s)
    np.testing.assert_allclose(result.image_V, reference.image_V, rtol=0.05, atol=1e-7)
    with h5py.File(tmp_path / "t.h5", "r") as f:
        events = f["entry/events"][()]
    assert events["kind"].tolist() == [b"read_error"] and events["index"].tolist() == [9]


def test_range_beyond_travel_is_refused_before_anything_is_written(tmp_path):
    recipe = default_recipe(scan={"nx": 4, "ny": 4, "x_stop_um": 30000.0})
    lab = simulated_lab_for(recipe)
    before = lab.stage.position_um()
    with pytest.raises(TravelLimitError, match="outside travel"):
        run_raster(lab, recipe, tmp_path / "t.h5", progress=False)
    assert not (tmp_path / "t.h5").exists()
    assert lab.stage.position_um() == before


def test_source_power_above_lab_cap_is_a_recipe_error(tmp_path):
    recipe = default_recipe(scan={"nx": 2, "ny": 2})
    lab = simulated_lab_for(recipe)
    lab.source.max_power_mW = 20.0
    with pytest.raises(RecipeError, match=r"\[source\] power_mW"):
        run_raster(lab, recipe, tmp_path / "p.h5", progress=False)
    assert not (tmp_path / "p.h5").exists()


def test_same_seed_same_image_different_seed_different_noise(tmp_path, small_recipe):
    images = []
    for i, seed in enumerate((3, 3, 4)):
        recipe = small_recipe(8)
        recipe.sections["sim"]["seed"] = seed
        images.append(run_raster(simulated_lab_for(recipe), recipe, tmp_path / f"{i}.h5",
                                 progress=False).image_V)
    np.testing.assert_array_equal(images[0], images[1])
    assert not np.array_equal(images[0], images[2])


def test_short_dwell_reads_an_unsettled_lock_in(tmp_path, small_recipe):
    """Reading after 1 time constant smears the image along the scan; 10 do not."""
    errors = {}
    for tc in (1.0, 10.0):
        recipe = small_recipe(24, dwell_tc=tc, order="row")
        recipe.sections["sim"]["noise"] = False
        result = run_raster(simulated_lab_for(recipe), recipe, tmp_path / f"d{tc}.h5",
                            progress=False)
        errors[tc] = np.abs(result.image_V - result.truth_V).max() / np.abs(result.truth_V).max()
    assert errors[10.0] < 0.01
    assert errors[1.0] > 0.1


def test_file_layout_is_nexus_shaped(tmp_path, small_recipe):
    recipe = small_recipe(5)
    run_raster(simulated_lab_for(recipe), recipe, tmp_path / "n.h5", progress=False)
    with h5py.File(tmp_path / "n.h5", "r") as f:
        assert f.attrs["NX_class"] == "NXroot" and f.attrs["mirimager_format_version"] == 1
        entry = f["entry"]
        assert entry.attrs["NX_class"] == "NXentry" and entry.attrs["exit_status"] == "success"
        assert entry.attrs["start_time"] <= entry.attrs["end_time"]
        data = entry["data"]
        assert data.attrs["NX_class"] == "NXdata" and data.attrs["signal"] == "X_V"
        assert [a.decode() if isinstance(a, bytes) else a for a in data.attrs["axes"]] == [
            "y_um", "x_um"]
        assert data.attrs["y_um_indices"] == 0 and data.attrs["x_um_indices"] == 1
        assert data["X_V"].shape == (5, 5) and data["truth"].shape == (5, 5)
        assert data["X_V"].attrs["units"] == "V"
        assert "time_constant_s" in entry["instrument/lockin"].attrs
        assert entry["instrument/source"].attrs["power_mW"] == pytest.approx(50.0)
        assert entry["recipe"][()].decode() == recipe.text
        assert entry["sample/chart"].ndim == 2
        points = entry["scan/points"][()]
        assert points["done"].all()
        assert np.all(np.diff(points["t_lab_s"]) > 0) and np.all(np.diff(points["t_wall_s"]) >= 0)
        np.testing.assert_allclose(points["x_um"], points["x_set_um"], atol=0.05)
        assert points["index"].tolist() == list(range(25))
