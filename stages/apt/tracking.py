"""Which controller replies arrived after which command.

thorlabs-apt-device keeps only the latest status per channel and ignores
end-of-move and hardware-info messages. :class:`MessageLog` is fed every
decoded message from the library's event-loop thread and keeps, per bay, a
numbered history of status updates, end-of-move events and replies to
requests the library never makes itself (position counter, status bits).

A command is followed by a *mark* scheduled on the same loop: messages
numbered after the mark were decoded after the command bytes were written.
That alone does not make them fresh - replies already on the wire, or held in
the library's unpacker while it skips a garbled frame, still describe the
state before the command - so :class:`~stages.apt.driver.AptStage` also looks
for evidence that the command took effect, and asks for position and status
bits with requests whose replies can only be answers to it.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from stages.apt.payloads import HardwareInfo, MotorStatus
from stages.apt.protocol import USB

T = TypeVar("T")
log = logging.getLogger(__name__)

#: Status flag names of thorlabs-apt-device's parser -> raw status bits.
FLAG_BITS: dict[str, int] = {
    "forward_limit_switch": 0x1, "reverse_limit_switch": 0x2, "forward_limit_soft": 0x4,
    "reverse_limit_soft": 0x8, "moving_forward": 0x10, "moving_reverse": 0x20,
    "jogging_forward": 0x40, "jogging_reverse": 0x80, "motor_connected": 0x100,
    "homing": 0x200, "homed": 0x400, "initializing": 0x800, "tracking": 0x1000,
    "settled": 0x2000, "motion_error": 0x4000, "instrument_error": 0x8000,
    "interlock": 0x10000, "motor_current_limit_reached": 0x1000000, "power_ok": 0x10000000,
    "active": 0x20000000, "error": 0x40000000, "channel_enabled": 0x80000000,
}
_KINDS = {
    "mot_get_statusupdate": "status", "mot_get_dcstatusupdate": "status",
    "mot_move_completed": "completed", "mot_move_stopped": "stopped", "mot_move_homed": "homed",
    "mot_get_poscounter": "poscounter", "mot_get_statusbits": "statusbits",
    "mot_get_kcubetrigconfig": "trigio", "mot_get_kcubeposttrigparams": "postrig",
}
#: Replies kept as the library's decoded fields, not as a status.
_FIELD_KINDS = ("trigio", "postrig")


@dataclass(frozen=True)
class Received:
    """One logged message: arrival number and time, kind, and status (if it carries one);
    ``fields``: the library's decoded fields of a reply that is no status (K-Cube triggers)."""

    seq: int
    t_s: float
    kind: str
    status: MotorStatus | None
    fields: dict[str, Any] | None = None


def status_from_message(m: Any) -> MotorStatus:
    """Rebuild a :class:`MotorStatus` (raw bits) from the library's decoded namedtuple."""
    fields = m._asdict()
    bits = 0
    for name, bit in FLAG_BITS.items():
        if fields.get(name):
            bits |= bit
    pos = int(fields.get("position", 0))
    return MotorStatus(int(fields.get("chan_ident", 1)), pos, bits,
                       velocity=int(fields.get("velocity", 0)),
                       encoder_count=int(fields.get("enc_count", pos)))


class MessageLog:
    """Thread-safe, numbered history of one controller's replies.

    Parameters
    ----------
    bay_addresses : tuple of int
        The library's bay addresses, in bay order (``(0x50,)`` for a KDC101).
    history : int
        Status messages kept per bay.
    """

    def __init__(self, bay_addresses: tuple[int, ...], history: int = 256) -> None:
        self._bays = bay_addresses
        self.cond = threading.Condition()
        self._seq = 0
        self._statuses = [collections.deque(maxlen=history) for _ in bay_addresses]
        self._events = [collections.deque(maxlen=32) for _ in bay_addresses]
        self._replies = [collections.deque(maxlen=32) for _ in bay_addresses]
        self._marks: dict[int, int] = {}
        self._next_token = 0
        self.info: tuple[int, HardwareInfo] | None = None

    def _bay_index(self, source: int) -> int:
        if source == USB or source not in self._bays:
            return 0
        return self._bays.index(source)

    def record(self, m: Any) -> None:
        """Log one message (called on the library's event-loop thread; never raises,
        since an exception there would end the library's read loop)."""
        try:
            self._record(m)
        except Exception:
            log.exception("APT message log: cannot record %r", m)

    def _record(self, m: Any) -> None:
        kind = _KINDS.get(m.msg)
        if kind is None and m.msg != "hw_get_info":
            return
        with self.cond:
            self._seq += 1
            now = time.monotonic()
            if m.msg == "hw_get_info":
                fw = list(m.firmware_version)
                model = m.model_number.rstrip(b"\x00 ").decode("ascii", "replace")
                self.info = (self._seq, HardwareInfo(
                    int(m.serial_number), model, int(m.type), (fw[0], fw[1], fw[2]), "",
                    int(m.hw_version), int(m.mod_state), int(m.nchs)))
            else:
                bay = self._bay_index(m.source)
                if kind in _FIELD_KINDS:
                    entry = Received(self._seq, now, kind, None, fields=m._asdict())
                else:
                    status = None if kind == "homed" else status_from_message(m)
                    entry = Received(self._seq, now, kind, status)
                if kind == "status":
                    self._statuses[bay].append(entry)
                elif kind in ("poscounter", "statusbits", *_FIELD_KINDS):
                    self._replies[bay].append(entry)
                else:
                    self._events[bay].append(entry)
            self.cond.notify_all()

    # ----------------------------------------------------------------- marks
    def new_token(self) -> int:
        """A token for :meth:`set_mark` / :meth:`wait_mark`."""
        with self.cond:
            self._next_token += 1
            return self._next_token

    def set_mark(self, token: int) -> None:
        """Record the current message number under ``token`` (event-loop thread)."""
        with self.cond:
            self._marks[token] = self._seq
            self.cond.notify_all()

    def wait_mark(self, token: int, timeout_s: float) -> int | None:
        """Message number recorded by :meth:`set_mark`, or None after ``timeout_s``."""
        with self.cond:
            ok = self.cond.wait_for(lambda: token in self._marks, timeout=max(timeout_s, 0.0))
            return self._marks.pop(token) if ok else None

    # --------------------------------------------------------------- queries
    @property
    def seq(self) -> int:
        """Number of the last message logged."""
        with self.cond:
            return self._seq

    def since(self, bay: int, seq: int) -> tuple[list[Received], list[Received]]:
        """``(status updates, end-of-move events)`` of ``bay`` after ``seq`` (lock held)."""
        return ([e for e in self._statuses[bay] if e.seq > seq],
                [e for e in self._events[bay] if e.seq > seq])

    def replies(self, bay: int, seq: int) -> list[Received]:
        """Replies to requests of ours after ``seq`` (lock held): ``MOT_GET_POSCOUNTER``,
        ``MOT_GET_STATUSBITS`` and the K-Cube trigger GETs.

        The library never requests these, so every one is the answer to a
        request of ours.
        """
        return [e for e in self._replies[bay] if e.seq > seq]

    def latest(self, bay: int) -> Received | None:
        """Most recent status of ``bay`` (status update or end-of-move message)."""
        with self.cond:
            last = [self._statuses[bay][-1]] if self._statuses[bay] else []
            candidates = [e for e in (*last, *self._events[bay]) if e.status is not None]
            return max(candidates, key=lambda e: e.seq) if candidates else None

    def wait_until(self, predicate: Callable[[], T | None], deadline_s: float) -> T | None:
        """Evaluate ``predicate`` (under the lock) after every message until it returns
        non-None or ``deadline_s`` (monotonic) passes; exceptions propagate."""
        with self.cond:
            while True:
                result = predicate()
                if result is not None:
                    return result
                remaining = deadline_s - time.monotonic()
                if remaining <= 0.0:
                    return None
                self.cond.wait(remaining)
