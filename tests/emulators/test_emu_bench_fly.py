"""A fly scan through the real drivers over the emulated wire: thorlabs-apt-device moves the
stage at the fly velocity, pyvisa reads the SR830's buffer (TRCB?) or the SR860's capture."""

import h5py
import numpy as np
import pytest

from imager.emulators.bench import start_emulated_bench
from imager.engine import run_raster
from imager.labconfig import HardwareLab, parse_lab_config
from imager.recipes import default_recipe
from imager.sim import simulated_lab_for
from imager.sim.lab import SimConfig
from reconstruction import correlation, load_raster

# a Z8 stage as specified (velocity 2.4 mm/s, acceleration 1.5 mm/s^2: the twin's default)


def _fly_recipe():
    return default_recipe(
        scan={"nx": 16, "ny": 2, "x_start_um": 12350.0, "x_stop_um": 12650.0,
              "y_start_um": 12490.0, "y_stop_um": 12510.0, "mode": "fly",
              "fly_pixel_tc": 2.0, "stream_rate_Hz": 300.0, "settle_tc": 4.0},
        lockin={"time_constant_s": 0.01}, source={"power_mW": 200.0})


@pytest.mark.slow
@pytest.mark.parametrize("lockin_model, via", [("SR830", "tcp"), ("SR860", "tcp")])
def test_a_fly_scan_runs_through_the_real_drivers(tmp_path, lockin_model, via):
    recipe = _fly_recipe()
    with start_emulated_bench(SimConfig(), lockin_model=lockin_model) as bench:
        bench.lab.source.power_mW = 200.0  # the (manual) QCL of the emulated lab
        config = parse_lab_config(bench.lab_config_toml(lockin_via=via))
        with HardwareLab(config) as lab:
            hw = run_raster(lab, recipe, tmp_path / "hw.h5", progress=False)
        velocity_moves = bench.apt_x.count(0x0453)  # MOT_MOVE_ABSOLUTE at the set velocity
    assert hw.exit_status == "success" and hw.points_done == 32, hw.error_message
    assert velocity_moves >= 3  # to the first run-up start, then each line (snake)
    with h5py.File(tmp_path / "hw.h5", "r") as f:
        stream, lines = f["entry/stream"][()], f["entry/lines"][()]
        velocity = f["entry/scan"].attrs["velocity_um_per_s"]
    assert lines["samples"].tolist() == [np.sum(stream["line"] == k) for k in (0, 1)]
    assert min(lines["samples"]) > 16  # several buffer samples per pixel
    assert velocity == pytest.approx(300.0 / 15 / (2.0 * 0.01))
    sim = run_raster(simulated_lab_for(recipe), recipe, tmp_path / "sim.h5", progress=False)
    assert correlation(hw.image_V, sim.image_V) >= 0.9
    assert load_raster(tmp_path / "hw.h5").scan_attrs["mode"] == "fly"
