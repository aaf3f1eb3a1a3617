"""Deciding, from a controller's replies, whether a move or homing has finished.

:func:`evaluate` looks at the status updates and end-of-move messages of one
bay decoded after a command's mark (see :mod:`stages.apt.tracking`) and says
*done*, *not yet*, or raises :class:`~stages.interface.StageError`:

* ``MOVE_COMPLETED`` ends a move, ``MOVE_HOMED`` (then a status update saying
  homed) ends homing; ``MOVE_STOPPED`` short of the target, or a motion-error
  bit, is a failure (a tripped hardware limit switch is named in the message:
  ``"x: forward limit switch hit: move stopped short of the target ..."``).
  Messages of a superseded move are ignored when the new command overlapped it.
* Status updates count only from the first one showing the command took
  effect (moving or homing bits, or the position moved away from where it
  started by more than the tolerance): earlier ones may predate the command.
  From there, an axis at rest on target for :data:`LOST_EOM_S` (the
  end-of-move message was lost), or homed, is done; at rest short of the
  target on a limit switch, or for :data:`IDLE_STATUSES_TO_FAIL` updates, is
  a failure. A command that never shows an effect runs into the caller's
  timeout.
"""

from __future__ import annotations

from dataclasses import dataclass

from stages.apt import protocol as P
from stages.apt.payloads import MotorStatus
from stages.apt.tracking import Received
from stages.interface import StageError

#: Updates at rest short of the target before a move counts as stopped.
IDLE_STATUSES_TO_FAIL = 3
#: Without MOVE_COMPLETED, an axis must sit on target this long (seconds) to count as settled.
LOST_EOM_S = 0.3
_BUSY = P.MOVING_MASK | P.StatusBits.HOMING


@dataclass
class Pending:
    """A command whose end is awaited.

    Attributes
    ----------
    kind : str
        ``"move"``, ``"home"`` or ``"velocity"`` (runs until a stop or a travel limit).
    target_counts, start_counts : int
        Commanded position and the position reported just before the command.
    mark : int
        Message number of the mark scheduled after the command's write.
    overlapped : bool
        Issued before the previous command was confirmed finished.
    sent_after : int
        Message number just before the command was queued (-1: unknown). A
        ``MOVE_HOMED`` numbered between this and ``mark`` still answers a
        homing command: the calling thread was descheduled between queueing
        the command and its mark while the whole homing ran.
    """

    kind: str
    target_counts: int
    start_counts: int
    mark: int
    overlapped: bool
    sent_after: int = -1


def describe(st: MotorStatus, counts_per_um: float) -> str:
    """``"at 12.345 um, status: moving, homed"`` for error messages."""
    S = P.StatusBits
    names = [n for n, b in (("moving", P.MOVING_MASK), ("homing", S.HOMING), ("homed", S.HOMED),
                            ("enabled", S.ENABLED), ("motion error", S.MOTION_ERROR),
                            ("forward limit", S.FORWARD_LIMIT),
                            ("reverse limit", S.REVERSE_LIMIT)) if st.has(b)]
    pos_um = st.position_counts / counts_per_um
    return f"at {pos_um:.3f} um, status: {', '.join(names) or 'idle'}"


class _Judge:
    def __init__(self, name: str, p: Pending, tol_counts: int, counts_per_um: float) -> None:
        self.name, self.p, self.tol, self.cpu = name, p, tol_counts, counts_per_um
        self.doing = "homing" if p.kind == "home" else "move"

    def at_target(self, st: MotorStatus) -> bool:
        return abs(st.position_counts - self.p.target_counts) <= self.tol

    def shows_effect(self, st: MotorStatus) -> bool:
        if st.has(_BUSY):
            return True
        return self.p.kind == "move" and abs(st.position_counts - self.p.start_counts) > self.tol

    def fail(self, what: str, st: MotorStatus) -> StageError:
        target_um = self.p.target_counts / self.cpu
        return StageError(f"{self.name}: {what} (target {target_um:.3f} um); "
                          f"{describe(st, self.cpu)}")

    def stopped_short(self, st: MotorStatus) -> StageError:
        """The failure of a command that ended short of its target, naming a tripped limit."""
        S = P.StatusBits
        what = f"{self.doing} stopped short of the target"
        sides = [n for n, b in (("forward", S.FORWARD_LIMIT), ("reverse", S.REVERSE_LIMIT))
                 if st.has(b)]
        if sides:
            switch = "limit switches" if len(sides) == 2 else "limit switch"
            what = f"{' and '.join(sides)} {switch} hit: {what}"
        return self.fail(what, st)

    def parked_any_s(self, statuses: list[Received]) -> float:
        """How long the trailing run of at-rest updates has lasted (wherever the axis is)."""
        run = []
        for e in reversed(statuses):
            if e.status.has(_BUSY):
                break
            run.append(e)
        return run[0].t_s - run[-1].t_s if run else 0.0

    def parked_s(self, statuses: list[Received]) -> float:
        """How long the trailing run of at-rest, on-target updates has lasted."""
        run = []
        for e in reversed(statuses):
            if e.status.has(_BUSY) or not self.at_target(e.status):
                break
            run.append(e)
        return run[0].t_s - run[-1].t_s if run else 0.0


def evaluate(name: str, p: Pending, statuses: list[Received], events: list[Received],
             tol_counts: int, counts_per_um: float) -> bool | None:
    """True when ``p`` is done, None while in progress.

    Parameters
    ----------
    name : str
        Axis name, for error messages.
    p : Pending
        The command.
    statuses, events : list of Received
        Status updates and end-of-move messages of the axis after ``p.mark``.
    tol_counts : int
        Arrival tolerance, counts.
    counts_per_um : float
        For positions in error messages.

    Raises
    ------
    StageError
        Motion error, a stop short of the target, or a limit switch.
    """
    j, S = _Judge(name, p, tol_counts, counts_per_um), P.StatusBits
    if p.kind == "velocity":
        return _evaluate_velocity(j, statuses, events)
    for e in events:  # end-of-move messages: always about a command the controller has seen
        if e.kind == "homed":
            if p.kind == "home":  # done once a status update says so too
                return True if any(s.seq > e.seq and s.status.has(S.HOMED)
                                   for s in statuses) else None
            continue
        if e.status.has(S.MOTION_ERROR):
            raise j.fail(f"motion error (position error) during {j.doing}", e.status)
        if p.overlapped and not j.at_target(e.status):
            continue  # a completed/stopped of an earlier, superseded move
        if p.kind == "move" and (e.kind == "completed" or j.at_target(e.status)):
            return True
        if p.kind == "home" and e.kind == "completed":
            continue
        raise j.stopped_short(e.status)
    first = next((i for i, s in enumerate(statuses) if j.shows_effect(s.status)), None)
    if first is None:  # nothing visible yet, or a move to where the axis already is
        return True if p.kind == "move" and j.parked_s(statuses) >= LOST_EOM_S else None
    post = statuses[first:]
    for e in post:
        if e.status.has(S.MOTION_ERROR):
            raise j.fail(f"motion error (position error) during {j.doing}", e.status)
    last = post[-1].status
    if last.has(_BUSY):
        return None
    if p.kind == "home" and last.has(S.HOMED):
        return True
    if p.kind == "move" and j.at_target(last):
        # at rest on target, but MOVE_COMPLETED (sent after the settle time) has not come
        return True if j.parked_s(post) >= LOST_EOM_S else None
    idle = next((i for i, e in enumerate(reversed(post)) if e.status.has(_BUSY)), len(post))
    if last.has(P.LIMIT_MASK) or idle >= IDLE_STATUSES_TO_FAIL:
        raise j.stopped_short(last)
    return None


def _evaluate_velocity(j: _Judge, statuses: list[Received], events: list[Received]
                       ) -> bool | None:
    """A velocity move is done when it has stopped: by a stop command or at a travel limit."""
    for e in events:
        if e.kind == "homed":
            continue
        if e.status.has(P.StatusBits.MOTION_ERROR):
            raise j.fail("motion error (position error) during velocity move", e.status)
        return True
    first = next((i for i, s in enumerate(statuses) if s.status.has(_BUSY)), None)
    if first is None:
        return None
    post = statuses[first:]
    for e in post:
        if e.status.has(P.StatusBits.MOTION_ERROR):
            raise j.fail("motion error (position error) during velocity move", e.status)
    return True if j.parked_any_s(post) >= LOST_EOM_S else None
