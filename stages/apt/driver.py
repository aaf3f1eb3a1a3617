"""A Thorlabs APT axis as a :class:`stages.interface.Stage`.

:class:`AptStage` is one bay of an :class:`~stages.apt.controller.AptController`
(thorlabs-apt-device underneath). Positions are micrometres, converted with
the stage model's counts per mm (:mod:`stages.apt.models`).

Policies
--------
* Homing only in :meth:`AptStage.home`; the controller is opened with
  ``home=False``. :meth:`AptStage.move_to` on an axis whose status does not
  say *homed* raises :class:`StageError` unless ``require_homed=False``.
* Soft travel limits are checked before any command is queued
  (:class:`TravelLimitError`); they default to the stage model's travel and
  may only narrow it.
* A move to where the axis already is sends nothing (one round trip saved per
  raster point for the axis that does not move): the target is that of the last
  move that settled there, or of the move still under way, and the latest
  status puts the axis at rest within ``position_tolerance_um`` of it.
* Settling is judged from replies decoded after the command was written
  (:mod:`stages.apt.tracking`, :mod:`stages.apt.settle`): ``MOVE_COMPLETED`` (``MOVE_HOMED`` for
  homing) ends a wait. If that message is lost, status updates finish it:
  once one shows the command took effect (moving or homing bits, or the
  position left its start by more than the tolerance), updates at rest within
  ``position_tolerance_um`` of the target for 0.3 s (a homed
  update, for homing) count as arrived. Motion-error bits, ``MOVE_STOPPED``
  short of the target, a limit switch, or three updates at rest short of the
  target raise :class:`StageError` naming the axis; a command with no visible
  effect runs into the timeout.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from stages.apt import payloads as D
from stages.apt import protocol as P
from stages.apt.controller import AptController
from stages.apt.driver_fly import FlyMotion
from stages.apt.models import stage_model
from stages.apt.settle import Pending, describe, evaluate
from stages.apt.tracking import Received
from stages.interface import StageError, TravelLimitError


@dataclass(frozen=True)
class AxisStatus:
    """Decoded status of one axis (most recent status message)."""

    position_counts: int
    position_um: float
    moving: bool
    homing: bool
    homed: bool
    enabled: bool
    motion_error: bool
    forward_limit: bool
    reverse_limit: bool
    status_bits: int
    age_s: float


class AptStage(FlyMotion):
    """One linear axis on a Thorlabs APT controller, positions in um.

    Fly scanning (:class:`~stages.apt.driver_fly.FlyMotion`): the
    :attr:`velocity_um_per_s` of the next moves (at most
    :attr:`max_velocity_um_per_s`), :meth:`move_at_velocity`, :meth:`stop`, and
    on K-Cubes :meth:`configure_position_triggers`.

    Parameters
    ----------
    name : str
        Axis name (appears in every error message).
    controller : AptController
        The opened controller; several axes may share one (one per bay).
    stage : str
        Stage model, e.g. ``"MTS25-Z8"`` (see :data:`stages.apt.models.STAGE_MODELS`).
    bay : int
        Bay index (0-based); 0 for single-channel controllers.
    travel_um : tuple of float, optional
        Soft limits ``(min_um, max_um)`` inside the model's travel (default: all of it).
    require_homed : bool
        Refuse moves until the controller reports the axis homed (default True).
    velocity_um_per_s, acceleration_um_per_s2 : float, optional
        If given, written to the controller (``MOT_SET_VELPARAMS``) at once.
    position_tolerance_um : float, optional
        How close to the target a status update must be to count as arrival
        when ``MOVE_COMPLETED`` is lost (default: 2 encoder counts).
    """

    def __init__(self, name: str, controller: AptController, stage: str, bay: int = 0, *,
                 travel_um: tuple[float, float] | None = None, require_homed: bool = True,
                 velocity_um_per_s: float | None = None,
                 acceleration_um_per_s2: float | None = None,
                 position_tolerance_um: float | None = None) -> None:
        if not 0 <= bay < controller.n_bays:
            raise ValueError(f"{name}: bay {bay} not in 0..{controller.n_bays - 1}")
        self.name = name
        self.controller = controller
        self.model = stage_model(stage, controller.model)
        self.bay = bay
        self.require_homed = require_homed
        self._cpu = self.model.counts_per_um
        self._tol_counts = 2 if position_tolerance_um is None else max(
            1, math.ceil(position_tolerance_um * self._cpu))
        lo, hi = self.model.travel_um
        if travel_um is not None:
            if not (lo <= travel_um[0] < travel_um[1] <= hi):
                raise ValueError(f"{name}: travel_um {travel_um!r} must lie within the "
                                 f"{self.model.name} travel [{lo:g}, {hi:g}] um")
            lo, hi = float(travel_um[0]), float(travel_um[1])
        self._travel_um = (lo, hi)
        self._pending: Pending | None = None
        self._settled_counts: int | None = None  # target of the last move that settled
        self._stopped = False  # stop() since the last command: a move to its target is sent
        self._owns_controller = False
        self._velocity_cmd_um_per_s: float | None = None
        self._position_triggers: dict[str, float | int | str] | None = None
        if velocity_um_per_s is not None or acceleration_um_per_s2 is not None:
            self.set_velocity(velocity_um_per_s, acceleration_um_per_s2)

    @classmethod
    def connect(cls, name: str, serial_port: str, controller: str, stage: str, *,
                serial_read_timeout_s: float | None = None, connect_timeout_s: float = 5.0,
                **kwargs: Any) -> AptStage:
        """Open a single-axis controller on ``serial_port`` and return its axis.

        The axis owns the controller: :meth:`close` closes both.
        """
        ctl = AptController(serial_port, controller, serial_read_timeout_s=serial_read_timeout_s,
                            connect_timeout_s=connect_timeout_s)
        try:
            axis = cls(name, ctl, stage, **kwargs)
        except BaseException:
            ctl.close()
            raise
        axis._owns_controller = True
        return axis

    # -------------------------------------------------------------- helpers
    @property
    def travel_um(self) -> tuple[float, float]:
        """Soft travel limits ``(min_um, max_um)``."""
        return self._travel_um

    @property
    def counts_per_um(self) -> float:
        """Encoder counts (or microsteps) per um."""
        return self._cpu

    @property
    def _dev(self) -> Any:
        """The library device, for commands (raises :class:`StageError` once closed)."""
        self.controller.ensure_open()
        return self.controller.device

    def _latest(self) -> Received:
        got = self.controller.log.latest(self.bay)
        if got is None:
            raise StageError(f"{self.name}: no status received from the controller")
        return got

    def _um(self, counts: int) -> float:
        return counts / self._cpu

    def _command(self, kind: str, target_counts: int, send: Any) -> None:
        self._settled_counts, self._stopped = None, False
        overlapped = self._pending is not None
        start = self._latest().status.position_counts
        sent_after = self.controller.log.seq
        send()
        self._pending = Pending(kind, target_counts, start, self.controller.mark(), overlapped,
                                sent_after)

    # ------------------------------------------------------------- interface
    def move_to(self, position_um: float) -> None:
        """Start an absolute move to ``position_um`` and return at once.

        Raises
        ------
        TravelLimitError
            If ``position_um`` is not finite or outside :attr:`travel_um`
            (nothing is sent).
        StageError
            If the axis is not homed and ``require_homed`` is set.
        """
        lo, hi = self._travel_um
        if not (math.isfinite(position_um) and lo <= position_um <= hi):
            raise TravelLimitError(
                f"{self.name}: {position_um!r} um is outside travel [{lo:g}, {hi:g}] um")
        if self.require_homed and not self._latest().status.has(P.StatusBits.HOMED):
            raise StageError(f"{self.name}: not homed; call home() first (or construct "
                             "with require_homed=False)")
        counts = round(position_um * self._cpu)
        if self._already_going_to(counts):
            return
        self._command("move", counts,
                      lambda: self._dev.move_absolute(position=counts, bay=self.bay, channel=0))

    def _already_going_to(self, counts: int) -> bool:
        """True if a move to ``counts`` would change nothing: a move there is under way, or
        the last one settled there and the axis is still at rest within tolerance."""
        pending = self._pending
        if pending is not None:
            return (pending.kind == "move" and pending.target_counts == counts
                    and not self._stopped)
        if self._settled_counts != counts:
            return False
        status = self._latest().status
        return (abs(status.position_counts - counts) <= self._tol_counts
                and not status.has(P.MOVING_MASK | P.StatusBits.HOMING))

    def position_um(self) -> float:
        """Position from the latest status update (at most one poll period old)."""
        return self._um(self._latest().status.position_counts)

    def position_sample(self) -> tuple[float, float]:
        """``(position_um, age_s)`` of the latest status update (fly scans time-stamp it)."""
        got = self._latest()
        return self._um(got.status.position_counts), max(0.0, time.monotonic() - got.t_s)

    def read_status(self, fresh: bool = False, timeout_s: float = 1.0) -> AxisStatus:
        """Decoded status of the axis.

        With ``fresh=False`` (default) from the latest status update or
        end-of-move message (up to one poll period old, see ``age_s``); with
        ``fresh=True`` from ``MOT_REQ_POSCOUNTER`` and ``MOT_REQ_STATUSBITS``
        sent now, whose replies cannot be stale.
        """
        if not fresh:
            got = self._latest()
            return self._axis_status(got.status.position_counts, got.status.status_bits,
                                     got.t_s)
        ctl, log, dest = self.controller, self.controller.log, self._dev.bays[self.bay]
        seq = min(ctl.send(P.encode(P.short(req, dest, P.HOST, 1)))
                  for req in (P.MsgId.MOT_REQ_POSCOUNTER, P.MsgId.MOT_REQ_STATUSBITS))

        def both() -> tuple[Received, Received] | None:
            got = {e.kind: e for e in log.replies(self.bay, seq)}
            wanted = ("poscounter", "statusbits")
            return (got["poscounter"], got["statusbits"]) if all(k in got for k in wanted) \
                else None

        pair = log.wait_until(both, time.monotonic() + timeout_s)
        if pair is None:
            raise StageError(f"{self.name}: no position/status reply within {timeout_s:g} s")
        pos, bits = pair
        return self._axis_status(pos.status.position_counts, bits.status.status_bits,
                                 max(pos.t_s, bits.t_s))

    def _axis_status(self, counts: int, bits: int, t_s: float) -> AxisStatus:
        st, S = D.MotorStatus(1, counts, bits), P.StatusBits
        return AxisStatus(counts, self._um(counts), st.has(P.MOVING_MASK), st.has(S.HOMING),
                          st.has(S.HOMED), st.has(S.ENABLED), st.has(S.MOTION_ERROR),
                          st.has(S.FORWARD_LIMIT), st.has(S.REVERSE_LIMIT), bits,
                          time.monotonic() - t_s)

    def is_moving(self) -> bool:
        """True until the last command is confirmed finished (faults count as finished)."""
        if self._pending is None:
            return self._latest().status.has(P.MOVING_MASK | P.StatusBits.HOMING)
        try:
            with self.controller.log.cond:
                return self._evaluate(self._pending) is None
        except StageError:
            return False

    def wait_settled(self, timeout_s: float = 60.0) -> None:
        """Block until the last move (or homing) has finished at its target.

        Raises
        ------
        StageError
            On timeout, motion error, a stop short of the target or a limit
            switch; the message names the axis.
        """
        pending = self._pending
        if pending is None:
            return
        deadline = time.monotonic() + timeout_s
        self._settled_counts = None
        try:
            done = self.controller.log.wait_until(lambda: self._evaluate(pending), deadline)
        except StageError:
            self._pending = None  # the command is over, unsuccessfully
            raise
        if done is None:
            what = "homed" if pending.kind == "home" else "settled"
            where = describe(self._latest().status, self._cpu)
            raise StageError(f"{self.name}: not {what} within {timeout_s:g} s (target "
                             f"{self._um(pending.target_counts):.3f} um, {where})")
        self._pending = None
        if pending.kind == "move":
            self._settled_counts = pending.target_counts

    def home(self, timeout_s: float = 120.0) -> None:
        """Enable the channel if needed, run the homing sequence and wait for it (explicit only)."""
        if not self._latest().status.has(P.StatusBits.ENABLED):
            self.enable()
        self._command("home", 0, lambda: self._dev.home(bay=self.bay, channel=0))
        self.wait_settled(timeout_s)

    def _evaluate(self, p: Pending) -> bool | None:
        log = self.controller.log
        statuses, events = log.since(self.bay, p.mark)
        if p.kind == "home" and p.sent_after >= 0:
            # MOVE_HOMED answers nothing but a homing command: one decoded before the mark
            # (a fast homing while this thread waited for the CPU) is this command's too
            early = [e for e in log.since(self.bay, p.sent_after)[1]
                     if e.kind == "homed" and e.seq <= p.mark]
            events = early + events
        return evaluate(self.name, p, statuses, events, self._tol_counts, self._cpu)

    # ---------------------------------------------------------------- extras
    def enable(self, timeout_s: float = 2.0) -> None:
        """Energise the drive (``MOD_SET_CHANENABLESTATE``) and wait for the status to say so."""
        self._dev.set_enabled(True, bay=self.bay, channel=0)
        seq = self.controller.mark()
        log = self.controller.log
        ok = log.wait_until(lambda: True if any(e.status.has(P.StatusBits.ENABLED)
                                                for e in log.since(self.bay, seq)[0])
                            else None, time.monotonic() + timeout_s)
        if ok is None:
            raise StageError(f"{self.name}: channel not enabled within {timeout_s:g} s")

    def stop(self, immediate: bool = False) -> None:
        """Stop the axis: decelerate (profiled), or at once if ``immediate``.

        A pending move's :meth:`wait_settled` then raises (stopped short of the
        target); a velocity move's returns once the axis is at rest.
        """
        self._settled_counts, self._stopped = None, True
        self._dev.stop(immediate=bool(immediate), bay=self.bay, channel=0)

    def settings(self) -> dict[str, float | int | str | bool]:
        """Every setting worth recording in a scan file (NaN where not yet reported)."""
        ctl, scaling = self.controller, self.controller.model.scaling
        vp = ctl.device.velparams_[self.bay][0]
        known = bool(vp.get("msg"))
        nan = float("nan")
        st = self.controller.log.latest(self.bay)
        return {
            "kind": "thorlabs_apt", "name": self.name, "controller": ctl.model.name,
            "serial_port": ctl.serial_port, "bay": self.bay, "stage_model": self.model.name,
            "counts_per_um": self._cpu, "counts_per_mm_source": self.model.source,
            "travel_min_um": self._travel_um[0], "travel_max_um": self._travel_um[1],
            "velocity_um_per_s": scaling.velocity_from_apt(vp["max_velocity"], self._cpu)
            if known else nan,
            "max_velocity_um_per_s": self.max_velocity_um_per_s,
            "acceleration_um_per_s2": scaling.acceleration_from_apt(vp["acceleration"], self._cpu)
            if known else nan,
            "velocity_apt": int(vp["max_velocity"]), "acceleration_apt": int(vp["acceleration"]),
            "velocity_scaling_source": scaling.source,
            "require_homed": self.require_homed,
            "homed": bool(st and st.status and st.status.has(P.StatusBits.HOMED)),
            "position_tolerance_um": self._tol_counts / self._cpu,
            "serial_read_timeout_s": ctl.serial_read_timeout_s,
            **self.position_trigger_settings(),
        }

    def close(self) -> None:
        """Close the controller if this axis opened it (:meth:`connect`); else nothing."""
        if self._owns_controller:
            self.controller.close()

    def __enter__(self) -> AptStage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"AptStage(name={self.name!r}, controller={self.controller.model.name}, "
                f"port={self.controller.serial_port!r}, bay={self.bay}, stage={self.model.name})")
