"""Riding out instrument faults during a scan, each recorded in the file's event log.

* a read that times out, comes back garbled or finds the device gone is
  retried (bounded: ``max_read_retries``, ``retry_wait_s`` apart);
* an output overload ranges the lock-in up one step of its own sensitivity
  ladder (``lockin.sensitivities_V``) and re-measures the point; an input
  overload alone (the input stage saturated by pick-up or a spike off the
  reference frequency, which the output range cannot cure) waits one settling
  time and re-measures (bounded together: ``max_reranges``; then the reading
  is kept with its overload bit); the new sensitivity is recorded in the file
  (:func:`change_setting`) and a resumed scan starts from it
  (:func:`restore_settings`);
* a reference unlock (chopper stopped) pauses the scan, polling until the
  reference relocks, then re-measures; after ``max_unlock_wait_s`` the scan
  stops with :class:`ScanFault`;
* a drop of the MIR power (labs with a power meter) pauses the scan and
  re-measures the point once the power is back (:mod:`imager.engine.power`);
* anything else (stage motion error, limit switch) stops the scan: the file
  is marked ``fail`` with the message and keeps every completed point.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from imager.devices.interfaces import DeviceError, LockInReading, LockInStatus
from imager.instruments import srs

OVERLOAD = LockInStatus.INPUT_OVERLOAD | LockInStatus.OUTPUT_OVERLOAD


class ScanFault(RuntimeError):
    """A fault the scan could not ride out; it stops, every completed point kept."""


@dataclass(frozen=True)
class FaultPolicy:
    """Bounds of the engine's fault handling (lab time for the waits)."""

    max_read_retries: int = 3
    retry_wait_s: float = 0.5
    max_reranges: int = 4
    max_unlock_wait_s: float = 60.0
    unlock_poll_s: float = 1.0
    max_power_drop_fraction: float = 0.1
    max_power_wait_s: float = 60.0
    power_poll_s: float = 1.0


def policy_from_recipe(recipe) -> FaultPolicy:
    """The recipe's ``[faults]`` bounds (defaults where it gives none)."""
    section = recipe.sections.get("faults", {})
    return FaultPolicy(**{k: v for k, v in section.items()
                          if k in FaultPolicy.__dataclass_fields__})


def next_sensitivity_V(current_V: float,
                       ladder_V: Sequence[float] = srs.SR830.ladder_V) -> float | None:
    """The next larger full scale on the lock-in's ladder, or None at the top.

    ``ladder_V`` is the lock-in's own (``lockin.sensitivities_V``); the default is
    the SR830's.
    """
    return srs.next_larger(ladder_V, current_V)


def change_setting(lab, log, device: str, attribute: str, value: Any, index: int,
                   t_lab_s: float) -> Any:
    """Set ``lab.<device>.<attribute>`` during a scan and record it in the file.

    Every setting the engine changes goes through here, so that a resumed
    scan can bring it back (:func:`restore_settings`). Returns the value the
    device reports afterwards (the recorded one).
    """
    target = getattr(lab, device)
    setattr(target, attribute, value)
    actual = getattr(target, attribute)
    log.record_setting(device, attribute, actual, index, t_lab_s)
    return actual


def restore_settings(lab, changes: Iterable, where: str = "the scan file") -> None:
    """Apply recorded setting changes (``SettingChange``), in order, before a resume.

    Raises
    ------
    ScanFileError
        A change names a device this lab lacks, or a value the device refuses.
    """
    from reconstruction.errors import ScanFileError

    for change in changes:
        target = getattr(lab, change.device, None)
        if target is None:
            raise ScanFileError(f"{where}: the scan set {change.device}.{change.attribute} "
                                f"at point {change.index}, but this lab has no {change.device}")
        try:
            setattr(target, change.attribute, change.value)
        except (AttributeError, TypeError, ValueError) as exc:
            raise ScanFileError(f"{where}: cannot restore {change.device}.{change.attribute} "
                                f"= {change.value!r} (set at point {change.index}): "
                                f"{' '.join(str(exc).split())}") from None


def read_point(lab, log, index: int, settle_s: float, lab_start_s: float,
               policy: FaultPolicy, monitor=None) -> LockInReading:
    """Read the lock-in for plan point ``index``, riding out faults (see module doc).

    ``monitor`` (a :class:`imager.engine.power.PowerMonitor`) checks the MIR
    power after each good reading; a drop means waiting and re-measuring.
    """
    lockin, clock = lab.lockin, lab.clock
    retries = reranges = 0
    while True:
        try:
            reading = lockin.read_xy()
        except (DeviceError, TimeoutError, OSError) as exc:
            retries += 1
            log.log_event("read_error", f"{type(exc).__name__}: {exc} (try {retries})",
                             index, clock.now_s() - lab_start_s)
            if retries > policy.max_read_retries:
                raise ScanFault(f"point {index}: lock-in read failed {retries} times: {exc}") \
                    from exc
            clock.sleep(policy.retry_wait_s)
            continue
        status = reading.status
        if not status:
            if monitor is not None and monitor.check(index):
                clock.sleep(settle_s)
                continue
            return reading
        if status & LockInStatus.REFERENCE_UNLOCK:
            _wait_for_relock(lab, log, index, lab_start_s, policy)
            clock.sleep(settle_s)
            continue
        if status & OVERLOAD and reranges < policy.max_reranges:
            if not status & LockInStatus.OUTPUT_OVERLOAD:
                # the input stage saturated (pick-up off the reference frequency, a spike):
                # the output range does not help; wait it out and measure again
                reranges += 1
                log.log_event("overload", f"{status!r}: input overload (pick-up, spike?); "
                                 "re-measuring", index, clock.now_s() - lab_start_s)
                clock.sleep(settle_s)
                continue
            new = next_sensitivity_V(lockin.sensitivity_V, lockin.sensitivities_V)
            if new is not None:
                old = lockin.sensitivity_V
                now_s = clock.now_s() - lab_start_s
                new = change_setting(lab, log, "lockin", "sensitivity_V", new, index, now_s)
                reranges += 1
                log.log_event("overload", f"{status!r}: sensitivity {old:g} -> {new:g} V, "
                                 "re-measuring", index, now_s)
                clock.sleep(settle_s)
                continue
        if status & OVERLOAD:
            log.log_event("overload", f"{status!r} kept at full scale "
                             f"{lockin.sensitivity_V:g} V", index, clock.now_s() - lab_start_s)
        return reading


def _wait_for_relock(lab, log, index: int, lab_start_s: float, policy: FaultPolicy) -> None:
    lockin, clock = lab.lockin, lab.clock
    start = clock.now_s()
    log.log_event("unlock", "reference unlocked (chopper stopped?): pausing, waiting for "
                     f"relock (up to {policy.max_unlock_wait_s:g} s)", index, start - lab_start_s)
    while clock.now_s() - start < policy.max_unlock_wait_s:
        clock.sleep(policy.unlock_poll_s)
        try:
            status = lockin.read_xy().status
        except (DeviceError, TimeoutError, OSError):
            continue
        if not status & LockInStatus.REFERENCE_UNLOCK:
            log.log_event("relock", f"reference locked again after "
                             f"{clock.now_s() - start:.1f} s; re-measuring", index,
                             clock.now_s() - lab_start_s)
            return
    log.log_event("unlock", f"still unlocked after {policy.max_unlock_wait_s:g} s: stopping",
                     index, clock.now_s() - lab_start_s)
    raise ScanFault(f"point {index}: lock-in reference unlocked for more than "
                    f"{policy.max_unlock_wait_s:g} s (is the chopper running?)")
