"""Watching the MIR power during a scan: a drop pauses the scan, a lasting one stops it.

A lab with a ``power_meter`` (a thermal sensor on a pick-off of the MIR beam)
gets a :class:`PowerMonitor`. Its reference is the meter's reading when the
scan (or its resume) starts. After each good lock-in reading the monitor
reads the meter; if the power is more than ``max_power_drop_fraction`` below
the reference, the point is suspect: the scan pauses, polling the meter every
``power_poll_s``, and re-measures the point once the power is back. A drop
lasting more than ``max_power_wait_s`` stops the scan (:class:`ScanFault`),
every completed point kept. Each drop and recovery is an event in the file.

Only the ratio to the reference matters, so the pick-off fraction need not be
calibrated. A scan started with the source off (a dark or background scan)
reads ~0: the monitor says so in the event log and stays idle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imager.devices.interfaces import DeviceError
from imager.engine.faults import FaultPolicy, ScanFault

NO_POWER_mW = 1e-6
"""A reference below this (1 nW on the sensor) means no MIR to watch."""


@dataclass
class PowerMonitor:
    """Compare the MIR power meter with the scan's starting reading.

    Use :meth:`start`; it returns ``None`` for a lab without a power meter.
    """

    meter: Any
    clock: Any
    log: Any
    reference_mW: float
    policy: FaultPolicy
    lab_start_s: float

    @classmethod
    def start(cls, meter: Any, clock: Any, log: Any, policy: FaultPolicy,
              lab_start_s: float) -> PowerMonitor | None:
        """Take the reference reading; ``None`` if there is no meter (``meter`` None, the
        lab declares none) or no MIR on it. ``log`` (the run's ScanContext) takes the
        events (``log_event``)."""
        if meter is None:
            return None
        now_s = clock.now_s() - lab_start_s
        try:
            reference_mW = float(meter.read_power_mW())
        except (DeviceError, TimeoutError, OSError) as exc:
            log.log_event("power", f"power meter unreadable ({exc}): not monitoring",
                             -1, now_s)
            return None
        if not reference_mW > NO_POWER_mW:
            log.log_event("power", f"power meter reads {reference_mW:.3g} mW (source off?): "
                             "not monitoring", -1, now_s)
            return None
        return cls(meter, clock, log, reference_mW, policy, lab_start_s)

    def _read_mW(self) -> float | None:
        try:
            return float(self.meter.read_power_mW())
        except (DeviceError, TimeoutError, OSError):
            return None

    def _low(self, power_mW: float | None) -> bool:
        return (power_mW is not None and
                power_mW < self.reference_mW * (1.0 - self.policy.max_power_drop_fraction))

    def check(self, index: int) -> bool:
        """After a reading of point ``index``: True if it must be re-measured.

        Returns False when the power is fine (or the meter did not answer: the
        lock-in reading stands). On a drop, waits for the power to come back
        (True) or raises :class:`ScanFault` after ``max_power_wait_s``.
        """
        power_mW = self._read_mW()
        if not self._low(power_mW):
            return False
        clock, policy, log = self.clock, self.policy, self.log
        start = clock.now_s()
        log.log_event("power_drop", f"MIR power {power_mW:.4g} mW on the meter, "
                         f"{1.0 - power_mW / self.reference_mW:.0%} below the reference "
                         f"{self.reference_mW:.4g} mW: pausing, waiting for the power to come "
                         f"back (up to {policy.max_power_wait_s:g} s)", index,
                         start - self.lab_start_s)
        while clock.now_s() - start < policy.max_power_wait_s:
            clock.sleep(policy.power_poll_s)
            power_mW = self._read_mW()
            if power_mW is not None and not self._low(power_mW):
                log.log_event("power_ok", f"MIR power back to {power_mW:.4g} mW after "
                                 f"{clock.now_s() - start:.1f} s; re-measuring", index,
                                 clock.now_s() - self.lab_start_s)
                return True
        log.log_event("power_drop", f"still low after {policy.max_power_wait_s:g} s: "
                         "stopping", index, clock.now_s() - self.lab_start_s)
        raise ScanFault(f"point {index}: MIR power more than "
                        f"{policy.max_power_drop_fraction:.0%} below its starting value for "
                        f"more than {policy.max_power_wait_s:g} s (check the QCL and its "
                        "alignment)")
