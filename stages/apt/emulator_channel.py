"""What an emulated APT controller does with a message addressed to one of its channels.

:func:`handle_channel` is the per-channel half of
:class:`~stages.apt.emulator.AptEmulator`: status and parameter requests,
stored parameter blocks, moves (absolute, relative, home, velocity, jog),
stops and, on K-Cubes, the trigger I/O configuration and position-trigger
parameters. Message ids, layouts and units follow the Thorlabs APT
communications protocol; a message the emulated controller does not know is
logged and ignored, as the controllers do (they send nothing back).
"""

from __future__ import annotations

import logging
import struct
from typing import TYPE_CHECKING

from stages.apt import payloads as D
from stages.apt import protocol as P
from stages.apt.emulated_axis import PARAM_BLOCKS, EmulatedAxis

if TYPE_CHECKING:
    from stages.apt.emulator import AptEmulator

log = logging.getLogger("stages.apt.emulator")
M = P.MsgId
_SET_TO_GET = {s: g for g, (s, _, _) in PARAM_BLOCKS.items()}
_REQ_TO_GET = {r: g for g, (_, r, _) in PARAM_BLOCKS.items()}
#: Direction byte of MOT_MOVE_VELOCITY / MOT_MOVE_JOG. The doc names 1 "forward" and 2
#: "reverse"; on the motor controllers 2 runs towards increasing position counts and 1
#: towards decreasing ones (clockwise: status bit 0x10), which is why pylablib sends 2 for
#: its positive direction and thorlabs-apt-device inverts its "forward" on KDC101/TDC001.
_DECREASING, _INCREASING = 1, 2
#: Stop mode byte of MOT_MOVE_STOP: 1 immediate, 2 profiled.
_IMMEDIATE = 1


def handle_channel(emu: AptEmulator, frame: P.Frame, bay: int, axis: EmulatedAxis,
                   now: float) -> None:
    """Act on ``frame`` for channel ``axis`` of bay ``bay`` at clock time ``now``.

    Raises
    ------
    FrameError
        A payload too short for its message (the caller logs and ignores it).
    """
    mid, src, chan = frame.msg_id, emu.reply_source(bay), axis.chan_ident
    if mid in (M.MOT_REQ_DCSTATUSUPDATE, M.MOT_REQ_STATUSUPDATE):
        emu.send(emu.status_frame(mid + 1, bay, now))
    elif mid == M.MOT_REQ_STATUSBITS:
        bits = axis.status(now).status_bits
        emu.send(P.long(M.MOT_GET_STATUSBITS, P.HOST, src, struct.pack("<HI", chan, bits)))
    elif mid == M.MOT_REQ_POSCOUNTER:
        data = D.pack_chan_int32(chan, axis.position_counts(now))
        emu.send(P.long(M.MOT_GET_POSCOUNTER, P.HOST, src, data))
    elif mid == M.MOT_SET_POSCOUNTER and frame.is_long:
        axis.set_counter(D.unpack_chan_int32(frame.data)[1], now)
    elif mid in _SET_TO_GET and frame.is_long:
        axis.set_params(_SET_TO_GET[mid], frame.data)
    elif mid in _REQ_TO_GET:
        get_id = _REQ_TO_GET[mid]
        emu.send(P.long(get_id, P.HOST, src, axis.params[get_id]))
    elif mid == M.MOD_SET_CHANENABLESTATE:
        axis.set_enabled(frame.param2 == 1, now)
    elif mid == M.MOD_REQ_CHANENABLESTATE:
        state = 1 if axis.enabled else 2
        emu.send(P.short(M.MOD_GET_CHANENABLESTATE, P.HOST, src, chan, state))
    elif mid == M.MOT_SET_TRIGGER:
        axis.trigger_mode = frame.param2
    elif mid == M.MOT_REQ_TRIGGER:
        emu.send(P.short(M.MOT_GET_TRIGGER, P.HOST, src, chan, axis.trigger_mode))
    elif not _handle_motion(frame, axis, now) and not _handle_kcube(emu, frame, axis, src):
        log.warning("emulator: unsupported message %s from 0x%02x ignored", frame.name,
                    frame.source)


def _direction(frame: P.Frame) -> bool | None:
    """True towards increasing counts, False decreasing, None (logged) for another byte."""
    if frame.param2 in (_DECREASING, _INCREASING):
        return frame.param2 == _INCREASING
    log.warning("emulator: %s with direction %d (1 or 2) ignored", frame.name, frame.param2)
    return None


def _handle_motion(frame: P.Frame, axis: EmulatedAxis, now: float) -> bool:
    """Moves, stops and end-of-move settings; False if ``frame`` is none of them."""
    mid = frame.msg_id
    if mid == M.MOT_MOVE_HOME:
        axis.home()
    elif mid == M.MOT_MOVE_ABSOLUTE:
        counts = (D.unpack_chan_int32(frame.data)[1] if frame.is_long
                  else axis.param_int(M.MOT_GET_MOVEABSPARAMS, 1))
        axis.move_absolute(counts)
    elif mid == M.MOT_MOVE_RELATIVE:
        delta = (D.unpack_chan_int32(frame.data)[1] if frame.is_long
                 else axis.param_int(M.MOT_GET_MOVERELPARAMS, 1))
        axis.move_relative(delta, now)
    elif mid in (M.MOT_MOVE_VELOCITY, M.MOT_MOVE_JOG):
        up = _direction(frame)
        if up is not None and mid == M.MOT_MOVE_VELOCITY:
            axis.move_velocity(up)
        elif up is not None:
            axis.jog(up, now)
    elif mid == M.MOT_MOVE_STOP:
        if now < axis.stage.move_end_s:
            axis.stop(now, immediate=frame.param2 == _IMMEDIATE)
        elif axis.busy or now < axis.stage.settled_at_s:
            axis.halt(now)
    else:
        return False
    return True


def _handle_kcube(emu: AptEmulator, frame: P.Frame, axis: EmulatedAxis, src: int) -> bool:
    """K-Cube trigger messages; False if ``frame`` is none of them or this is no K-Cube."""
    trig, mid = axis.triggers, frame.msg_id
    if trig is None:
        return False
    if mid == M.MOT_SET_KCUBETRIGIOCONFIG and frame.is_long:
        trig.set_config(frame.data)
    elif mid == M.MOT_SET_KCUBEPOSTRIGPARAMS and frame.is_long:
        trig.set_params(frame.data)
    elif mid == M.MOT_REQ_KCUBETRIGIOCONFIG:
        emu.send(P.long(M.MOT_GET_KCUBETRIGIOCONFIG, P.HOST, src, trig.config_data))
        return True
    elif mid == M.MOT_REQ_KCUBEPOSTRIGPARAMS:
        emu.send(P.long(M.MOT_GET_KCUBEPOSTRIGPARAMS, P.HOST, src, trig.params_data))
        return True
    else:
        return False
    axis.reschedule_triggers(emu.clock.now_s())
    return True
