"""Test helper: a simulated chopper + lock-in behind their real wire protocols.

:func:`start_emulated_lab` builds, on a :class:`~stages.clock.WallClock` (or a
clock the caller gives, e.g. a virtual one a test advances), a
:class:`~imager.sim.instruments.SimulatedChopper` and a
:class:`~imager.sim.lockin.SimulatedLockIn` that reads it, with an input the
test sets (:class:`Signal`), an SR830 or SR860 emulator in front of the lock-in
and an MC2000B emulator in front of the chopper, and serves them (lock-in on
TCP and/or a pty, chopper on a pty). The lock-in's reference follows the
chopper: stopping the chopper over the wire unlocks the lock-in.
:meth:`EmulatedLab.close` stops everything. (The whole emulated lab, one twin
behind every device, is :mod:`imager.emulators.bench`.)

Importable from every test folder as ``emulated_lab``: pytest puts ``tests/`` (the
folder of ``tests/conftest.py``, not a package) on ``sys.path``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from imager.emulators.clocks import WallClock
from imager.emulators.mc2000b import MC2000BEmulator
from imager.emulators.serve import serve_lockin_pty, serve_lockin_tcp, serve_mc2000b_pty
from imager.emulators.sr830 import SR830Emulator
from imager.emulators.sr860 import SR860Emulator
from imager.emulators.srs_lockin import SRSLockInEmulator
from imager.emulators.wire import PtyServer, TcpServer
from imager.sim.instruments import SimulatedChopper
from imager.sim.lockin import NoiseModel, SimulatedLockIn
from stages.interface import Clock

EMULATORS: dict[str, type[SRSLockInEmulator]] = {"SR830": SR830Emulator, "SR860": SR860Emulator}


class Signal:
    """A settable input phasor for the lock-in backend: ``signal(t) = value_V``.

    Parameters
    ----------
    value_V : complex
        Demodulated input (rms volts at the reference frequency).
    before_change : callable, optional
        Called before the value changes; the emulated lab brings the lock-in
        filter up to "now" there, so a change takes effect from that moment
        (the backend treats its input as constant between its updates).
    """

    def __init__(
        self, value_V: complex = 1e-3, before_change: Callable[[], None] | None = None
    ) -> None:
        self._value_V = complex(value_V)
        self.before_change = before_change

    @property
    def value_V(self) -> complex:
        """The input phasor, V."""
        return self._value_V

    @value_V.setter
    def value_V(self, value: complex) -> None:
        if self.before_change is not None:
            self.before_change()
        self._value_V = complex(value)

    def __call__(self, t_s: float) -> complex:
        """The input at lab time ``t_s`` (constant until changed)."""
        return self._value_V


@dataclass
class EmulatedLab:
    """Everything :func:`start_emulated_lab` started; close it when done."""

    clock: Clock
    signal: Callable[[float], complex]
    chopper: SimulatedChopper
    lockin_backend: SimulatedLockIn
    lockin: SRSLockInEmulator
    chopper_emulator: MC2000BEmulator
    lockin_tcp: TcpServer | None = None
    lockin_pty: PtyServer | None = None
    chopper_pty: PtyServer | None = None
    _closed: bool = field(default=False, repr=False)

    def close(self) -> None:
        """Stop every server (idempotent)."""
        if self._closed:
            return
        self._closed = True
        for server in (self.lockin_tcp, self.lockin_pty, self.chopper_pty):
            if server is not None:
                server.close()

    def __enter__(self) -> EmulatedLab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_emulated_lab(
    model: str = "SR830",
    *,
    signal: Callable[[float], complex] | None = None,
    noise: NoiseModel | None = None,
    chopper_frequency_Hz: float = 100.0,
    time_constant_s: float = 0.003,
    sensitivity_V: float = 1e-2,
    seed: int = 0,
    tcp: bool = True,
    pty: bool = True,
    chopper_pty: bool = True,
    clock: Clock | None = None,
) -> EmulatedLab:
    """Build and serve the emulated chopper + lock-in.

    Parameters
    ----------
    model : {"SR830", "SR860"}
        Lock-in command set.
    signal : callable, optional
        ``signal(t_s) -> complex`` input phasor, V; default a :class:`Signal` of 1 mV.
        A :class:`Signal` without a ``before_change`` hook gets one that
        brings the backend up to date before each change; the chopper too.
    noise : NoiseModel or None
        Lock-in noise (default none: readings equal the filtered signal).
    chopper_frequency_Hz : float
        Initial chopping frequency (the chopper starts enabled).
    time_constant_s, sensitivity_V : float
        Initial lock-in settings (snapped to the model's tables).
    seed : int
        Noise seed.
    tcp, pty, chopper_pty : bool
        Which servers to start.
    clock : Clock, optional
        Time of the lock-in's filter: default a new
        :class:`~imager.emulators.clocks.WallClock`, so the output settles in
        real time. A :class:`~imager.sim.clock.VirtualClock` instead stands still
        until its owner advances it (``clock.sleep``): a test can then read the
        filter at an exact time after a step, however slowly the machine runs.
    """
    if model not in EMULATORS:
        raise ValueError(f"model must be one of {sorted(EMULATORS)}, got {model!r}")
    clock = clock if clock is not None else WallClock()
    sig = signal if signal is not None else Signal()
    chopper = SimulatedChopper(frequency_Hz=chopper_frequency_Hz, enabled=True)
    backend = SimulatedLockIn(
        clock,
        sig,
        chopper=chopper,
        seed=seed,
        noise=noise,
        time_constant_s=time_constant_s,
        sensitivity_V=sensitivity_V,
    )
    lock = threading.RLock()

    def sync_backend() -> None:
        with lock:
            backend.sync()

    chopper.set_change_hook(sync_backend)
    if isinstance(sig, Signal) and sig.before_change is None:
        sig.before_change = sync_backend
    lockin = EMULATORS[model](backend, chopper=chopper, lock=lock)
    chopper_emulator = MC2000BEmulator(chopper, lock=lock)
    lab = EmulatedLab(clock, sig, chopper, backend, lockin, chopper_emulator)
    try:
        if tcp:
            lab.lockin_tcp = serve_lockin_tcp(lockin)
        if pty:
            lab.lockin_pty = serve_lockin_pty(lockin)
        if chopper_pty:
            lab.chopper_pty = serve_mc2000b_pty(chopper_emulator)
    except BaseException:
        lab.close()
        raise
    return lab
