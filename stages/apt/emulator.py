"""A Thorlabs APT motor controller emulated on a pseudo-terminal.

:class:`AptEmulator` opens a pty pair, serves the APT binary protocol on the
master side from a background thread, and gives the slave path
(:attr:`AptEmulator.port`) to a client such as thorlabs-apt-device as its
``serial_port``. Each channel is an :class:`~stages.apt.emulated_axis.EmulatedAxis`
whose motion is a :class:`~stages.simulated.SimulatedStage` on the wall clock.

Addressing follows the controller type: a single-channel unit (KDC101,
TDC001) answers from ``0x50`` whatever it was addressed as; a bay system
(BSC20x, BBD20x) answers bay messages from ``0x21 + bay`` and motherboard
messages (``HW_GET_INFO``, ``RACK_GET_BAYUSED``) from ``0x11``.

Motion: absolute, relative, velocity (``MOT_MOVE_VELOCITY``) and jog moves,
immediate or profiled stops, homing (:mod:`stages.apt.emulator_channel`). A
K-Cube's position-trigger pulses call each ``axes[i].trigger_outputs``
callable with the pulse time on :attr:`AptEmulator.clock`, from the serving
thread with the lock held (:mod:`stages.apt.kcube_triggers`).

Fault hooks for tests: :meth:`AptEmulator.garble_replies`,
:meth:`AptEmulator.drop_replies`, :meth:`AptEmulator.inject_raw`,
:meth:`AptEmulator.inject_motion_error`, :meth:`AptEmulator.trigger_limit_switch`.

Run ``python -m stages.apt.emulator KDC101 MTS25-Z8`` to serve one on a pty
until Ctrl-C (prints the port to give a real configuration).
"""

from __future__ import annotations

import collections
import logging
import os
import select
import threading
import tty
from collections.abc import Sequence

from stages.apt import payloads as D
from stages.apt import protocol as P
from stages.apt.emulated_axis import EmulatedAxis
from stages.apt.emulator_channel import handle_channel
from stages.apt.models import controller_model, stage_model
from stages.clock import WallClock
from stages.interface import Clock
from stages.simulated import StageDynamics

log = logging.getLogger(__name__)
M = P.MsgId
_IGNORED = {M.HW_NO_FLASH_PROGRAMMING, M.HW_YES_FLASH_PROGRAMMING, M.HW_DISCONNECT,
            M.MOT_ACK_DCSTATUSUPDATE}


class AptEmulator:
    """An APT controller on a pty, served from a thread.

    Parameters
    ----------
    controller : str
        Controller model (see :data:`stages.apt.models.CONTROLLER_MODELS`).
    stages : str or sequence of str
        Stage model per bay (one name is used for every bay).
    dynamics : StageDynamics, optional
        Motion parameters of every axis (default: :class:`StageDynamics` defaults).
    start_um : float or sequence of float, optional
        Power-on position of each axis (default mid-travel).
    counter_zero_at_power_on : bool
        Position counters read 0 at power-on, as on hardware (default True).
    update_period_s : float
        Period of unsolicited status updates after ``HW_START_UPDATEMSGS``
        (hardware: 100 ms).
    clock : Clock, optional
        Time source (default :class:`~stages.clock.WallClock`).
    lock : threading.RLock, optional
        Held while a command is handled; share it with whatever else reads the
        simulated axes from another thread (the emulated lab's lock-in).
    homed : bool
        Start as already homed (with ``counter_zero_at_power_on=False``: a
        controller left powered since its last homing).

    Attributes
    ----------
    port : str
        Slave side of the pty (after :meth:`start`): the client's ``serial_port``.
    axes : list of EmulatedAxis
        One per bay; ``axes[i].stage`` is the simulated motion.
    received : deque of Frame
        Last 10000 frames received; :meth:`count` gives totals per message id.
    sent_counts : Counter
        Frames sent per message id (dropped ones excluded).
    end_of_move_messages : bool
        Send ``MOVE_COMPLETED`` / ``MOVE_STOPPED`` / ``MOVE_HOMED`` (toggled by
        ``MOT_SUSPEND/RESUME_ENDOFMOVEMSGS``, or directly).
    """

    def __init__(
        self,
        controller: str = "KDC101",
        stages: str | Sequence[str] = "MTS25-Z8",
        dynamics: StageDynamics | None = None,
        start_um: float | Sequence[float] | None = None,
        counter_zero_at_power_on: bool = True,
        update_period_s: float = 0.1,
        clock: Clock | None = None,
        lock: threading.RLock | None = None,
        homed: bool = False,
    ) -> None:
        self.controller = controller_model(controller)
        n = self.controller.n_bays
        names = [stages] * n if isinstance(stages, str) else list(stages)
        starts = start_um if isinstance(start_um, Sequence) else [start_um] * n
        if len(names) != n or len(starts) != n:
            raise ValueError(f"{self.controller.name} has {n} bay(s): give {n} stage(s)/start(s)")
        self.clock = clock if clock is not None else WallClock()
        family = self.controller.scaling
        kcube = self.controller.name.startswith("K")  # K-Cubes have trigger ports
        self.axes = [
            EmulatedAxis(stage_model(name, self.controller), family, self.clock, dynamics,
                         start, counter_zero_at_power_on, kcube=kcube)
            for name, start in zip(names, starts, strict=True)
        ]
        for axis in self.axes:  # homed earlier, counter kept (a controller left powered)
            axis.homed = axis.stage.homed = bool(homed)
        self.serial_number = self.controller.serial_prefix * 1_000_000 + 1
        self.update_period_s = float(update_period_s)
        self.received: collections.deque[P.Frame] = collections.deque(maxlen=10000)
        self.counts: collections.Counter[int] = collections.Counter()
        self.sent_counts: collections.Counter[int] = collections.Counter()
        self.end_of_move_messages = True
        self._updates = [False] * n
        self._next_update_s = [0.0] * n
        self._garble = 0
        self._drop = 0
        self._drop_ids: frozenset[int] | None = None
        # a shared lock lets a simulated lab read the axes while this thread moves them
        self._lock = lock if lock is not None else threading.RLock()
        rack = self.controller.rack
        dests = {P.RACK, *(P.bay_address(i) for i in range(n))} if rack else {P.USB, P.RACK, P.BAY0}
        self._decoder = P.FrameDecoder(dests=dests, sources={P.HOST})
        self._out = bytearray()
        self._master = self._slave = -1
        self._wake_r = self._wake_w = -1
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.port = ""

    # ------------------------------------------------------------- lifecycle
    def start(self) -> AptEmulator:
        """Open the pty and start serving; :attr:`port` is then the slave path."""
        if self._thread is not None:
            raise RuntimeError("emulator already started")
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self._wake_r, self._wake_w = os.pipe()
        self.port = os.ttyname(self._slave)
        self._thread = threading.Thread(target=self._run, name=f"apt-emulator {self.port}",
                                        daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop the thread and close every file descriptor (idempotent)."""
        if self._thread is not None:
            self._stop.set()
            os.write(self._wake_w, b"x")
            self._thread.join(timeout=5.0)
            self._thread = None
        for fd in (self._master, self._slave, self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = self._wake_r = self._wake_w = -1

    def __enter__(self) -> AptEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------- fault hooks
    def garble_replies(self, n: int = 1) -> None:
        """Corrupt the header of the next ``n`` replies (the client must resync)."""
        with self._lock:
            self._garble += n

    def drop_replies(self, n: int = 1, msg_ids: Sequence[int] | None = None) -> None:
        """Do not send the next ``n`` replies (only those with ids in ``msg_ids``, if given)."""
        with self._lock:
            self._drop += n
            self._drop_ids = frozenset(msg_ids) if msg_ids is not None else None

    def inject_motion_error(self, bay: int = 0) -> None:
        """Position error on ``bay``: halt, set the motion-error bit, send MOVE_STOPPED."""
        with self._lock:
            self.axes[bay].inject_motion_error(self.clock.now_s())

    def trigger_limit_switch(self, bay: int = 0, forward: bool = True) -> None:
        """A hardware limit switch on ``bay`` trips: halt and report it until the next move."""
        with self._lock:
            self.axes[bay].trigger_limit(forward, self.clock.now_s())

    def inject_raw(self, data: bytes) -> None:
        """Send arbitrary bytes to the client (line noise, malformed frames)."""
        with self._lock:
            self._out.extend(data)

    def count(self, msg_id: int) -> int:
        """How many messages with ``msg_id`` the emulator has received."""
        with self._lock:
            return self.counts[msg_id]

    # ------------------------------------------------------------ transport
    def send(self, frame: P.Frame) -> None:
        if self._drop and (self._drop_ids is None or frame.msg_id in self._drop_ids):
            self._drop -= 1
            log.info("emulator: dropped %s", frame.name)
            return
        raw = bytearray(P.encode(frame))
        if self._garble:
            self._garble -= 1
            raw[4] ^= 0x5A  # destination byte: no valid address any more
            raw[0] ^= 0xFF
            log.info("emulator: garbled %s", frame.name)
        self.sent_counts[frame.msg_id] += 1
        self._out.extend(raw)

    def _flush(self) -> None:
        if not self._out:
            return
        try:
            written = os.write(self._master, self._out)
        except (BlockingIOError, InterruptedError):
            return
        del self._out[:written]

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                busy = any(a.busy for a in self.axes) or any(self._updates)
                wlist = [self._master] if self._out else []
                pulses = [a.triggers.next_s for a in self.axes
                          if a.triggers is not None and a.triggers.next_s is not None]
                timeout = 0.002 if busy else 0.05
                if pulses:  # wake up for the next trigger pulse
                    timeout = min(timeout, max(min(pulses) - self.clock.now_s(), 0.0))
            r, w, _ = select.select([self._master, self._wake_r], wlist, [], timeout)
            if self._master in r:
                try:
                    data = os.read(self._master, 4096)
                except (BlockingIOError, InterruptedError):
                    data = b""
                except OSError:  # EIO on some systems when the client side hangs up
                    data = b""
                with self._lock:
                    for frame in self._decoder.feed(data):
                        try:
                            self._handle(frame)
                        except Exception:  # keep serving: one bad frame is not fatal
                            log.exception("emulator: error handling %s", frame.name)
            with self._lock:
                self._tick(self.clock.now_s())
                self._flush()

    # ------------------------------------------------------------- behaviour
    def reply_source(self, bay: int) -> int:
        return P.bay_address(bay) if self.controller.rack else P.USB

    def _bay_of(self, frame: P.Frame) -> int | None:
        if not self.controller.rack:
            return 0
        if P.BAY0 <= frame.dest < P.BAY0 + len(self.axes):
            return frame.dest - P.BAY0
        return None

    def status_frame(self, msg_id: int, bay: int, now_s: float) -> P.Frame:
        st = self.axes[bay].status(now_s)
        dc = msg_id in (M.MOT_GET_DCSTATUSUPDATE,) or (
            msg_id in (M.MOT_MOVE_COMPLETED, M.MOT_MOVE_STOPPED)
            and self.controller.scaling.status_message == "dc"
        )
        data = D.pack_dcstatus(st) if dc else D.pack_status(st)
        return P.long(msg_id, P.HOST, self.reply_source(bay), data)

    def _tick(self, now_s: float) -> None:
        for bay, axis in enumerate(self.axes):
            axis.fire_triggers(now_s)
            event = axis.poll(now_s)
            if event is not None and self.end_of_move_messages:
                if event == "homed":
                    self.send(P.short(M.MOT_MOVE_HOMED, P.HOST, self.reply_source(bay),
                                       axis.chan_ident))
                else:
                    msg = M.MOT_MOVE_COMPLETED if event == "completed" else M.MOT_MOVE_STOPPED
                    self.send(self.status_frame(msg, bay, now_s))
            if self._updates[bay] and now_s >= self._next_update_s[bay]:
                self._next_update_s[bay] = now_s + self.update_period_s
                native = self.controller.scaling.status_message == "dc"
                msg = M.MOT_GET_DCSTATUSUPDATE if native else M.MOT_GET_STATUSUPDATE
                self.send(self.status_frame(msg, bay, now_s))

    def _hwinfo(self) -> P.Frame:
        c = self.controller
        info = D.HardwareInfo(
            serial_number=self.serial_number, model=c.name, hw_type=45 if c.rack else 16,
            firmware=(3, 0, 10), notes=f"APT emulator ({self.axes[0].stage_model.name})",
            hw_version=1, mod_state=0, n_channels=c.n_bays,
            stage_id=0 if c.rack else self.axes[0].stage_model.kdc_stage_id,
        )
        return P.long(M.HW_GET_INFO, P.HOST, P.RACK if c.rack else P.USB, D.pack_hwinfo(info))

    def _handle(self, frame: P.Frame) -> None:
        self.received.append(frame)
        self.counts[frame.msg_id] += 1
        mid, now = frame.msg_id, self.clock.now_s()
        if mid in _IGNORED:
            return
        if mid == M.HW_REQ_INFO:
            self.send(self._hwinfo())
            return
        if mid == M.MOD_IDENTIFY:
            log.info("emulator: identify (front-panel LED flashes)")
            return
        if mid == M.RACK_REQ_BAYUSED:
            used = 1 if frame.param1 < len(self.axes) else 2
            self.send(P.short(M.RACK_GET_BAYUSED, P.HOST, P.RACK, frame.param1, used))
            return
        bays = [self._bay_of(frame)]
        if mid in (M.HW_START_UPDATEMSGS, M.HW_STOP_UPDATEMSGS):
            targets = range(len(self.axes)) if bays[0] is None else bays
            for b in targets:
                self._updates[b] = mid == M.HW_START_UPDATEMSGS
                self._next_update_s[b] = now
            return
        bay = bays[0]
        if bay is None:
            log.warning("emulator: %s addressed to 0x%02x, not a bay; ignored", frame.name,
                        frame.dest)
            return
        try:
            handle_channel(self, frame, bay, self.axes[bay], now)
        except P.FrameError as exc:
            log.warning("emulator: malformed %s ignored (%s)", frame.name, exc)


def main(argv: Sequence[str] | None = None) -> None:
    """Serve an emulated controller on a pty until Ctrl-C.

    Usage: ``python -m stages.apt.emulator [CONTROLLER] [STAGE ...]``.
    """
    import argparse
    import time

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("controller", nargs="?", default="KDC101")
    parser.add_argument("stages", nargs="*", default=["MTS25-Z8"])
    args = parser.parse_args(argv)
    stages = args.stages if len(args.stages) > 1 else args.stages[0]
    with AptEmulator(args.controller, stages) as emu:
        print(f"{emu.controller.name} emulator on {emu.port} (Ctrl-C to stop)", flush=True)
        try:
            while True:
                time.sleep(1.0)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
