"""Faults fired into a running emulated lab on a timetable (``mirimager emulate --faults``).

A schedule is a comma-separated list of ``KIND@T``, ``T`` seconds after the
lab starts, with optional ``+D`` (duration, s), ``xN`` (count) or ``=F``
(fraction)::

    --faults "lockin-timeout@20x2, chopper-stop@30+5, power-drop@40+10=0.5"

=====================  ==========================================================
``lockin-timeout``     the lock-in swallows its next N replies (default 1)
``lockin-garbled``     the lock-in garbles its next N replies (default 1)
``lockin-disconnect``  the lock-in's TCP clients are hung up on (they reconnect)
``overload``           2 V of pick-up on the lock-in input for D s (default 1)
``chopper-stop``       the chopper blade stops for D s (default 5): reference unlock
``stage-error``        the x axis reports a motion error (APT status bit)
``limit-switch``       the x axis runs into its forward limit switch
``power-drop``         the QCL output sags to F (default 0.5) of its setting for D s
                       (default 10); the power meter and the film both see it
=====================  ==========================================================

Each fault is printed when it fires. The faults act on the emulators and
the twin behind them, so the real drivers see them exactly as they would
see the instrument's.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

KINDS = ("lockin-timeout", "lockin-garbled", "lockin-disconnect", "overload", "chopper-stop",
         "stage-error", "limit-switch", "power-drop")
DEFAULT_DURATION_S = {"overload": 1.0, "chopper-stop": 5.0, "power-drop": 10.0}
PICKUP_V = 2.0
"""Pick-up amplitude of the overload fault: twice the lock-in's 1 V input full scale."""

_ITEM_RE = re.compile(r"^(?P<kind>[a-z-]+)@(?P<at>[0-9.]+)(?:\+(?P<dur>[0-9.]+))?"
                      r"(?:x(?P<count>[0-9]+))?(?:=(?P<frac>[0-9.]+))?$")


@dataclass(frozen=True)
class ScheduledFault:
    """One fault of a schedule."""

    kind: str
    at_s: float
    duration_s: float = 0.0
    count: int = 1
    fraction: float = 0.5

    def describe(self) -> str:
        """One line for the console."""
        extra = {"lockin-timeout": f" x{self.count}", "lockin-garbled": f" x{self.count}",
                 "power-drop": f" to {self.fraction:g} for {self.duration_s:g} s",
                 "overload": f" for {self.duration_s:g} s",
                 "chopper-stop": f" for {self.duration_s:g} s"}.get(self.kind, "")
        return f"{self.kind}{extra}"


def parse_fault_schedule(text: str) -> list[ScheduledFault]:
    """Parse ``--faults``; ValueError naming the item and what is allowed if it is wrong."""
    faults = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        m = _ITEM_RE.match(item)
        if m is None:
            raise ValueError(f"--faults: cannot read {item!r}: expected KIND@SECONDS[+DURATION]"
                             "[xCOUNT][=FRACTION], e.g. chopper-stop@30+5")
        kind = m["kind"]
        if kind not in KINDS:
            raise ValueError(f"--faults: unknown fault {kind!r}; one of {', '.join(KINDS)}")
        try:
            at_s = float(m["at"])
            duration_s = float(m["dur"]) if m["dur"] else DEFAULT_DURATION_S.get(kind, 0.0)
            fraction = float(m["frac"]) if m["frac"] else 0.5
        except ValueError:
            raise ValueError(f"--faults: {item!r}: not a number") from None
        count = int(m["count"]) if m["count"] else 1
        if not 0.0 <= at_s <= 1e6:
            raise ValueError(f"--faults: {item!r}: time must be in [0, 1e6] s")
        if not 0.0 <= duration_s <= 1e5:
            raise ValueError(f"--faults: {item!r}: duration must be in [0, 1e5] s")
        if not 0.0 <= fraction < 1.0:
            raise ValueError(f"--faults: {item!r}: fraction must be in [0, 1)")
        if not 1 <= count <= 1000:
            raise ValueError(f"--faults: {item!r}: count must be in [1, 1000]")
        if m["frac"] and kind != "power-drop":
            raise ValueError(f"--faults: {item!r}: =FRACTION is only for power-drop")
        faults.append(ScheduledFault(kind, at_s, duration_s, count, fraction))
    return sorted(faults, key=lambda f: f.at_s)


def fire(bench: Any, fault: ScheduledFault) -> Callable[[], None] | None:
    """Apply ``fault`` to an :class:`~imager.emulators.bench.EmulatedBench` now.

    Returns the action that ends it (for faults with a duration), else None.
    """
    lab = bench.lab
    lockin_servers = [s for s in (bench.lockin_tcp, bench.lockin_pty) if s is not None]
    kind = fault.kind
    if kind == "lockin-timeout":
        for server in lockin_servers:
            server.faults.drop_next_reply(fault.count)
    elif kind == "lockin-garbled":
        for server in lockin_servers:
            server.faults.garble_next_reply(fault.count)
    elif kind == "lockin-disconnect":
        bench.lockin_tcp.disconnect_clients()
    elif kind == "overload":
        lab.lockin.pickup_V = PICKUP_V
        return lambda: setattr(lab.lockin, "pickup_V", 0.0)
    elif kind == "chopper-stop":
        lab.chopper.enabled = False
        return lambda: setattr(lab.chopper, "enabled", True)
    elif kind == "stage-error":
        bench.apt_x.inject_motion_error()
    elif kind == "limit-switch":
        bench.apt_x.trigger_limit_switch(forward=True)
    elif kind == "power-drop":
        lab.source.output_fraction = fault.fraction
        return lambda: setattr(lab.source, "output_fraction", 1.0)
    return None


@contextmanager
def on_call(obj: Any, name: str, n: int, action: Callable[[], None], *,
            after: bool = False) -> Iterator[None]:
    """Run ``action()`` just before (or ``after``) the ``n``-th call of ``obj.<name>``.

    Fault drills and tests use it to fire a fault at a known moment of a scan
    (the 6th lock-in read, the 4th stage move); the method is restored on exit.
    """
    original, calls = getattr(obj, name), {"n": 0}

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == n and not after:
            action()
        out = original(*args, **kwargs)
        if calls["n"] == n and after:
            action()
        return out

    setattr(obj, name, wrapper)
    try:
        yield
    finally:
        setattr(obj, name, original)


class FaultRunner:
    """Fire a schedule into a bench from a background thread (wall time from ``start``)."""

    def __init__(self, bench: Any, faults: list[ScheduledFault],
                 report: Callable[[str], None] = print) -> None:
        self.bench = bench
        self.faults = faults
        self.report = report
        self.fired: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fault-schedule", daemon=True)

    def start(self) -> FaultRunner:
        """Start the clock of the schedule now."""
        self._t0 = time.monotonic()
        self._thread.start()
        return self

    def _run(self) -> None:
        pending: list[tuple[float, str, Callable[[], None] | ScheduledFault]] = [
            (f.at_s, "start", f) for f in self.faults]
        while pending and not self._stop.is_set():
            pending.sort(key=lambda p: p[0])
            at_s, what, action = pending.pop(0)
            if self._stop.wait(max(0.0, self._t0 + at_s - time.monotonic())):
                return
            now_s = time.monotonic() - self._t0
            if what == "start":
                end = fire(self.bench, action)
                self.fired.append(action.kind)
                self.report(f"fault at {now_s:.1f} s: {action.describe()}")
                if end is not None:
                    pending.append((at_s + action.duration_s, f"end {action.kind}", end))
            else:
                action()
                self.report(f"fault at {now_s:.1f} s: {what}")

    def stop(self) -> None:
        """Stop firing (faults in progress are not undone)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)
