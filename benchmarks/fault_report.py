"""Fault report: every fault kind, injected through the simulated lab and through the emulators.

Run:  python benchmarks/fault_report.py          (about a minute)

Not a speed benchmark: a drill. A 5x4 raster runs once per fault and path.
"Simulated" schedules the fault in the twin (``lab.faults``); "emulated" fires
it into the wire-level emulators while the real drivers (thorlabs-apt-device,
pyvisa-py, thorlabs-mc2000b, the PM100 over SCPI) run the scan. Each row says
what the scan must do -- ride the fault out (``success``, every point) or stop
cleanly (``fail``, every point before the fault kept, the file readable) --
what it did, and what the event log inside the file recorded. The SIGKILL
trials are a test: ``python -m pytest -s tests/imager/test_kill_trials.py``.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from imager.emulators.bench import start_emulated_bench
from imager.emulators.fault_schedule import ScheduledFault, fire, on_call
from imager.engine import run_raster
from imager.engine.faults import FaultPolicy
from imager.labconfig import HardwareLab, parse_lab_config
from imager.recipes import default_recipe
from imager.sim import simulated_lab_for
from imager.sim.lab import SimConfig
from reconstruction import load_raster
from reconstruction.events import load_events
from stages.simulated import StageDynamics

FAST = StageDynamics(velocity_um_per_s=48000.0, acceleration_um_per_s2=600000.0, settle_s=0.005)
SLOW = StageDynamics(velocity_um_per_s=100.0, acceleration_um_per_s2=1e5, settle_s=0.005)
POLICY = FaultPolicy(max_read_retries=5, retry_wait_s=0.5, max_unlock_wait_s=10.0,
                     unlock_poll_s=0.2, max_power_wait_s=10.0, power_poll_s=0.2)
FAULT_AT = 5  # plan point (simulated) / 6th lock-in read (emulated)


def _recipe():
    return default_recipe(
        scan={"nx": 5, "ny": 4, "x_start_um": 12450.0, "x_stop_um": 12550.0,
              "y_start_um": 12450.0, "y_stop_um": 12550.0},
        lockin={"time_constant_s": 0.003, "sensitivity_V": 0.005}, source={"power_mW": 200.0})


# name -> (what the scan must do, schedule on lab.faults)
SIMULATED: dict[str, tuple[str, Callable]] = {
    "read timeout x2": ("ride out", lambda f: f.lockin_timeout(FAULT_AT, count=2)),
    "garbled reply x2": ("ride out", lambda f: f.garbled_reply(FAULT_AT, count=2)),
    "disconnect 1.2 s": ("ride out", lambda f: f.disconnect(FAULT_AT, duration_s=1.2)),
    "output overload": ("ride out", lambda f: f.overload(FAULT_AT)),
    "chopper stopped 4 s": ("ride out", lambda f: f.reference_unlock(FAULT_AT, duration_s=4.0)),
    "chopper stopped for good": ("stop", lambda f: f.reference_unlock(FAULT_AT, 1e4)),
    "MIR power drop 5 s": ("ride out", lambda f: f.power_drop(FAULT_AT, 5.0, fraction=0.5)),
    "MIR power drop for good": ("stop", lambda f: f.power_drop(FAULT_AT, 1e4, fraction=0.5)),
    "stage motion error": ("stop", lambda f: f.stage_error(FAULT_AT, "motion error")),
    "stage limit switch": ("stop", lambda f: f.stage_error(FAULT_AT, "limit switch")),
}


def _later(delay_s: float, action: Callable[[], None]) -> Callable[[], None]:
    return lambda: threading.Timer(delay_s, action).start()


# name -> (what the scan must do, fault(bench) fired at the 6th read, or on a stage move)
EMULATED: dict[str, tuple[str, Callable]] = {
    "read timeout (reply dropped)": ("ride out", lambda b: b.lockin_tcp.faults.drop_next_reply()),
    "garbled reply": ("ride out", lambda b: b.lockin_tcp.faults.garble_next_reply()),
    "TCP connection dropped": ("ride out", lambda b: b.lockin_tcp.disconnect_clients()),
    "input overload (pick-up 10 ms)": ("ride out", lambda b: _later(0.01, fire(
        b, ScheduledFault("overload", 0.0)))()),
    "chopper stopped 1.5 s": ("ride out", lambda b: _later(1.5, fire(
        b, ScheduledFault("chopper-stop", 0.0)))()),
    "chopper stopped for good": ("stop", lambda b: fire(b, ScheduledFault("chopper-stop", 0))),
    "MIR power drop 1 s": ("ride out", lambda b: _later(1.0, fire(
        b, ScheduledFault("power-drop", 0.0, fraction=0.5)))()),
    "MIR power drop for good": ("stop", lambda b: fire(b, ScheduledFault("power-drop", 0))),
    "APT motion error": ("stop", lambda b: b.apt_x.inject_motion_error()),
    "APT limit switch": ("stop", lambda b: b.apt_x.trigger_limit_switch(forward=True)),
}
STAGE_FAULTS = ("APT motion error", "APT limit switch")


def _row(path_name: str, name: str, expect: str, path: Path, error: str, kept: int) -> dict:
    """One line of the table; a clean stop keeps exactly the ``kept`` points before the fault."""
    scan = load_raster(path)  # raises if the file is unreadable
    events = Counter(e.kind for e in load_events(path))
    if expect == "ride out":
        ok = scan.exit_status == "success" and scan.points_done == scan.points_total
    else:  # stopped cleanly: marked fail, the points before the fault kept, a stop event
        ok = (scan.exit_status == "fail" and scan.points_done == kept and events["stop"] == 1
              and bool(error))
    return {"path": path_name, "fault": name, "expect": expect, "status": scan.exit_status,
            "points": f"{scan.points_done}/{scan.points_total}",
            "events": ", ".join(f"{k} x{n}" for k, n in events.items()) or "-",
            "ok": ok}


def simulated_rows(folder: Path) -> list[dict]:
    rows = []
    for i, (name, (expect, schedule)) in enumerate(SIMULATED.items()):
        recipe = _recipe()
        lab = simulated_lab_for(recipe)
        schedule(lab.faults)
        path, error = folder / f"sim{i}.h5", ""
        try:
            run_raster(lab, recipe, path, progress=False, faults=POLICY)
        except Exception as exc:  # noqa: BLE001 - a clean stop is an expected outcome
            error = str(exc)
        rows.append(_row("simulated", name, expect, path, error, kept=FAULT_AT))
    return rows


def emulated_rows(folder: Path) -> list[dict]:
    rows = []
    for i, (name, (expect, fault)) in enumerate(EMULATED.items()):
        stage_fault = name in STAGE_FAULTS
        with start_emulated_bench(SimConfig(), dynamics=SLOW if stage_fault else FAST) as bench:
            bench.lab.source.power_mW = 200.0
            text = bench.lab_config_toml().replace("[lockin]\n", "[lockin]\ntimeout_s = 0.3\n")
            path, error = folder / f"emu{i}.h5", ""
            with HardwareLab(parse_lab_config(text)) as lab:
                def inject(fault=fault, bench=bench, wait_s=0.1 if stage_fault else 0.0):
                    time.sleep(wait_s)
                    fault(bench)

                if stage_fault:  # half way through the 4th x move (25 um at 100 um/s)
                    hook = on_call(lab.stage_x, "move_to", 4, inject, after=True)
                else:
                    hook = on_call(lab.lockin, "read_xy", FAULT_AT + 1, inject)
                with hook:
                    try:
                        run_raster(lab, _recipe(), path, progress=False, faults=POLICY)
                    except Exception as exc:  # noqa: BLE001 - a clean stop is expected
                        error = str(exc)
        rows.append(_row("emulated", name, expect, path, error,
                         kept=3 if stage_fault else FAULT_AT))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("simulated", "emulated"), default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        rows = []
        if args.only != "emulated":
            rows += simulated_rows(folder)
        if args.only != "simulated":
            rows += emulated_rows(folder)
        elapsed = time.perf_counter() - start
    header = f"{'path':<10}| {'fault':<31}| {'must':<9}| {'status':<8}| {'points':<7}| events"
    print(header)
    print("-" * 100)
    for r in rows:
        mark = "" if r["ok"] else "   <-- NOT AS EXPECTED"
        print(f"{r['path']:<10}| {r['fault']:<31}| {r['expect']:<9}| {r['status']:<8}| "
              f"{r['points']:<7}| {r['events']}{mark}")
    ridden = sum(r["ok"] and r["expect"] == "ride out" for r in rows)
    stopped = sum(r["ok"] and r["expect"] == "stop" for r in rows)
    print(f"\nfaults injected: {len(rows)}; ridden out: {ridden}; stopped cleanly with the data "
          f"kept: {stopped}; not as expected: {len(rows) - ridden - stopped}; files readable: "
          f"{len(rows)}/{len(rows)} ({elapsed:.0f} s)")


if __name__ == "__main__":
    main()
