"""Faults injected into the simulated lab, at chosen plan points (tests, dry runs).

``lab.faults`` schedules them; each fires when the engine reaches its point
(``begin_point``). The engine's handling is in :mod:`imager.engine.faults`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from imager.devices.interfaces import DeviceError, LockInReading, LockInStatus
from stages.interface import StageError


@dataclass
class _Scheduled:
    kind: str
    at_point: int
    count: int = 1
    duration_s: float = 0.0
    detail: str = ""
    fraction: float = 1.0


@dataclass
class FaultInjector:
    """Schedule faults of the simulated devices at plan points.

    Methods add a fault; ``fired`` lists ``(kind, point)`` as they happen.
    """

    lab: object
    scheduled: list[_Scheduled] = field(default_factory=list)
    fired: list[tuple[str, int]] = field(default_factory=list)
    point: int = -1
    _disconnected_until_s: float = -1.0
    _unlocked_until_s: float = -1.0
    _dropped_until_s: float = -1.0

    def lockin_timeout(self, at_point: int, count: int = 1) -> None:
        """The next ``count`` lock-in reads at that point time out."""
        self._add(_Scheduled("timeout", at_point, count))

    def garbled_reply(self, at_point: int, count: int = 1) -> None:
        """The next ``count`` lock-in replies at that point are garbled."""
        self._add(_Scheduled("garbled", at_point, count))

    def disconnect(self, at_point: int, duration_s: float) -> None:
        """The lock-in drops off the bus for ``duration_s`` of lab time, then reconnects."""
        self._add(_Scheduled("disconnect", at_point, duration_s=duration_s))

    def overload(self, at_point: int) -> None:
        """A pick-up spike overloads the lock-in's output on the point's first read."""
        self._add(_Scheduled("overload", at_point))

    def reference_unlock(self, at_point: int, duration_s: float) -> None:
        """The chopper stops for ``duration_s`` of lab time (the lock-in unlocks)."""
        self._add(_Scheduled("unlock", at_point, duration_s=duration_s))

    def stage_error(self, at_point: int, detail: str = "motion error") -> None:
        """The stage reports a fault ("motion error", "limit switch") moving to the point."""
        self._add(_Scheduled("stage", at_point, detail=detail))

    def power_drop(self, at_point: int, duration_s: float, fraction: float = 0.5) -> None:
        """The QCL's output sags to ``fraction`` of its setting for ``duration_s`` of lab time.

        It starts on the point's first lock-in read (the reading already sees it);
        the power meter and the film both see the drop.
        """
        self._add(_Scheduled("power_drop", at_point, duration_s=duration_s,
                             fraction=float(fraction)))

    # ------------------------------------------------------------ wiring
    def _add(self, fault: _Scheduled) -> None:
        if not self.scheduled:  # wrap the devices only once a fault is scheduled
            self.install()
        self.scheduled.append(fault)

    def install(self) -> None:
        """Wrap the lab's lock-in read, stage move and point hook."""
        lab = self.lab
        read, move, begin = lab.lockin.read_xy, lab.stage.move_to, lab.begin_point
        meter = lab.capabilities().power_meter
        read_meter = meter.read_power_mW if meter is not None else None

        def begin_point(index: int) -> None:
            self.point = index
            begin(index)

        def move_to(x_um: float, y_um: float) -> None:
            if self._take("stage"):
                raise StageError(f"stage_x: {self._detail} at ({x_um:g}, {y_um:g}) um")
            move(x_um, y_um)

        def restore(now: float) -> None:
            if self._unlocked_until_s >= 0 and now >= self._unlocked_until_s:
                lab.chopper.enabled = True
                self._unlocked_until_s = -1.0
            if self._dropped_until_s >= 0 and now >= self._dropped_until_s:
                lab.source.output_fraction = 1.0
                self._dropped_until_s = -1.0

        def read_power_mW() -> float:
            restore(lab.clock.now_s())
            return read_meter()

        def read_xy() -> LockInReading:
            now = lab.clock.now_s()
            restore(now)
            if self._take("power_drop"):
                lab.source.output_fraction = self._fraction
                self._dropped_until_s = now + self._duration
            if self._take("unlock"):
                lab.chopper.enabled = False
                self._unlocked_until_s = now + self._duration
            if self._take("disconnect"):
                self._disconnected_until_s = now + self._duration
            if now < self._disconnected_until_s:
                raise DeviceError("lock-in disconnected (simulated)")
            if self._take("timeout"):
                raise TimeoutError("lock-in: no reply within the timeout (simulated)")
            if self._take("garbled"):
                raise DeviceError("lock-in: garbled reply b'\\x8f1.2e-' (simulated)")
            reading = read()
            if self._take("overload"):
                s = lab.lockin.sensitivity_V
                return LockInReading(s, reading.y_V,
                                     reading.status | LockInStatus.OUTPUT_OVERLOAD)
            return reading

        lab.begin_point, lab.stage.move_to, lab.lockin.read_xy = begin_point, move_to, read_xy
        if meter is not None:
            meter.read_power_mW = read_power_mW

    def _take(self, kind: str) -> bool:
        for fault in self.scheduled:
            if fault.kind == kind and fault.at_point == self.point and fault.count > 0:
                fault.count -= 1
                self._duration, self._detail = fault.duration_s, fault.detail
                self._fraction = fault.fraction
                self.fired.append((kind, self.point))
                return True
        return False
