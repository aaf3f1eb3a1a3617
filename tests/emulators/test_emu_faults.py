"""Faults through the emulator path: the real drivers see the wire-level fault and the
engine rides it out (or stops cleanly), each recorded in the scan's event log."""

import threading
import time

import h5py
import pytest

from imager.emulators.bench import start_emulated_bench
from imager.engine import run_raster
from imager.labconfig import HardwareLab, parse_lab_config
from imager.recipes import default_recipe
from imager.sim.lab import SimConfig
from reconstruction import load_raster
from stages import StageError
from stages.simulated import StageDynamics

FAST = StageDynamics(velocity_um_per_s=48000.0, acceleration_um_per_s2=600000.0, settle_s=0.005)


def _recipe():
    return default_recipe(
        scan={"nx": 5, "ny": 4, "x_start_um": 12450.0, "x_stop_um": 12550.0,
              "y_start_um": 12450.0, "y_stop_um": 12550.0},
        lockin={"time_constant_s": 0.003, "sensitivity_V": 0.005}, source={"power_mW": 200.0})


def _events(path):
    with h5py.File(path, "r") as f:
        return [(e["kind"].decode(), int(e["index"]), e["message"].decode())
                for e in f["entry/events"][()]]


def _scan_with(tmp_path, fault, at_read=6):
    """Run a raster through the real drivers; ``fault(bench)`` fires at the given read."""
    with start_emulated_bench(SimConfig(), dynamics=FAST) as bench:
        bench.lab.source.power_mW = 200.0
        text = bench.lab_config_toml().replace("[lockin]\n", "[lockin]\ntimeout_s = 0.3\n")
        with HardwareLab(parse_lab_config(text)) as lab:
            original, calls = lab.lockin.read_xy, {"n": 0}

            def read_xy():
                calls["n"] += 1
                if calls["n"] == at_read:
                    fault(bench)
                return original()

            lab.lockin.read_xy = read_xy
            try:
                return run_raster(lab, _recipe(), tmp_path / "s.h5", progress=False)
            finally:
                lab.lockin.read_xy = original


@pytest.mark.parametrize("fault, needle", [
    (lambda b: b.lockin_tcp.faults.drop_next_reply(1), "Timeout"),
    (lambda b: b.lockin_tcp.faults.garble_next_reply(1), "unexpected reply"),
])
def test_dropped_or_garbled_lockin_reply_is_retried(tmp_path, fault, needle):
    result = _scan_with(tmp_path, fault)
    assert result.exit_status == "success" and result.points_done == 20
    events = _events(tmp_path / "s.h5")
    assert [(k, i) for k, i, _ in events] == [("read_error", 5)]
    assert needle in events[0][2]


def test_chopper_stopped_over_the_wire_pauses_until_it_runs_again(tmp_path):
    def stop_chopper(bench):
        bench.lab.chopper.enabled = False
        threading.Timer(1.5, lambda: setattr(bench.lab.chopper, "enabled", True)).start()

    result = _scan_with(tmp_path, stop_chopper)
    assert result.exit_status == "success"
    kinds = [(k, i) for k, i, _ in _events(tmp_path / "s.h5")]
    assert kinds == [("unlock", 5), ("relock", 5)]
    assert load_raster(tmp_path / "s.h5").points["status"][5] == 0


def test_apt_motion_error_stops_the_scan_and_keeps_the_data(tmp_path):
    slow = StageDynamics(velocity_um_per_s=100.0, acceleration_um_per_s2=1e5, settle_s=0.005)
    recipe = _recipe()
    with start_emulated_bench(SimConfig(), dynamics=slow) as bench:
        with HardwareLab(parse_lab_config(bench.lab_config_toml())) as lab:
            original, calls = lab.stage_x.move_to, {"n": 0}

            def move_to(x_um):
                original(x_um)
                calls["n"] += 1
                if calls["n"] == 4:  # a 25 um move takes 0.25 s: fault it half way
                    time.sleep(0.1)
                    bench.apt_x.inject_motion_error()

            lab.stage_x.move_to = move_to
            with pytest.raises(StageError, match="stage_x"):
                run_raster(lab, recipe, tmp_path / "s.h5", progress=False)
    scan = load_raster(tmp_path / "s.h5")
    assert scan.exit_status == "fail" and scan.points_done == 3
    assert "stage_x" in scan.attrs["error_message"]
    assert [k for k, _, _ in _events(tmp_path / "s.h5")] == ["stop"]
