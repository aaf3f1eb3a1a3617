import numpy as np
import pytest

from imager import open_lab
from reconstruction import correlation, load_raster


def test_interactive_session_moves_reads_and_scans(tmp_path):
    lab = open_lab(folder=tmp_path)
    lab.stage.move_to(12500.0, 12400.0)
    lab.stage.wait_settled()
    x_um, y_um = lab.stage.position_um()
    assert abs(x_um - 12500.0) < 0.05 and abs(y_um - 12400.0) < 0.05
    t0 = lab.clock.now_s()
    lab.clock.sleep(0.3)
    assert lab.clock.now_s() - t0 == pytest.approx(0.3)
    reading = lab.lockin.read_xy()
    assert np.isfinite(reading.x_V)
    result = lab.raster(x_um=(12400, 12600), y_um=(12450, 12550), n=(20, 10), dwell_tc=8,
                        progress=False, lockin={"time_constant_s": 0.01})
    assert result.image_V.shape == (10, 20)
    assert result.path.parent == tmp_path and result.path.exists()
    scan = load_raster(result.path)
    assert scan.settings["lockin"]["time_constant_s"] == 0.01
    assert scan.attrs["exit_status"] == "success"
    assert correlation(result.image_V, result.truth_V) > 0.9


def test_session_runs_a_recipe_file(tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text('name = "mine"\n[scan]\nnx = 6\nny = 5\n')
    lab = open_lab(recipe, folder=tmp_path)
    result = lab.raster(recipe, progress=False)
    assert result.path.name.endswith("_mine.h5") and result.points_done == 30
