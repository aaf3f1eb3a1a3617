"""The trigger ports of an emulated K-Cube motor channel (KDC101).

A K-Cube has two trigger ports whose modes and polarities are set with
``MOT_SET_KCUBETRIGIOCONFIG`` (:class:`~stages.apt.protocol.TrigMode`). In the
three position-step modes a port pulses where the moving axis crosses the
positions of ``MOT_SET_KCUBEPOSTRIGPARAMS``: moving forward at
``StartPosFwd + k * IntervalFwd``, moving in reverse at
``StartPosRev - k * IntervalRev`` (``k`` below the pulse count), each pulse
``PulseWidth`` us long (protocol doc).

Emulation choices (the protocol doc says no more):

* The pulses of a move are scheduled when its trajectory is known (move
  start, stop, any change of the trigger messages) from the exact crossing
  times; a position counts when the axis passes or reaches it after the move
  started (:meth:`stages.trajectory.Trajectory.crossing_times_s`).
* Every pass fires at every configured position it crosses. A *cycle* ends
  with the last pulse of the forward sequence (forward mode), of the reverse
  sequence (reverse mode, and both-directions mode: a forward then a reverse
  pass). After ``NumCycles`` cycles the port stays quiet until either trigger
  message is written again (which re-arms it); ``NumCycles <= 0`` never fires.
* If both ports are put in a position-step mode (the doc allows one), port 1's
  mode is used.
* Each pulse is reported at its rising edge: the crossing time for an
  active-high port, crossing + pulse width for an active-low one (what an
  edge-triggered input such as a lock-in's TRIG IN sees).
"""

from __future__ import annotations

import collections
import logging
import struct
from collections.abc import Callable

from stages.apt import payloads as D
from stages.apt.protocol import TrigMode, TrigPolarity
from stages.trajectory import Trajectory

log = logging.getLogger(__name__)

_POSSTEPS = (TrigMode.OUT_POSSTEPS_FWD, TrigMode.OUT_POSSTEPS_REV, TrigMode.OUT_POSSTEPS_BOTH)
#: Power-on trigger-port configuration: both ports disabled (emulation choice).
DEFAULT_CONFIG = (TrigMode.DISABLED, TrigPolarity.HIGH, TrigMode.DISABLED, TrigPolarity.HIGH)
#: Power-on position-trigger parameters: those of Thorlabs' KBD101 serial example ("set as
#: default at controller startup"): start 0, interval 0, 1 pulse each way, 50 us, 1 cycle.
DEFAULT_PARAMS = (0, 0, 1, 0, 0, 1, 50, 1)


class KCubeTriggers:
    """Trigger I/O configuration, position-trigger parameters and pending pulses.

    Parameters
    ----------
    chan_ident : int
        Channel written into replies.
    """

    def __init__(self, chan_ident: int = 1) -> None:
        self.chan_ident = chan_ident
        self.config_data = D.pack_trigioconfig(D.TrigIOConfig(chan_ident, *DEFAULT_CONFIG))
        self.params_data = D.pack_postrigparams(D.PosTrigParams(chan_ident, *DEFAULT_PARAMS))
        self.config = D.unpack_trigioconfig(self.config_data)
        self.params = D.unpack_postrigparams(self.params_data)
        self.cycles_done = 0
        self.fired = 0
        # (rising-edge time, direction +1/-1, index k) of the pulses still to come
        self._pulses: collections.deque[tuple[float, int, int]] = collections.deque()

    # ------------------------------------------------------------- messages
    def _store(self, data: bytes, size: int) -> bytes:
        """A SET payload as stored: channel rewritten, padded to the documented size."""
        body = bytes(data[2:size]).ljust(size - 2, b"\x00")
        return struct.pack("<H", self.chan_ident) + body

    def set_config(self, data: bytes) -> None:
        """``MOT_SET_KCUBETRIGIOCONFIG`` (re-arms the position-step output)."""
        D.unpack_trigioconfig(data)  # FrameError if too short
        self.config_data = self._store(data, len(self.config_data))
        self.config = D.unpack_trigioconfig(self.config_data)
        if sum(m in _POSSTEPS for m in (self.config.trig1_mode, self.config.trig2_mode)) > 1:
            log.warning("K-Cube: both trigger ports in a position-step mode; port 1's is used")
        self.cycles_done = 0

    def set_params(self, data: bytes) -> None:
        """``MOT_SET_KCUBEPOSTRIGPARAMS`` (re-arms the position-step output)."""
        D.unpack_postrigparams(data)  # FrameError if too short
        self.params_data = self._store(data, len(self.params_data))
        self.params = D.unpack_postrigparams(self.params_data)
        self.cycles_done = 0

    def output(self) -> tuple[int, int] | None:
        """``(mode, polarity)`` of the port in a position-step mode, or None."""
        c = self.config
        for mode, polarity in ((c.trig1_mode, c.trig1_polarity), (c.trig2_mode, c.trig2_polarity)):
            if mode in _POSSTEPS:
                return mode, polarity
        return None

    # -------------------------------------------------------------- pulses
    def schedule(self, traj: Trajectory, after_s: float, counts_to_um: Callable[[int], float]
                 ) -> None:
        """Pulses of ``traj`` at or after ``after_s`` replace those still pending.

        ``counts_to_um`` maps a position-counter value to the physical position.
        """
        self._pulses.clear()
        out, d, p = self.output(), traj.direction, self.params
        if out is None or d == 0:
            return
        mode, polarity = out
        if d > 0 and mode in (TrigMode.OUT_POSSTEPS_FWD, TrigMode.OUT_POSSTEPS_BOTH):
            counts = [p.start_fwd_counts + k * p.interval_fwd_counts for k in range(p.pulses_fwd)]
        elif d < 0 and mode in (TrigMode.OUT_POSSTEPS_REV, TrigMode.OUT_POSSTEPS_BOTH):
            counts = [p.start_rev_counts - k * p.interval_rev_counts for k in range(p.pulses_rev)]
        else:
            return
        index = {counts_to_um(c): k for k, c in enumerate(counts)}
        delay_s = p.pulse_width_us * 1e-6 if polarity == TrigPolarity.LOW else 0.0
        for t_s, x_um in traj.crossing_times_s(index):
            if t_s >= after_s:
                self._pulses.append((t_s + delay_s, d, index[x_um]))

    @property
    def next_s(self) -> float | None:
        """Rising-edge time of the next pending pulse (None if none)."""
        return self._pulses[0][0] if self._pulses else None

    def due(self, now_s: float) -> list[float]:
        """Rising-edge times of the pulses due by ``now_s`` (removed; cycles counted)."""
        fired = []
        out = self.output()
        p = self.params
        while self._pulses and self._pulses[0][0] <= now_s:
            t_s, d, k = self._pulses.popleft()
            if out is None or self.cycles_done >= p.cycles:
                continue
            fired.append(t_s)
            last_fwd = d > 0 and k == p.pulses_fwd - 1 and out[0] == TrigMode.OUT_POSSTEPS_FWD
            last_rev = d < 0 and k == p.pulses_rev - 1 and out[0] != TrigMode.OUT_POSSTEPS_FWD
            if last_fwd or last_rev:
                self.cycles_done += 1
        self.fired += len(fired)
        return fired
