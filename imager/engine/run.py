"""The engine: one loop that runs any plan on a lab and tells the sinks what happened.

``run_plan(lab, plan, sinks, policy)`` takes the plan's steps
(:mod:`imager.plans.steps`) one at a time, does each on the lab's devices and
sends the reply back into the plan. Lock-in reads go through the fault policy
(:func:`imager.engine.faults.read_point`: retries, re-range, relock, MIR power
pauses); every event and setting change it logs reaches every sink. A stop
request (Ctrl-C, SIGTERM, :class:`StopRequest`) ends the plan at its next
``Checkpoint`` as ``abort``; an exception ends it as ``fail`` (its text in the
file) and propagates. Either way the MIR source is switched off.
"""

from __future__ import annotations

import math
import time
from collections.abc import Generator, Iterable
from contextlib import nullcontext
from typing import Any

import numpy as np

from imager.devices.interfaces import StreamData
from imager.engine.context import PointEvent, RunResult, RunStart, ScanContext
from imager.engine.faults import FaultPolicy, read_point, restore_settings
from imager.engine.power import PowerMonitor
from imager.engine.stop import StopRequest, ctrl_c_stops
from imager.lab import apply_settings
from imager.plans import steps as s

Plan = Generator[Any, Any, Any]


class _Stopped(Exception):
    """A Checkpoint found a stop request."""


def run_plan(lab: Any, plan: Plan, sinks: Iterable[Any] = (), policy: FaultPolicy | None = None,
             *, stop: StopRequest | None = None, handle_ctrl_c: bool = True) -> RunResult:
    """Run ``plan`` on ``lab``; every sink hears what happens.

    Parameters
    ----------
    lab : Lab
        Devices (simulated or real) and their declared capabilities
        (``lab.capabilities()``, :class:`imager.lab.Capabilities`).
    plan : generator
        Yields steps (:mod:`imager.plans.steps`), receives their replies; what it
        returns is ``RunResult.value``.
    sinks : iterable
        Objects with some of the :class:`imager.engine.context.Sink` methods.
    policy : FaultPolicy, optional
        Bounds of the fault handling (default: :class:`FaultPolicy`).
    stop : StopRequest, optional
        Set it (another thread, a signal) to end the run at the next checkpoint.
    handle_ctrl_c : bool
        Turn Ctrl-C and SIGTERM into a stop request while the plan runs (main thread).

    Returns
    -------
    RunResult
        ``status`` "success" or "abort" (stopped); on an exception the sinks
        are closed with "fail" and the exception propagates.
    """
    ctx = ScanContext(lab, lab.capabilities(), tuple(sinks), policy or FaultPolicy(),
                      stop or StopRequest())
    wall_start = time.perf_counter()
    status, error, value = "success", "", None
    handlers = _HANDLERS
    try:
        with ctrl_c_stops(ctx.stop) if handle_ctrl_c else nullcontext():
            reply = None
            try:
                while True:
                    step = plan.send(reply)
                    handler = handlers.get(type(step))
                    if handler is None:
                        raise TypeError(f"plan yielded {step!r}, not a step of "
                                        "imager.plans.steps")
                    reply = handler(ctx, step)
            except StopIteration as end:
                value = end.value
            except _Stopped:
                plan.close()
        if ctx.stop.is_set():
            status, error = "abort", ctx.stop.reason
    except KeyboardInterrupt:
        plan.close()
        status, error = "abort", "interrupted by Ctrl-C"
    except BaseException as exc:
        plan.close()
        message = f"{type(exc).__name__}: {exc}"
        if ctx.opened:
            ctx.log_event("stop", message)
        else:  # a resumed file's restore steps come before Open
            message = f"resume: {message}"
        _finish(ctx, "fail")
        ctx.emit("close", "fail", message)
        raise
    _finish(ctx, status)
    ctx.emit("close", status, error)
    return RunResult(status, error, ctx.points_done, ctx.lab_start_s, ctx.lab_time_s(),
                     time.perf_counter() - wall_start,
                     ctx.run.truth_V if ctx.run is not None else None, value)


def _finish(ctx: ScanContext, status: str) -> None:
    """The plan's ``Finally`` steps, and the MIR source off unless the run succeeded
    (best effort: the run's own outcome matters more)."""
    for step in ctx.finally_steps:
        try:
            _HANDLERS[type(step)](ctx, step)
        except Exception:  # noqa: BLE001
            pass
    if status != "success":
        try:
            ctx.lab.source.on = False
        except Exception:  # noqa: BLE001
            pass


def _device(ctx: ScanContext, name: str) -> Any:
    device = getattr(ctx.lab, name, None)
    if device is None:
        raise AttributeError(f"this lab has no {name}")
    return device


def _configure(ctx: ScanContext, step: s.Configure) -> None:
    apply_settings(ctx.lab, step.recipe)


def _check_travel(ctx: ScanContext, step: s.CheckTravel) -> None:
    ctx.lab.stage.check_within_travel(step.x_um, step.y_um)


def _move(ctx: ScanContext, step: s.Move) -> None:
    ctx.lab.stage.move_to(step.x_um, step.y_um)


def _wait_settled(ctx: ScanContext, step: s.WaitSettled) -> None:
    ctx.lab.stage.wait_settled()


def _position(ctx: ScanContext, step: s.Position) -> tuple[float, float]:
    return ctx.lab.stage.position_um()


def _set(ctx: ScanContext, step: s.Set) -> Any:
    device = _device(ctx, step.device)
    setattr(device, step.attribute, step.value)
    if not step.record:
        return step.value
    actual = getattr(device, step.attribute)  # recorded against the next point's index
    ctx.record_setting(step.device, step.attribute, actual, ctx.points_done,
                       ctx.lab_time_s() if ctx.opened else float("nan"))
    return actual


def _get(ctx: ScanContext, step: s.Get) -> Any:
    return getattr(_device(ctx, step.device), step.attribute)


def _call(ctx: ScanContext, step: s.Call) -> Any:
    method = getattr(_device(ctx, step.device), step.method, None)
    if method is None:
        if step.optional:
            return None
        raise AttributeError(f"this lab's {step.device} has no {step.method}()")
    return method(*step.args, **step.kwargs)


def _dwell(ctx: ScanContext, step: s.Dwell) -> None:
    if step.seconds > 0:
        ctx.lab.clock.sleep(step.seconds)


def _begin_point(ctx: ScanContext, step: s.BeginPoint) -> None:
    sim = ctx.caps.sim
    if sim is not None:
        sim.begin_point(step.index)


def _open(ctx: ScanContext, step: s.Open) -> float:
    lab, sim = ctx.lab, ctx.caps.sim
    ctx.lab_start_s = lab.clock.now_s() if step.lab_start_s is None else step.lab_start_s
    ctx.points_done = step.points_done
    truth = step.truth(sim) if (sim is not None and step.truth is not None) else None
    ctx.run = RunStart(
        kind=step.kind, name=step.name, points_total=step.points_total,
        points_done=step.points_done, lab_start_s=ctx.lab_start_s,
        recipe_text=step.recipe_text, describe=dict(step.describe),
        instruments={name: dev.settings() for name, dev in lab.instruments().items()},
        lab=lab.settings(), truth_V=truth, chart=sim.chart if sim is not None else None)
    ctx.emit("open", ctx.run)
    ctx.opened = True
    ctx.monitor = PowerMonitor.start(ctx.caps.power_meter, lab.clock, ctx, ctx.policy,
                                     ctx.lab_start_s)
    return ctx.lab_start_s


def _read(ctx: ScanContext, step: s.Read) -> Any:
    lab = ctx.lab
    if step.checked:
        reading = read_point(lab, ctx, step.index, step.settle_s, ctx.lab_start_s, ctx.policy,
                             ctx.monitor)
    else:
        reading = lab.lockin.read_xy()
    reference = ctx.caps.reference.read_xy() if ctx.caps.reference is not None else None
    x_um, y_um = step.position_um or lab.stage.position_um()
    ctx.points_done += 1
    event = PointEvent(step.index, step.at, step.head, reading, x_um, y_um,
                       lab.clock.now_s() - ctx.lab_start_s, time.time(), ctx.points_done,
                       reference)
    for method in ctx._fanout["point"]:
        method(event)
    return reading


def _measure_power(ctx: ScanContext, step: s.MeasurePower) -> float:
    meter = ctx.caps.power_meter
    if meter is None:
        return math.nan
    try:
        meter.wavelength_um = float(ctx.lab.source.wavelength_um)
    except (AttributeError, ValueError):  # a meter without a correction wavelength
        pass
    power_mW = float(meter.read_power_mW())
    if ctx.monitor is not None and power_mW > 0.0:
        ctx.monitor.reference_mW = power_mW
    return power_mW


def _emit(ctx: ScanContext, step: s.Emit) -> None:
    ctx.emit("data", step.name, step.payload)
    if step.points:
        ctx.points_done += step.points
        ctx.emit("progress", ctx.points_done, ctx.lab_time_s())


def _checkpoint(ctx: ScanContext, step: s.Checkpoint) -> None:
    if ctx.stop.is_set():
        raise _Stopped


def _restore(ctx: ScanContext, step: s.Restore) -> None:
    restore_settings(ctx.lab, step.changes, step.where)


def _catch_up(ctx: ScanContext, step: s.CatchUp) -> None:
    """Noise is seeded per point and slow drift follows lab time; on a simulated lab
    the clock jumps to the reading's lab time, so a replayed point takes exactly as
    long as it did (resumed points then equal an uninterrupted scan's to ~1e-15 V).
    Real time (or a clock already past it): wait for the lock-in to settle."""
    lab, sim = ctx.lab, ctx.caps.sim
    advance_to = sim.advance_to if sim is not None else None
    if advance_to is not None and step.lab_time_s > lab.clock.now_s():
        advance_to(step.lab_time_s)
    else:
        lab.clock.sleep(lab.lockin.settle_time_s(0.9999))


def _finally(ctx: ScanContext, step: s.Finally) -> None:
    ctx.finally_steps.extend(step.steps)


def _now(ctx: ScanContext, step: s.Now) -> float:
    return ctx.lab.clock.now_s()


def _start_stream(ctx: ScanContext, step: s.StartStream) -> None:
    ctx.stream_start_s = ctx.lab.clock.now_s()
    ctx.lab.lockin.start_stream(step.rate_Hz)
    if ctx.caps.reference is not None:
        ctx.caps.reference.start_stream(step.rate_Hz)


def _stop_stream(ctx: ScanContext, step: s.StopStream) -> StreamData:
    """The samples, their times moved onto the lab clock (the stream's start + t)."""
    lockin, reference = ctx.lab.lockin, ctx.caps.reference
    lockin.stop_stream()
    data = lockin.read_stream()
    ref_x_V = None
    if reference is not None:
        reference.stop_stream()
        ref_x_V = np.asarray(reference.read_stream().x_V, float)
        if len(ref_x_V) != len(data.x_V):
            raise RuntimeError(f"reference channel recorded {len(ref_x_V)} samples, the "
                               f"signal lock-in {len(data.x_V)}: their buffers must run alike")
    return StreamData(np.asarray(data.t_s, float) + ctx.stream_start_s,
                      np.asarray(data.x_V, float), np.asarray(data.y_V, float), ref_x_V)


def _track(ctx: ScanContext, step: s.Track) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lab = ctx.lab
    stage, clock = lab.stage, lab.clock
    t_s, x_um, y_um = [], [], []
    while True:  # each x read-back stamped with the time the controller reported it
        x, age_s = stage.x.position_sample()
        t_s.append(clock.now_s() - age_s)
        x_um.append(x)
        y_um.append(stage.y.position_um())
        if not (stage.x.is_moving() or stage.y.is_moving()):
            break
        clock.sleep(step.poll_s)
    stage.wait_settled()
    return np.array(t_s), np.array(x_um), np.array(y_um)


_HANDLERS = {
    s.Configure: _configure, s.CheckTravel: _check_travel, s.Move: _move,
    s.WaitSettled: _wait_settled, s.Position: _position, s.Set: _set, s.Get: _get,
    s.Call: _call, s.Dwell: _dwell, s.BeginPoint: _begin_point, s.Open: _open, s.Read: _read,
    s.Emit: _emit, s.Checkpoint: _checkpoint, s.Restore: _restore, s.CatchUp: _catch_up,
    s.Finally: _finally, s.Now: _now, s.StartStream: _start_stream, s.StopStream: _stop_stream,
    s.Track: _track, s.MeasurePower: _measure_power,
}
assert set(_HANDLERS) == set(s.STEP_TYPES)
