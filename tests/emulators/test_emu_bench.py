"""The whole hardware path against the emulated lab: real drivers, real client libraries
(thorlabs-apt-device, pyvisa-py, thorlabs-mc2000b), real wire protocols, one twin."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from imager.emulators.bench import start_emulated_bench
from imager.engine import run_raster
from imager.labconfig import HardwareLab, parse_lab_config
from imager.recipes import default_recipe
from imager.sim import simulated_lab_for
from imager.sim.lab import SimConfig
from reconstruction import correlation, load_raster
from stages.simulated import StageDynamics

FAST = StageDynamics(velocity_um_per_s=48000.0, acceleration_um_per_s2=600000.0, settle_s=0.005)
MIRIMAGER = str(Path(sys.executable).parent / "mirimager")


def _recipe(n=10):
    return default_recipe(
        scan={"nx": n, "ny": n, "x_start_um": 12350.0, "x_stop_um": 12650.0,
              "y_start_um": 12350.0, "y_stop_um": 12650.0},
        lockin={"time_constant_s": 0.003}, source={"power_mW": 200.0})


@pytest.mark.parametrize("lockin_model, via", [("SR830", "tcp"), ("SR860", "pty")])
def test_raster_through_real_drivers_matches_the_simulated_scan(tmp_path, lockin_model, via):
    recipe = _recipe()
    with start_emulated_bench(SimConfig(), lockin_model=lockin_model, dynamics=FAST) as bench:
        bench.lab.source.power_mW = 200.0  # the (manual) QCL of the emulated lab
        config = parse_lab_config(bench.lab_config_toml(lockin_via=via))
        with HardwareLab(config) as lab:
            hw = run_raster(lab, recipe, tmp_path / "hw.h5", progress=False)
        moves = bench.apt_x.count(0x0453) + bench.apt_y.count(0x0453)  # MOT_MOVE_ABSOLUTE
    sim = run_raster(simulated_lab_for(recipe), recipe, tmp_path / "sim.h5", progress=False)
    assert hw.exit_status == "success" and hw.points_done == 100
    assert moves >= 100
    assert correlation(hw.image_V, sim.image_V) >= 0.95
    scan = load_raster(tmp_path / "hw.h5")
    assert scan.lab["kind"] == "hardware"
    assert scan.settings["lockin"]["time_constant_s"] == pytest.approx(0.003)
    points = scan.points
    np.testing.assert_allclose(points["x_um"], points["x_set_um"], atol=0.1)


@pytest.mark.slow
def test_emulate_devices_and_scan_from_the_command_line(tmp_path):
    config = tmp_path / "lab.toml"
    env = {**os.environ, "MPLBACKEND": "Agg"}
    emulate = subprocess.Popen([MIRIMAGER, "emulate", "--fast-stages", "--mir-power-mW", "200",
                                "--config-out", str(config)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 60  # the emulator's start (a busy machine is slow)
        while not config.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert config.exists(), emulate.stderr.read() if emulate.poll() is not None else ""
        devices = subprocess.run([MIRIMAGER, "devices", "--lab", str(config)],
                                 capture_output=True, text=True, timeout=60, env=env)
        assert devices.returncode == 0, devices.stdout + devices.stderr
        for name in ("stage_x", "stage_y", "lockin", "chopper"):
            assert f"{name}:" in devices.stdout and "FAIL" not in devices.stdout
        assert "Stanford_Research_Systems,SR830" in devices.stdout
        recipe = tmp_path / "r.toml"
        recipe.write_text('name = "hw"\n[scan]\nnx = 6\nny = 6\nx_start_um = 12400\n'
                          'x_stop_um = 12600\ny_start_um = 12400\ny_stop_um = 12600\n'
                          '[lockin]\ntime_constant_s = 0.003\n[source]\npower_mW = 200\n')
        scan = subprocess.run([MIRIMAGER, "scan", str(recipe), "--lab", str(config), "-o",
                               str(tmp_path / "hw.h5"), "--no-progress"], capture_output=True,
                              text=True, timeout=120, env=env)
        assert scan.returncode == 0, scan.stderr
        assert load_raster(tmp_path / "hw.h5").points_done == 36
    finally:
        emulate.send_signal(signal.SIGINT)
        out, err = emulate.communicate(timeout=60)
    assert emulate.returncode == 0, err
    assert "emulated lab stopped" in out


def test_bad_lab_configuration_is_one_line_exit_2(tmp_path):
    config = tmp_path / "lab.toml"
    config.write_text('[stage_x]\ndriver = "apt"\nserial_port = "/dev/null"\ncontroller = "XYZ"\n')
    proc = subprocess.run([MIRIMAGER, "devices", "--lab", str(config)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert "[stage_x] controller: must be one of 'KDC101'" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_dmd_without_the_vendor_library_is_a_clear_error(tmp_path):
    from imager.drivers import InstrumentError
    from imager.drivers.alp4_dmd import ALP4Projector

    with pytest.raises(InstrumentError, match="cannot load the vendor ALP 4.3 library"):
        ALP4Projector(lib_dir=str(tmp_path))
    with start_emulated_bench(SimConfig(), dynamics=FAST) as bench:
        config = tmp_path / "lab.toml"
        config.write_text(bench.lab_config_toml() + f'[projector]\nlib_dir = "{tmp_path}"\n')
        proc = subprocess.run([MIRIMAGER, "devices", "--lab", str(config)], capture_output=True,
                              text=True, timeout=60)
    assert proc.returncode == 1
    assert "FAILED to open the lab" in proc.stdout and "vendor ALP" in proc.stdout


def test_the_mir_reference_channel_over_the_wire(tmp_path):
    """A twin with a reference channel serves its lock-in as a second SR830: the lab
    configuration names it, the hardware lab follows the signal lock-in's filter on it
    and every reading of a raster records it, proportional to the MIR power."""
    import h5py

    recipe = _recipe(n=4)
    with start_emulated_bench(SimConfig(reference_channel=True), dynamics=FAST) as bench:
        bench.lab.source.power_mW = 200.0
        text = bench.lab_config_toml()
        assert "[reference_lockin]" in text
        with HardwareLab(parse_lab_config(text)) as lab:
            reference = lab.capabilities().reference
            assert reference is not None
            run_raster(lab, recipe, tmp_path / "hw.h5", progress=False)
            # the reference lock-in was set over the wire to the signal lock-in's filter
            assert bench.lab.reference.lockin.time_constant_s == pytest.approx(0.003)
            bench.lab.source.power_mW = 100.0
            expected = bench.lab.reference.expected_V()
            deadline = time.monotonic() + 60.0  # the filter settles on the wall clock
            while True:  # (30 time constants: 0.1 s; a generous bound for a busy machine)
                half = reference.read_xy().x_V
                if abs(half / expected - 1) < 0.05 or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
    with h5py.File(tmp_path / "hw.h5", "r") as f:
        ref = f["/entry/reference"][()]
    assert len(ref) == 16 and np.all(ref["X_V"] > 0)
    assert np.median(ref["X_V"]) == pytest.approx(2 * expected, rel=0.05)
    assert half == pytest.approx(expected, rel=0.05)  # follows the MIR power
