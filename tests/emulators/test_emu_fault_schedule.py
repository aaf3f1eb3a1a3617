"""Faults fired into the emulated lab (the ``mirimager emulate --faults`` machinery), seen by
the real drivers: MIR power drop (PM100 over pyvisa) and input overload (SR830 over TCP)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imager.emulators.bench import start_emulated_bench
from imager.emulators.fault_schedule import (
    FaultRunner,
    parse_fault_schedule,
)
from imager.sim.lab import SimConfig
from reconstruction import load_raster
from reconstruction.events import load_events
from stages.simulated import StageDynamics

FAST = StageDynamics(velocity_um_per_s=48000.0, acceleration_um_per_s2=600000.0, settle_s=0.005)
#: Bound of every wait for something that must happen (a report, a file, a process end).
PATIENCE_S = 60.0


def _events(path):
    return [(e.kind, e.index, e.message) for e in load_events(path)]


def test_parse_schedule():
    faults = parse_fault_schedule("power-drop@40+10=0.3, lockin-timeout@20x2,chopper-stop@30")
    assert [(f.kind, f.at_s) for f in faults] == [("lockin-timeout", 20.0),
                                                  ("chopper-stop", 30.0), ("power-drop", 40.0)]
    assert faults[0].count == 2 and faults[1].duration_s == 5.0
    assert (faults[2].duration_s, faults[2].fraction) == (10.0, 0.3)
    assert parse_fault_schedule("") == []


@pytest.mark.parametrize("text, message", [
    ("bogus@3", "unknown fault 'bogus'"),
    ("chopper-stop", "expected KIND@SECONDS"),
    ("power-drop@3=1.5", "fraction must be in [0, 1)"),
    ("chopper-stop@3=0.5", "only for power-drop"),
    ("lockin-timeout@1x0", "count must be in [1, 1000]"),
])
def test_bad_schedules_are_one_line_errors(text, message):
    with pytest.raises(ValueError, match=r"^--faults: ") as info:
        parse_fault_schedule(text)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_fault_runner_fires_on_time_and_ends_what_it_started():
    with start_emulated_bench(SimConfig(), dynamics=FAST) as bench:
        seen = []  # each report, with the lab's state right after the action it reports

        def report(line):
            seen.append((line, bench.lab.chopper.enabled, bench.lab.source.output_fraction))

        runner = FaultRunner(bench, parse_fault_schedule("chopper-stop@0.1+0.3,"
                                                         "power-drop@0.2+0.2=0.25"),
                             report=report).start()
        deadline = time.monotonic() + PATIENCE_S
        while len(seen) < 4:
            assert time.monotonic() < deadline, f"reports after {PATIENCE_S:g} s: {seen}"
            time.sleep(0.01)
        runner.stop()
    assert runner.fired == ["chopper-stop", "power-drop"]
    lines = [line for line, _, _ in seen]
    assert lines[0].startswith("fault at ") and lines[0].endswith(" s: chopper-stop for 0.3 s")
    assert lines[1].endswith(" s: power-drop to 0.25 for 0.2 s")
    assert sorted(line.split(": ", 1)[1] for line in lines[2:]) == ["end chopper-stop",
                                                                    "end power-drop"]
    # never early (a loaded machine may fire late): the times the runner reports
    fired_s = [float(line.split()[2]) for line in lines]
    assert [t >= at - 0.05 for t, at in zip(fired_s, (0.1, 0.2, 0.4, 0.4), strict=True)] == [
        True] * 4
    assert seen[1][1:] == (False, 0.25)  # both at once: the chopper stop lasts past 0.2 s
    assert seen[3][1:] == (True, 1.0)  # each fault ended by its end action


MIRIMAGER = str(Path(sys.executable).parent / "mirimager")


def test_bad_fault_schedule_on_the_command_line_is_exit_2(tmp_path):
    proc = subprocess.run([MIRIMAGER, "emulate", "--faults", "chopper-stop@5,bogus@1",
                           "--config-out", str(tmp_path / "lab.toml")], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("mirimager emulate: error: --faults: unknown fault 'bogus'; "
                                   "one of lockin-timeout, lockin-garbled, lockin-disconnect, "
                                   "overload, chopper-stop, stage-error, limit-switch, "
                                   "power-drop")
    assert not (tmp_path / "lab.toml").exists()


@pytest.mark.slow
def test_fault_drill_from_the_command_line(tmp_path):
    """``mirimager emulate --faults`` while ``mirimager scan --lab`` runs: the scan rides out a
    dropped reply, an input overload and a MIR power drop, and logs each.

    The schedule runs on the emulator's wall clock from its start, so the times leave
    margins for a loaded machine: the scan's first point comes ~3 s after the emulator
    starts (5.6 s beside two CPU hogs), the first fault at 15 s; the dropped reply costs
    the lock-in timeout (2 s) plus a retry, and the overload lasts 1.5 s so that reads
    surely fall in it; the last fault ends at 25 s, and the 576-point scan runs until
    ~43 s (later on a busy machine)."""
    config = tmp_path / "lab.toml"
    env = {**os.environ, "MPLBACKEND": "Agg"}
    emulate = subprocess.Popen(
        [MIRIMAGER, "emulate", "--fast-stages", "--mir-power-mW", "200", "--config-out",
         str(config), "--faults", "lockin-timeout@15,overload@19+1.5,power-drop@23+2=0.5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + PATIENCE_S
        while not config.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert config.exists(), emulate.stderr.read() if emulate.poll() is not None else ""
        recipe = tmp_path / "r.toml"
        recipe.write_text('name = "drill"\n[scan]\nnx = 24\nny = 24\nx_start_um = 12300\n'
                          'x_stop_um = 12700\ny_start_um = 12350\ny_stop_um = 12650\n'
                          '[lockin]\ntime_constant_s = 0.003\nsensitivity_V = 0.005\n'
                          '[source]\npower_mW = 200\n')
        scan = subprocess.run([MIRIMAGER, "scan", str(recipe), "--lab", str(config), "-o",
                               str(tmp_path / "hw.h5"), "--no-progress"], capture_output=True,
                              text=True, timeout=300, env=env)
        assert scan.returncode == 0, scan.stderr
    finally:
        emulate.send_signal(signal.SIGINT)
        out, err = emulate.communicate(timeout=PATIENCE_S)
    assert emulate.returncode == 0, err
    for line in ("s: lockin-timeout x1", "s: overload for 1.5 s", "s: power-drop to 0.5 for 2 s",
                 "s: end power-drop"):
        assert line in out
    events = _events(tmp_path / "hw.h5")
    kinds = {k for k, _, _ in events}
    assert {"read_error", "overload", "power_drop", "power_ok"} <= kinds, (out, events)
    scan_file = load_raster(tmp_path / "hw.h5")
    assert scan_file.exit_status == "success" and scan_file.points_done == 576
