"""Faults injected in the simulated lab: each is ridden out or stops the scan cleanly,
and every one is in the file's event log."""

import json

import h5py
import numpy as np
import pytest

from imager.cli import main
from imager.engine import run_raster
from imager.engine.faults import FaultPolicy, ScanFault, next_sensitivity_V
from imager.recipes import RecipeError, default_recipe
from imager.sim import simulated_lab_for
from reconstruction import load_raster
from reconstruction.events import load_events
from stages import StageError


def _recipe(n=6):
    return default_recipe(scan={"nx": n, "ny": n, "x_start_um": 12450.0, "x_stop_um": 12550.0,
                                "y_start_um": 12450.0, "y_stop_um": 12550.0})


def _events(path):
    return [(e.kind, e.index, e.message) for e in load_events(path)]


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


def test_power_drop_pauses_and_remeasures(tmp_path):
    reference, result = _run(tmp_path, lambda f: None, name="ref.h5")
    lab, result = _run(tmp_path, lambda f: f.power_drop(at_point=10, duration_s=5.0,
                                                        fraction=0.6))
    assert result.exit_status == "success" and lab.faults.fired == [("power_drop", 10)]
    events = _events(tmp_path / "s.h5")
    assert [(k, i) for k, i, _ in events] == [("power_drop", 10), ("power_ok", 10)]
    assert "40% below" in events[0][2]
    points = load_raster(tmp_path / "s.h5").points
    assert points["t_lab_s"][10] - points["t_lab_s"][9] > 5.0
    # a bright point: the re-measured value is the undisturbed scan's, not the sagged 60 %
    ref_points = load_raster(tmp_path / "ref.h5").points
    assert ref_points["X_V"][10] > 1e-4
    assert points["X_V"][10] == pytest.approx(ref_points["X_V"][10], rel=0.05)
    assert lab.source.output_fraction == 1.0


def test_power_drop_that_lasts_stops_cleanly(tmp_path):
    policy = FaultPolicy(max_power_wait_s=20.0)
    with pytest.raises(ScanFault, match="MIR power more than 10% below"):
        _run(tmp_path, lambda f: f.power_drop(at_point=4, duration_s=1e4, fraction=0.5),
             policy=policy)
    scan = load_raster(tmp_path / "s.h5")
    assert scan.exit_status == "fail" and scan.points_done == 4
    assert [k for k, _, _ in _events(tmp_path / "s.h5")] == ["power_drop", "power_drop", "stop"]


def test_small_power_wobble_is_not_a_drop(tmp_path):
    lab, result = _run(tmp_path, lambda f: f.power_drop(at_point=4, duration_s=1e4,
                                                        fraction=0.95))
    assert result.exit_status == "success" and _events(tmp_path / "s.h5") == []


def test_dark_scan_is_not_monitored(tmp_path):
    recipe = _recipe()
    lab = simulated_lab_for(recipe)
    lab.source.on = False
    run_raster(lab, recipe, tmp_path / "s.h5", progress=False)
    (kind, index, message), = _events(tmp_path / "s.h5")
    assert kind == "power" and "not monitoring" in message


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


def test_info_shows_the_event_log(tmp_path, capsys):
    _run(tmp_path, lambda f: f.power_drop(at_point=10, duration_s=5.0, fraction=0.6))
    assert main(["info", str(tmp_path / "s.h5")]) == 0
    out = capsys.readouterr().out
    assert "events:   2 (power_drop x1, power_ok x1)" in out
    assert "point 10, lab " in out and "power_ok: MIR power back" in out
    assert main(["info", "--json", str(tmp_path / "s.h5")]) == 0
    info = json.loads(capsys.readouterr().out)
    assert [e["kind"] for e in info["events"]] == ["power_drop", "power_ok"]


def test_info_lists_the_last_ten_events_unless_asked(tmp_path, capsys):
    _run(tmp_path, lambda f: f.lockin_timeout(at_point=3, count=3) or
         f.garbled_reply(at_point=20, count=3) or f.overload(at_point=30),
         policy=FaultPolicy(max_read_retries=5))
    with h5py.File(tmp_path / "s.h5", "a") as f:  # a long log
        events = f["entry/events"]
        n = events.shape[0]
        events.resize((n + 8,))
        events[n:] = events[0]
    assert len(load_events(tmp_path / "s.h5")) == 15
    assert main(["info", str(tmp_path / "s.h5")]) == 0
    out = capsys.readouterr().out
    assert "events:   15 (read_error x14, overload x1)" in out
    assert "... 5 earlier (--events shows all)" in out and out.count("read_error: ") == 9
    assert main(["info", "--events", str(tmp_path / "s.h5")]) == 0
    assert capsys.readouterr().out.count("read_error: ") == 14


def test_info_survives_a_malformed_event_log(tmp_path, capsys):
    _run(tmp_path, lambda f: f.overload(at_point=2))
    with h5py.File(tmp_path / "s.h5", "a") as f:
        del f["entry/events"]
        f["entry/events"] = np.arange(3.0)
    assert main(["info", str(tmp_path / "s.h5")]) == 0
    assert "/entry/events is not an event log" in capsys.readouterr().out


def test_recipe_faults_section_sets_the_bounds(tmp_path):
    recipe = default_recipe(scan={"nx": 6, "ny": 6, "x_start_um": 12450.0,
                                  "x_stop_um": 12550.0, "y_start_um": 12450.0,
                                  "y_stop_um": 12550.0},
                            faults={"max_power_drop_fraction": 0.5, "max_unlock_wait_s": 5.0})
    lab = simulated_lab_for(recipe)
    lab.faults.power_drop(at_point=3, duration_s=100.0, fraction=0.6)  # 40 %: tolerated
    lab.faults.reference_unlock(at_point=8, duration_s=100.0)
    with pytest.raises(ScanFault, match="unlocked for more than 5 s"):
        run_raster(lab, recipe, tmp_path / "s.h5", progress=False)
    assert [k for k, _, _ in _events(tmp_path / "s.h5")] == ["unlock", "unlock", "stop"]


def test_bad_faults_section_is_a_one_line_recipe_error():
    with pytest.raises(RecipeError, match=r"\[faults\] max_power_drop_fraction: must be in "
                                          r"\[0.01, 0.9\]"):
        default_recipe(faults={"max_power_drop_fraction": 1.5})
