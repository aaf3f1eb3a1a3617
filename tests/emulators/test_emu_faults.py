"""Faults through the emulator path: the real drivers see the wire-level fault and the
engine rides it out (or stops cleanly), each recorded in the scan's event log.

Nothing here depends on how fast the machine is. A fault starts and ends at given
lock-in reads or stage moves, not after so many seconds; replies that must come are
awaited for up to :data:`PATIENCE_S`, and the lock-in's timeout is short
(:data:`NO_REPLY_S`) only for the reads that cannot be answered; a stage move that a
fault must hit half way crawls (minutes), and the fault waits until it has started.
"""

import contextlib
import dataclasses
import threading
import time

import numpy as np
import pytest

from imager.cli.main import main
from imager.drivers import SR830
from imager.emulators.bench import start_emulated_bench
from imager.emulators.fault_schedule import ScheduledFault, fire, on_call
from imager.emulators.serve import serve_lockin_tcp
from imager.engine import run_raster
from imager.engine.faults import FaultPolicy, ScanFault
from imager.labconfig import HardwareLab, parse_lab_config
from imager.recipes import default_recipe
from imager.sim import simulated_lab_for
from imager.sim.lab import SimConfig
from reconstruction import correlation, load_raster
from reconstruction.events import load_events
from stages import StageError
from stages.apt import AptStage
from stages.simulated import StageDynamics

FAST = StageDynamics(velocity_um_per_s=48000.0, acceleration_um_per_s2=600000.0, settle_s=0.005)
#: I/O timeout for replies that come (the lab configuration allows up to 60 s).
PATIENCE_S = 60.0
#: I/O timeout for reads that cannot be answered: the time a read takes to fail.
NO_REPLY_S = 0.3


def _patient(config_toml):
    """A lab configuration whose lock-in and power meter wait a minute for a reply."""
    return (config_toml.replace("[lockin]\n", f"[lockin]\ntimeout_s = {PATIENCE_S:g}\n")
            .replace("[power_meter]\n", f"[power_meter]\ntimeout_s = {PATIENCE_S:g}\n"))


def _wait_for(predicate, what):
    end = time.monotonic() + PATIENCE_S
    while not predicate():
        assert time.monotonic() < end, f"{what}: not within {PATIENCE_S:g} s"
        time.sleep(0.005)


def _crawl(apt):
    """Make the next move of ``apt``'s axis take minutes (25 um at 0.1 um/s)."""
    stage = apt.axes[0].stage
    stage.dynamics = dataclasses.replace(stage.dynamics, velocity_um_per_s=0.1)


def _when_moving(apt, fault):
    """Wait until ``apt``'s axis has started its (crawling) move, then ``fault(apt)``."""
    _wait_for(lambda: apt.axes[0].busy, "the stage move never started")
    fault(apt)


def _recipe():
    return default_recipe(
        scan={"nx": 5, "ny": 4, "x_start_um": 12450.0, "x_stop_um": 12550.0,
              "y_start_um": 12450.0, "y_stop_um": 12550.0},
        lockin={"time_constant_s": 0.003, "sensitivity_V": 0.005}, source={"power_mW": 200.0})


def _events(path):
    return [(e.kind, e.index, e.message) for e in load_events(path)]


def _run_with(tmp_path, fault, at_read=6, via="tcp", policy=None, unanswered=0, later=None):
    """Run a raster through the real drivers; ``fault(bench)`` fires at the given read.

    ``unanswered`` reads from ``at_read`` on cannot be answered: the lock-in's timeout is
    :data:`NO_REPLY_S` for them, :data:`PATIENCE_S` for every other read. ``later``
    maps ``k`` to ``action(bench)`` run just before read ``at_read + k`` (a fault's end).
    Returns the scan result (or the exception that stopped it), the lock-in driver and
    the bench (both closed by then).
    """
    with start_emulated_bench(SimConfig(), dynamics=FAST) as bench:
        bench.lab.source.power_mW = 200.0
        text = _patient(bench.lab_config_toml(lockin_via=via))
        with HardwareLab(parse_lab_config(text)) as lab, contextlib.ExitStack() as stack:
            link = lab.lockin.link

            def start():
                if unanswered:  # set first: a hung-up port can no longer be configured
                    link.timeout_s = NO_REPLY_S
                fault(bench)

            actions = {0: start, **{k: (lambda a=a: a(bench)) for k, a in (later or {}).items()}}
            if unanswered:
                actions[unanswered] = _then(actions.get(unanswered),
                                            lambda: setattr(link, "timeout_s", PATIENCE_S))
            for k, action in actions.items():
                stack.enter_context(on_call(lab.lockin, "read_xy", at_read + k, action))
            try:
                result = run_raster(lab, _recipe(), tmp_path / "s.h5", progress=False,
                                    faults=policy)
            except Exception as exc:  # noqa: BLE001 - the caller checks what stopped it
                result = exc
        return result, lab.lockin, bench


def _then(first, second):
    """``first()`` (if any), then ``second()``."""
    return lambda: (first and first(), second())


def _scan_with(tmp_path, fault, at_read=6, policy=None, unanswered=0, later=None):
    """Like :func:`_run_with`, for a scan that must complete: its result."""
    result, _, _ = _run_with(tmp_path, fault, at_read, policy=policy, unanswered=unanswered,
                             later=later)
    assert not isinstance(result, BaseException), result
    return result


@pytest.fixture(scope="module")
def reference_image(tmp_path_factory):
    """The recipe's image from the simulated lab (the twin behind the emulators)."""
    path = tmp_path_factory.mktemp("ref") / "sim.h5"
    return run_raster(simulated_lab_for(_recipe()), _recipe(), path, progress=False).image_V


def _assert_undisturbed_quality(result, reference_image):
    """Every point good and the image as close to the twin's as an undisturbed run (0.996)."""
    assert result.exit_status == "success" and result.points_done == 20
    assert np.all(load_raster(result.path).points["status"] == 0)
    assert correlation(result.image_V, reference_image) >= 0.99


@pytest.mark.parametrize("fault, needle, unanswered", [
    (lambda b: b.lockin_tcp.faults.drop_next_reply(1), "Timeout", 1),
    (lambda b: b.lockin_tcp.faults.garble_next_reply(1), "unexpected reply", 0),
])
def test_dropped_or_garbled_lockin_reply_is_retried(tmp_path, fault, needle, unanswered):
    result = _scan_with(tmp_path, fault, unanswered=unanswered)
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


@pytest.mark.parametrize("fault, needle", [
    (lambda apt: apt.inject_motion_error(), "stage_x: "),
    (lambda apt: apt.trigger_limit_switch(forward=True), "stage_x: forward limit switch hit"),
])
def test_apt_motion_error_or_limit_switch_stops_the_scan_and_keeps_the_data(tmp_path, fault,
                                                                            needle):
    with start_emulated_bench(SimConfig(), dynamics=FAST) as bench:
        with HardwareLab(parse_lab_config(_patient(bench.lab_config_toml()))) as lab, \
                on_call(lab.stage_x, "move_to", 4, lambda: _crawl(bench.apt_x)), \
                on_call(lab.stage_x, "move_to", 4, lambda: _when_moving(bench.apt_x, fault),
                        after=True):  # fault the 4th x move half way
            with pytest.raises(StageError, match=needle) as info:
                run_raster(lab, _recipe(), tmp_path / "s.h5", progress=False)
    scan = load_raster(tmp_path / "s.h5")
    assert scan.exit_status == "fail" and scan.points_done == 3
    assert scan.attrs["error_message"].endswith(str(info.value))
    assert np.isfinite(scan.points["X_V"][:3]).all() and scan.points["done"][:3].all()
    events = _events(tmp_path / "s.h5")
    assert [k for k, _, _ in events] == ["stop"] and needle in events[0][2]


def _read_errors(path):
    events = _events(path)
    assert {k for k, _, _ in events} == {"read_error"}, events
    assert {i for _, i, _ in events} == {5}
    return [m for _, _, m in events]


def test_lockin_connection_dropped_is_reopened_and_the_scan_completes(tmp_path,
                                                                      reference_image):
    # the closed socket is found out when the read times out
    result, lockin, _ = _run_with(tmp_path, lambda b: b.lockin_tcp.disconnect_clients(),
                                  unanswered=1)
    _assert_undisturbed_quality(result, reference_image)
    (message,) = _read_errors(tmp_path / "s.h5")
    assert "connection lost during 'SNAP?1,2' (the instrument closed the connection)" in message
    assert lockin.link.reconnects == 1 and lockin.restored_after_reconnect == ()


def test_lockin_switched_off_and_on_again_is_restored_and_the_scan_completes(
        tmp_path, reference_image):
    ports = []

    def switch_off(bench):
        ports.append(bench.lockin_tcp.port)
        bench.lockin_tcp.close()  # off: connections refused
        bench.lockin.execute("*RST")  # back with power-on settings

    def switch_on(bench):
        bench.lockin_tcp = serve_lockin_tcp(bench.lockin, port=ports[0])

    # the 1st try finds the socket closed (at its timeout), the 2nd is refused; on again
    # before the 3rd
    result, lockin, bench = _run_with(tmp_path, switch_off, unanswered=1,
                                      later={2: switch_on})
    _assert_undisturbed_quality(result, reference_image)
    messages = _read_errors(tmp_path / "s.h5")
    assert len(messages) == 2  # closed, then refused until it is on again
    assert "the instrument closed the connection" in messages[0]
    assert "reconnecting failed: ConnectionRefusedError" in messages[1]
    assert lockin.link.reconnects == 1
    assert {"OFLT", "SENS", "FMOD"} <= set(lockin.restored_after_reconnect)
    assert bench.lockin.time_constant_s == pytest.approx(0.003)
    assert load_raster(tmp_path / "s.h5").settings["lockin"]["sensitivity_V"] == 0.005


def test_serial_cable_pulled_reads_time_out_until_it_is_back(tmp_path, reference_image):
    def pull_cable(bench):  # nothing reaches the instrument's RS-232 ...
        bench.lockin_pty.faults.drop_next_reply(10**6)

    def plug_in(bench):  # ... for two reads
        bench.lockin_pty.faults.clear()

    result, lockin, _ = _run_with(tmp_path, pull_cable, via="pty", unanswered=2,
                                  later={2: plug_in})
    _assert_undisturbed_quality(result, reference_image)
    messages = _read_errors(tmp_path / "s.h5")
    assert len(messages) == 2
    assert all("InstrumentTimeoutError" in m and "ASRL" in m for m in messages)
    assert lockin.link.reconnects == 0


@pytest.mark.parametrize("via, unplug, needle", [
    ("tcp", lambda b: b.lockin_tcp.close(), "ConnectionRefusedError"),
    ("pty", lambda b: b.lockin_pty.hang_up(), "could not open port"),
])
def test_lockin_gone_for_good_stops_after_bounded_retries_and_keeps_the_data(
        tmp_path, via, unplug, needle):
    error, lockin, _ = _run_with(tmp_path, unplug, via=via, unanswered=4)
    assert isinstance(error, ScanFault)
    assert str(error).startswith("point 5: lock-in read failed 4 times: SR830 at ")
    assert needle in str(error) and "\n" not in str(error)
    scan = load_raster(tmp_path / "s.h5")
    assert scan.exit_status == "fail" and scan.points_done == 5
    assert "lock-in read failed 4 times" in scan.attrs["error_message"]
    events = _events(tmp_path / "s.h5")
    assert [(k, i) for k, i, _ in events[:4]] == [("read_error", 5)] * 4
    assert [k for k, _, _ in events[4:]] == ["stop"]
    assert "connection lost during 'SNAP?1,2'" in events[0][2]
    assert all("reconnecting failed" in m for _, _, m in events[1:4])
    assert lockin.link.reconnects == 0


def _fire_at_call(monkeypatch, cls, name, n, fault, before=True, which=lambda self: True):
    """Count ``cls.<name>`` calls (on instances ``which`` accepts); the ``n``-th runs
    ``fault(instance)`` before (or after) the call."""
    original, calls = getattr(cls, name), {"n": 0}

    def wrapper(self, *args):
        fire = False
        if which(self):
            calls["n"] += 1
            fire = calls["n"] == n
        if fire and before:
            fault(self)
        out = original(self, *args)
        if fire and not before:
            fault(self)
        return out

    monkeypatch.setattr(cls, name, wrapper)


@pytest.mark.parametrize("fault", ["lockin gone", "limit switch"])
def test_cli_reports_a_hardware_fault_in_one_line_and_exits_1(tmp_path, capsys, monkeypatch,
                                                             fault):
    recipe = tmp_path / "r.toml"
    recipe.write_text('name = "hw"\n[scan]\nnx = 5\nny = 4\nx_start_um = 12450\n'
                      'x_stop_um = 12550\ny_start_um = 12450\ny_stop_um = 12550\n'
                      '[lockin]\ntime_constant_s = 0.003\nsensitivity_V = 0.005\n'
                      '[source]\npower_mW = 200\n')
    out, config = tmp_path / "hw.h5", tmp_path / "lab.toml"
    with start_emulated_bench(SimConfig(), dynamics=FAST) as bench:
        bench.lab.source.power_mW = 200.0
        config.write_text(_patient(bench.lab_config_toml()))

        def unplug(lockin):  # found out at the next read's timeout, then refused
            lockin.link.timeout_s = NO_REPLY_S
            bench.lockin_tcp.close()

        def limit_switch(_axis):
            _when_moving(bench.apt_x, lambda apt: apt.trigger_limit_switch(forward=True))

        if fault == "lockin gone":
            _fire_at_call(monkeypatch, SR830, "read_xy", 6, unplug)
            done, needle = 5, "point 5: lock-in read failed 4 times: SR830 at TCPIP::"
        else:  # trip the switch half way through the 4th x move, made to crawl
            _fire_at_call(monkeypatch, AptStage, "move_to", 4, lambda _: _crawl(bench.apt_x),
                          which=lambda axis: axis.name == "stage_x")
            _fire_at_call(monkeypatch, AptStage, "move_to", 4, limit_switch, before=False,
                          which=lambda axis: axis.name == "stage_x")
            done, needle = 3, "stage_x: forward limit switch hit"
        status = main(["scan", str(recipe), "--lab", str(config), "-o", str(out),
                       "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert status == 1
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(f"mirimager scan: scan stopped: {needle}"), err
    assert "mirimager resume" in err
    scan = load_raster(out)
    assert scan.exit_status == "fail" and scan.points_done == done


def test_power_drop_over_the_wire_pauses_until_the_power_is_back(tmp_path):
    def sag(bench):
        end = fire(bench, ScheduledFault("power-drop", 0.0, 1.0, fraction=0.4))
        threading.Timer(1.0, end).start()

    policy = FaultPolicy(power_poll_s=0.1)
    result = _scan_with(tmp_path, sag, policy=policy)
    assert result.exit_status == "success" and result.points_done == 20
    events = _events(tmp_path / "s.h5")
    assert [(k, i) for k, i, _ in events] == [("power_drop", 5), ("power_ok", 5)]
    assert "60% below" in events[0][2]
    scan = load_raster(tmp_path / "s.h5")
    assert scan.settings["power_meter"]["sensor"] == "S401C"
    assert scan.points["t_wall_s"][5] - scan.points["t_wall_s"][4] >= 0.9
    assert scan.settings["power_meter"]["kind"] == "pm100"


def test_power_drop_that_lasts_stops_the_scan_over_the_wire(tmp_path):
    policy = FaultPolicy(power_poll_s=0.1, max_power_wait_s=0.6)
    error, _, _ = _run_with(
        tmp_path, lambda b: fire(b, ScheduledFault("power-drop", 0, 60, fraction=0.5)),
        policy=policy)
    assert isinstance(error, ScanFault) and "MIR power more than 10% below" in str(error)
    scan = load_raster(tmp_path / "s.h5")
    assert scan.exit_status == "fail" and scan.points_done == 5
    assert [k for k, _, _ in _events(tmp_path / "s.h5")] == ["power_drop", "power_drop", "stop"]


def test_input_overload_over_the_wire_ranges_up_and_remeasures(tmp_path):
    ends = []

    def spike(bench):  # seen by one read, over before the next
        ends.append(fire(bench, ScheduledFault("overload", 0.0, 0.0)))

    result = _scan_with(tmp_path, spike, later={1: lambda bench: ends[0]()})
    assert result.exit_status == "success"
    events = _events(tmp_path / "s.h5")
    assert events and {k for k, _, _ in events} == {"overload"}
    assert events[0][1] == 5 and "INPUT_OVERLOAD" in events[0][2]
    assert "input overload" in events[0][2]  # the output range is left alone
    assert result.points_done == 20
    assert load_raster(tmp_path / "s.h5").points["status"][5] == 0
