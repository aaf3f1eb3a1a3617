"""Faults injected in the simulated lab: each is ridden out or stops the scan cleanly,
and every one is in the file's event log."""

import h5py
import numpy as np
import pytest

from imager.cli import main
from imager.engine import run_raster
from imager.engine.faults import FaultPolicy, ScanFault, next_sensitivity_V
from imager.lab import simulated_lab_for
from imager.recipes import default_recipe
from reconstruction import load_raster
from stages import StageError


def _recipe(n=6):
    return default_recipe(scan={"nx": n, "ny": n, "x_start_um": 12450.0, "x_stop_um": 12550.0,
                                "y_start_um": 12450.0, "y_stop_um": 12550.0})


def _events(path):
    with h5py.File(path, "r") as f:
        if "events" not in f["entry"]:
            return []
        return [(e["kind"].decode(), int(e["index"]), e["message"].decode())
                for e in f["entry/events"][()]]


def _run(tmp_path, schedule, name="s.h5", policy=None):
    recipe = _recipe()
    lab = simulated_lab_for(recipe)
    schedule(lab.faults)
    result = run_raster(lab, recipe, tmp_path / name, progress=False, faults=policy)
    return lab, result


@pytest.mark.parametrize("kind", ["lockin_timeout", "garbled_reply"])
def test_read_faults_are_retried(tmp_path, kind):
    lab, result = _run(tmp_path, lambda f: getattr(f, kind)(at_point=7, count=2))
    assert result.exit_status == "success" and result.points_done == 36
    events = _events(tmp_path / "s.h5")
    assert [(k, i) for k, i, _ in events] == [("read_error", 7), ("read_error", 7)]
    expected = {"lockin_timeout": "timeout", "garbled_reply": "garbled"}[kind]
    assert lab.faults.fired == [(expected, 7)] * 2


def test_disconnect_and_reconnect(tmp_path):
    policy = FaultPolicy(max_read_retries=5, retry_wait_s=0.5)
    _, result = _run(tmp_path, lambda f: f.disconnect(at_point=3, duration_s=1.2), policy=policy)
    assert result.exit_status == "success"
    kinds = [k for k, _, _ in _events(tmp_path / "s.h5")]
    assert kinds == ["read_error"] * 3  # 0, 0.5 and 1.0 s after the drop; back at 1.5 s


def test_overload_ranges_up_and_remeasures(tmp_path):
    lab, result = _run(tmp_path, lambda f: f.overload(at_point=10))
    assert result.exit_status == "success"
    (kind, index, message), = _events(tmp_path / "s.h5")
    assert (kind, index) == ("overload", 10) and "0.001 -> 0.002 V" in message
    assert lab.lockin.sensitivity_V == pytest.approx(2e-3)
    points = load_raster(tmp_path / "s.h5").points
    assert points["status"][10] == 0  # the re-measured point is clean
    assert np.isfinite(result.image_V).all()


def test_unlock_pauses_until_the_chopper_relocks(tmp_path):
    _, result = _run(tmp_path, lambda f: f.reference_unlock(at_point=5, duration_s=4.0))
    assert result.exit_status == "success"
    kinds = [(k, i) for k, i, _ in _events(tmp_path / "s.h5")]
    assert kinds == [("unlock", 5), ("relock", 5)]
    points = load_raster(tmp_path / "s.h5").points
    assert points["status"][5] == 0
    assert points["t_lab_s"][5] - points["t_lab_s"][4] > 4.0


def test_unlock_too_long_stops_cleanly(tmp_path):
    policy = FaultPolicy(max_unlock_wait_s=10.0)
    with pytest.raises(ScanFault, match="unlocked for more than 10 s"):
        _run(tmp_path, lambda f: f.reference_unlock(at_point=5, duration_s=100.0), policy=policy)
    scan = load_raster(tmp_path / "s.h5")
    assert scan.exit_status == "fail" and scan.points_done == 5
    assert [k for k, _, _ in _events(tmp_path / "s.h5")] == ["unlock", "unlock", "stop"]


@pytest.mark.parametrize("detail", ["motion error", "limit switch"])
def test_stage_fault_stops_and_keeps_the_data(tmp_path, detail):
    recipe = _recipe()
    lab = simulated_lab_for(recipe)
    lab.faults.stage_error(at_point=20, detail=detail)
    with pytest.raises(StageError, match=detail):
        run_raster(lab, recipe, tmp_path / "s.h5", progress=False)
    scan = load_raster(tmp_path / "s.h5")
    assert scan.exit_status == "fail" and detail in scan.attrs["error_message"]
    assert scan.points_done == 20
    assert not lab.source.on


def test_sensitivity_ladder():
    assert next_sensitivity_V(1e-3) == pytest.approx(2e-3)
    assert next_sensitivity_V(2e-3) == pytest.approx(5e-3)
    assert next_sensitivity_V(5e-3) == pytest.approx(1e-2)
    assert next_sensitivity_V(1.0) is None


def test_cli_reports_a_stopped_scan_in_one_line(tmp_path, capsys, monkeypatch):
    from imager.sim.lab import SimulatedLab

    original = SimulatedLab.__init__

    def faulty_init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.faults.stage_error(at_point=3)

    monkeypatch.setattr(SimulatedLab, "__init__", faulty_init)
    path = tmp_path / "c.h5"
    assert main(["demo", "--size", "4", "-o", str(path), "--no-progress"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("mirimager demo: scan stopped: stage_x: motion error")
    assert "mirimager resume" in err
    assert load_raster(path).points_done == 3
