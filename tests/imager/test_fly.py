"""Fly scans on the one engine: continuous lines, buffered lock-in, binned pixels, resume."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from imager.cli import main
from imager.engine import StopRequest, run_raster
from imager.recipes import default_recipe
from imager.sim import simulated_lab_for
from reconstruction import load_raster
from reconstruction.metrics import correlation


def fly_recipe(**scan):
    return default_recipe(scan={"nx": 32, "ny": 8, "y_start_um": 12440.0, "y_stop_um": 12560.0,
                                "mode": "fly", **scan}, sim={"seed": 4})


def test_a_fly_scan_fills_the_image_and_keeps_its_samples(tmp_path):
    recipe = fly_recipe()
    result = run_raster(simulated_lab_for(recipe), recipe, tmp_path / "fly.h5", progress=False)
    assert result.exit_status == "success" and result.points_done == 32 * 8
    assert np.isfinite(result.image_V).all()
    assert correlation(result.image_V, result.truth_V) > 0.9
    scan = load_raster(tmp_path / "fly.h5")  # the raster reader reads it as it is
    np.testing.assert_array_equal(scan.image_V, result.image_V)
    assert scan.scan_attrs["mode"] == "fly"
    with h5py.File(tmp_path / "fly.h5", "r") as f:
        stream, lines = f["entry/stream"][()], f["entry/lines"][()]
        edges = f["entry/data/x_edges_um"][()]
    assert lines["line"].tolist() == list(range(8))
    assert lines["direction"].tolist() == [1, -1] * 4  # snake
    assert len(stream) == lines["samples"].sum() > 32 * 8
    assert edges.size == 33 and np.all(np.diff(edges) > 0)
    inside = (stream["x_um"] > edges[0]) & (stream["x_um"] < edges[-1])
    assert inside.sum() > 32 * 8  # several samples per pixel


def test_fly_is_faster_in_lab_time_than_the_step_raster(tmp_path):
    fly = fly_recipe()
    step = default_recipe(scan={"nx": 32, "ny": 8, "y_start_um": 12440.0, "y_stop_um": 12560.0},
                          sim={"seed": 4})
    f = run_raster(simulated_lab_for(fly), fly, tmp_path / "f.h5", progress=False)
    s = run_raster(simulated_lab_for(step), step, tmp_path / "s.h5", progress=False)
    assert f.lab_time_s < s.lab_time_s / 2


def test_a_stopped_fly_scan_resumes_to_the_uninterrupted_image(tmp_path):
    recipe = fly_recipe()
    full = run_raster(simulated_lab_for(recipe), recipe, tmp_path / "full.h5", progress=False)
    lab = simulated_lab_for(recipe)
    stop, begin = StopRequest(), lab.begin_point

    def begin_point(index: int) -> None:  # BeginPoint(line) starts each fly line
        if index == 3:
            stop.set("test stop")
        begin(index)

    lab.begin_point = begin_point
    part = run_raster(lab, recipe, tmp_path / "r.h5", progress=False, stop=stop)
    assert part.exit_status == "abort" and part.points_done == 4 * 32
    done = run_raster(simulated_lab_for(recipe), recipe, tmp_path / "r.h5", progress=False,
                      resume=True)
    assert done.exit_status == "success" and done.points_done == 8 * 32
    np.testing.assert_allclose(done.image_V, full.image_V, rtol=0, atol=1e-12)
    with h5py.File(tmp_path / "r.h5", "r") as f, h5py.File(tmp_path / "full.h5", "r") as g:
        assert f["entry/lines"]["line"].tolist() == list(range(8))
        np.testing.assert_allclose(f["entry/stream"]["X_V"], g["entry/stream"]["X_V"],
                                   rtol=0, atol=1e-12)


def test_a_fly_velocity_above_the_stages_is_a_one_line_error(tmp_path, capsys):
    recipe = tmp_path / "fly.toml"
    recipe.write_text('name = "f"\n[scan]\nmode = "fly"\nnx = 16\nny = 4\nfly_pixel_tc = 0.05\n')
    assert main(["scan", str(recipe), "-o", str(tmp_path / "out"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "[scan] fly_pixel_tc: 0.05 time constants per 26.6667 um pixel is 17777.8 um/s, " \
           "above the stage's 2400 um/s; use fly_pixel_tc >= 0.37" in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_the_buffer_rate_is_the_fastest_the_lock_in_offers_up_to_the_one_asked(tmp_path):
    recipe = fly_recipe(stream_rate_Hz=300.0)  # the SR830 offers 256 and 512 Hz
    run_raster(simulated_lab_for(recipe), recipe, tmp_path / "f.h5", progress=False)
    with h5py.File(tmp_path / "f.h5", "r") as f:
        assert f["entry/scan"].attrs["stream_rate_Hz"] == 256.0
        t = f["entry/stream"]["t_lab_s"][:3]
    np.testing.assert_allclose(np.diff(t), 1 / 256.0)
    lab = simulated_lab_for(recipe)
    lab.lockin.stream_rates_Hz = (1024.0, 2048.0)  # a lock-in without slow rates
    with pytest.raises(ValueError, match=r"\[scan\] stream_rate_Hz: 300 Hz is below this "
                                         r"lock-in's slowest buffer rate, 1024 Hz"):
        run_raster(lab, recipe, tmp_path / "g.h5", progress=False)
    assert not (tmp_path / "g.h5").exists()


def test_a_fly_file_is_assembled_again_offline_with_other_settings(tmp_path):
    from reconstruction.fly_line import reassemble_fly_file

    recipe = fly_recipe()
    result = run_raster(simulated_lab_for(recipe), recipe, tmp_path / "fly.h5", progress=False)
    again, x_um, y_um = reassemble_fly_file(tmp_path / "fly.h5")
    np.testing.assert_allclose(again, result.image_V, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(x_um, result.x_um)
    coarse, x16, _ = reassemble_fly_file(tmp_path / "fly.h5", nx=16, deconvolve=False)
    assert coarse.shape == (8, 16) and np.isfinite(coarse).all()
    assert x16[0] < result.x_um[1] and x16[-1] > result.x_um[-2]
    raw, _, _ = reassemble_fly_file(tmp_path / "fly.h5", deconvolve=False)
    # without deconvolution the lock-in's lag moves forward and backward lines apart
    assert correlation(raw, result.truth_V) < correlation(result.image_V, result.truth_V)


def test_forward_and_backward_lines_put_a_sharp_edge_in_the_same_place(tmp_path):
    from reconstruction.metrics import edge_position_px

    def disagreement(deconvolve: bool) -> float:
        recipe = default_recipe(
            scan={"nx": 64, "ny": 8, "y_start_um": 12490.0, "y_stop_um": 12510.0,
                  "mode": "fly", "fly_pixel_tc": 1.0, "deconvolve": deconvolve},
            sim={"seed": 1, "chart": "knife_edge"})
        image = run_raster(simulated_lab_for(recipe), recipe, tmp_path / f"e{deconvolve}.h5",
                           progress=False).image_V
        edges = [edge_position_px(row) for row in image]
        return float(np.mean(edges[0::2]) - np.mean(edges[1::2]))

    raw, deconvolved = disagreement(False), disagreement(True)
    assert abs(raw) > 2.0  # the lock-in's lag: each direction puts the edge late
    assert abs(deconvolved) <= 0.2


def test_a_line_longer_than_the_lock_in_buffer_is_refused_before_anything_moves(tmp_path):
    recipe = fly_recipe(fly_pixel_tc=100.0, nx=64)  # 64 x 3 s per line: > 16383 samples
    lab = simulated_lab_for(recipe)
    start = lab.stage.position_um()
    with pytest.raises(ValueError, match=r"\[scan\] stream_rate_Hz: a line takes .* more than "
                                         r"the lock-in's buffer of 16383; use a rate <="):
        run_raster(lab, recipe, tmp_path / "x.h5", progress=False)
    assert lab.stage.position_um() == start and not (tmp_path / "x.h5").exists()


def test_fly_positions_from_the_controllers_position_triggers(tmp_path):
    profile = fly_recipe(nx=64)
    triggered = fly_recipe(nx=64, fly_positions="triggers")
    a = run_raster(simulated_lab_for(profile), profile, tmp_path / "p.h5", progress=False)
    b = run_raster(simulated_lab_for(triggered), triggered, tmp_path / "t.h5", progress=False)
    assert b.exit_status == "success" and np.isfinite(b.image_V).all()
    with h5py.File(tmp_path / "t.h5", "r") as f:
        stream, lines = f["entry/stream"][()], f["entry/lines"][()]
    first = stream[stream["line"] == 0]
    steps = np.diff(first["x_um"])  # one sample per trigger: evenly spaced positions
    np.testing.assert_allclose(steps, steps[0], rtol=1e-9)
    assert steps[0] > 0 and lines["direction"][1] == -1
    assert np.all(np.diff(stream[stream["line"] == 1]["x_um"]) < 0)
    # the same image as the profile-placed samples, to within the noise
    assert correlation(b.image_V, a.image_V) > 0.97
    assert correlation(b.image_V, b.truth_V) > 0.9
