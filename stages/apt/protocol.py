"""Thorlabs APT binary protocol: frames, message ids, addresses and payloads.

Every APT message starts with a 6-byte header (Thorlabs, "APT Communications
Protocol", issue 20 and later, section "Message format"):

* bytes 0-1: message id, little-endian ``uint16``;
* bytes 2-3: either two one-byte parameters (a *short* message: ``param1``,
  usually the channel, and ``param2``), or the length of the data packet that
  follows (a *long* message), little-endian ``uint16``;
* byte 4: destination address; bit 7 set means a data packet follows;
* byte 5: source address.

Addresses: ``0x01`` host PC, ``0x11`` rack controller / motherboard of a bay
system (BSC20x, BBD20x), ``0x21``-``0x2A`` bays 0-9 of such a system, ``0x50``
a generic single-channel USB unit (KDC101, TDC001).

This module is self-contained (no third-party imports); the APT emulator and
the protocol tests use it. The driver talks through ``thorlabs-apt-device``.
"""

from __future__ import annotations

import enum
import logging
import struct
from dataclasses import dataclass

log = logging.getLogger(__name__)

HEADER_SIZE = 6
MAX_DATA_LENGTH = 255  # "currently no data packet exceeds 255 bytes" (protocol doc)

HOST = 0x01
RACK = 0x11
BAY0 = 0x21
USB = 0x50
ALL_ADDRESSES = frozenset({0x00, HOST, RACK, USB, *range(BAY0, BAY0 + 10)})


def bay_address(bay_index: int) -> int:
    """Address of bay ``bay_index`` (0-based) in a rack system: ``0x21 + index``."""
    if not 0 <= bay_index <= 9:
        raise ValueError(f"bay index must be 0..9, got {bay_index!r}")
    return BAY0 + bay_index


class MsgId(enum.IntEnum):
    """Message ids used by the motor controllers handled here (protocol doc names)."""

    HW_DISCONNECT = 0x0002
    HW_REQ_INFO = 0x0005
    HW_GET_INFO = 0x0006
    HW_START_UPDATEMSGS = 0x0011
    HW_STOP_UPDATEMSGS = 0x0012
    HW_YES_FLASH_PROGRAMMING = 0x0017
    HW_NO_FLASH_PROGRAMMING = 0x0018
    RACK_REQ_BAYUSED = 0x0060
    RACK_GET_BAYUSED = 0x0061
    HW_RESPONSE = 0x0080
    HW_RICHRESPONSE = 0x0081
    MOD_SET_CHANENABLESTATE = 0x0210
    MOD_REQ_CHANENABLESTATE = 0x0211
    MOD_GET_CHANENABLESTATE = 0x0212
    MOD_IDENTIFY = 0x0223
    MOT_SET_POSCOUNTER = 0x0410
    MOT_REQ_POSCOUNTER = 0x0411
    MOT_GET_POSCOUNTER = 0x0412
    MOT_SET_VELPARAMS = 0x0413
    MOT_REQ_VELPARAMS = 0x0414
    MOT_GET_VELPARAMS = 0x0415
    MOT_SET_JOGPARAMS = 0x0416
    MOT_REQ_JOGPARAMS = 0x0417
    MOT_GET_JOGPARAMS = 0x0418
    MOT_SET_LIMSWITCHPARAMS = 0x0423
    MOT_REQ_LIMSWITCHPARAMS = 0x0424
    MOT_GET_LIMSWITCHPARAMS = 0x0425
    MOT_SET_POWERPARAMS = 0x0426
    MOT_REQ_POWERPARAMS = 0x0427
    MOT_GET_POWERPARAMS = 0x0428
    MOT_REQ_STATUSBITS = 0x0429
    MOT_GET_STATUSBITS = 0x042A
    MOT_SET_GENMOVEPARAMS = 0x043A
    MOT_REQ_GENMOVEPARAMS = 0x043B
    MOT_GET_GENMOVEPARAMS = 0x043C
    MOT_SET_HOMEPARAMS = 0x0440
    MOT_REQ_HOMEPARAMS = 0x0441
    MOT_GET_HOMEPARAMS = 0x0442
    MOT_MOVE_HOME = 0x0443
    MOT_MOVE_HOMED = 0x0444
    MOT_SET_MOVERELPARAMS = 0x0445
    MOT_REQ_MOVERELPARAMS = 0x0446
    MOT_GET_MOVERELPARAMS = 0x0447
    MOT_MOVE_RELATIVE = 0x0448
    MOT_SET_MOVEABSPARAMS = 0x0450
    MOT_REQ_MOVEABSPARAMS = 0x0451
    MOT_GET_MOVEABSPARAMS = 0x0452
    MOT_MOVE_ABSOLUTE = 0x0453
    MOT_MOVE_VELOCITY = 0x0457
    MOT_MOVE_COMPLETED = 0x0464
    MOT_MOVE_STOP = 0x0465
    MOT_MOVE_STOPPED = 0x0466
    MOT_MOVE_JOG = 0x046A
    MOT_SUSPEND_ENDOFMOVEMSGS = 0x046B
    MOT_RESUME_ENDOFMOVEMSGS = 0x046C
    MOT_REQ_STATUSUPDATE = 0x0480
    MOT_GET_STATUSUPDATE = 0x0481
    MOT_REQ_DCSTATUSUPDATE = 0x0490
    MOT_GET_DCSTATUSUPDATE = 0x0491
    MOT_ACK_DCSTATUSUPDATE = 0x0492
    MOT_SET_DCPIDPARAMS = 0x04A0
    MOT_REQ_DCPIDPARAMS = 0x04A1
    MOT_GET_DCPIDPARAMS = 0x04A2
    MOT_SET_AVMODES = 0x04B3
    MOT_REQ_AVMODES = 0x04B4
    MOT_GET_AVMODES = 0x04B5
    MOT_SET_TRIGGER = 0x0500
    MOT_REQ_TRIGGER = 0x0501
    MOT_GET_TRIGGER = 0x0502
    MOT_SET_KCUBETRIGIOCONFIG = 0x0523
    MOT_REQ_KCUBETRIGIOCONFIG = 0x0524
    MOT_GET_KCUBETRIGIOCONFIG = 0x0525
    MOT_SET_KCUBEPOSTRIGPARAMS = 0x0526
    MOT_REQ_KCUBEPOSTRIGPARAMS = 0x0527
    MOT_GET_KCUBEPOSTRIGPARAMS = 0x0528
    MOT_SET_KCUBEKSTLOOPPARAMS = 0x0529
    MOT_REQ_KCUBEKSTLOOPPARAMS = 0x052A
    MOT_GET_KCUBEKSTLOOPPARAMS = 0x052B


class TrigMode(enum.IntEnum):
    """K-Cube trigger port modes (``MOT_SET_KCUBETRIGIOCONFIG`` ``Trig1Mode``/``Trig2Mode``).

    Values of the protocol doc and of Kinesis' ``KMOT_TriggerPortMode``. Only
    one port at a time may be in one of the three position-step modes.
    """

    DISABLED = 0x00
    IN_GPI = 0x01
    IN_RELMOVE = 0x02
    IN_ABSMOVE = 0x03
    IN_HOME = 0x04
    OUT_GPO = 0x0A
    OUT_INMOTION = 0x0B
    OUT_MAXVELOCITY = 0x0C
    OUT_POSSTEPS_FWD = 0x0D
    OUT_POSSTEPS_REV = 0x0E
    OUT_POSSTEPS_BOTH = 0x0F
    OUT_FWDLIMIT = 0x10
    OUT_REVLIMIT = 0x11
    OUT_EITHERLIMIT = 0x12


class TrigPolarity(enum.IntEnum):
    """K-Cube trigger port polarity: the active state is logic high (1) or low (2)."""

    HIGH = 1
    LOW = 2


class StatusBits(enum.IntFlag):
    """Motor status bits (``MGMSG_MOT_GET_(DC)STATUSUPDATE``, ``MOVE_COMPLETED``).

    The protocol doc names the limit and motion bits by rotation sense
    (``P_MOT_SB_CWHARDLIMIT`` = 0x01, ``P_MOT_SB_CCWHARDLIMIT`` = 0x02,
    ``P_MOT_SB_INMOTIONCW`` = 0x10, ``P_MOT_SB_INMOTIONCCW`` = 0x20). Here, as in
    pylablib and in thorlabs-apt-device's KDC101/TDC001 mapping, clockwise is
    *reverse* (towards decreasing counts) and counter-clockwise *forward*.
    """

    REVERSE_LIMIT = 0x00000001
    FORWARD_LIMIT = 0x00000002
    REVERSE_SOFT_LIMIT = 0x00000004
    FORWARD_SOFT_LIMIT = 0x00000008
    MOVING_REVERSE = 0x00000010
    MOVING_FORWARD = 0x00000020
    JOGGING_REVERSE = 0x00000040
    JOGGING_FORWARD = 0x00000080
    CONNECTED = 0x00000100
    HOMING = 0x00000200
    HOMED = 0x00000400
    INITIALISING = 0x00000800
    TRACKING = 0x00001000
    SETTLED = 0x00002000
    MOTION_ERROR = 0x00004000
    INSTRUMENT_ERROR = 0x00008000
    INTERLOCK = 0x00010000
    CURRENT_LIMIT = 0x01000000
    POWER_OK = 0x10000000
    ACTIVE = 0x20000000
    ERROR = 0x40000000
    ENABLED = 0x80000000


MOVING_MASK = (
    StatusBits.MOVING_REVERSE
    | StatusBits.MOVING_FORWARD
    | StatusBits.JOGGING_REVERSE
    | StatusBits.JOGGING_FORWARD
)
LIMIT_MASK = StatusBits.REVERSE_LIMIT | StatusBits.FORWARD_LIMIT


class FrameError(ValueError):
    """Bytes that cannot be a valid APT frame, or a payload of the wrong size."""


@dataclass(frozen=True)
class Frame:
    """One APT message.

    Attributes
    ----------
    msg_id : int
        Message id (see :class:`MsgId`; unknown ids are allowed).
    dest, source : int
        Destination and source addresses (without the long-form flag).
    param1, param2 : int
        The two header parameters of a short message (0-255 each).
    data : bytes or None
        The data packet of a long message; ``None`` for a short one.
    """

    msg_id: int
    dest: int
    source: int
    param1: int = 0
    param2: int = 0
    data: bytes | None = None

    @property
    def is_long(self) -> bool:
        """True when a data packet follows the header."""
        return self.data is not None

    @property
    def chan_ident(self) -> int:
        """Channel: ``param1`` of a short message, first ``uint16`` of a long one."""
        if self.data is None:
            return self.param1
        if len(self.data) < 2:
            raise FrameError(f"message 0x{self.msg_id:04x}: data too short for a channel")
        return struct.unpack_from("<H", self.data)[0]

    @property
    def name(self) -> str:
        """Protocol name of the message id, or its hex value if unknown."""
        try:
            return MsgId(self.msg_id).name
        except ValueError:
            return f"0x{self.msg_id:04x}"


def encode(frame: Frame) -> bytes:
    """Serialise ``frame`` to bytes (header plus data packet, if any)."""
    if frame.data is None:
        return struct.pack(
            "<HBBBB", frame.msg_id, frame.param1 & 0xFF, frame.param2 & 0xFF,
            frame.dest & 0x7F, frame.source,
        )
    if len(frame.data) > MAX_DATA_LENGTH:
        raise FrameError(f"data packet of {len(frame.data)} bytes exceeds {MAX_DATA_LENGTH}")
    header = struct.pack("<HHBB", frame.msg_id, len(frame.data), frame.dest | 0x80, frame.source)
    return header + frame.data


def short(msg_id: int, dest: int, source: int, param1: int = 0, param2: int = 0) -> Frame:
    """A header-only message."""
    return Frame(msg_id, dest, source, param1=param1, param2=param2)


def long(msg_id: int, dest: int, source: int, data: bytes) -> Frame:
    """A message with a data packet."""
    return Frame(msg_id, dest, source, data=bytes(data))


class FrameDecoder:
    """Split a byte stream into :class:`Frame` objects, resynchronising on garbage.

    A header is accepted when its source is in ``sources`` and its destination
    in ``dests`` and, for a long message, the length is at most 255 bytes.
    Otherwise one byte is discarded (and counted) and decoding retries, so a
    garbled or truncated frame costs the bytes up to the next valid header.
    Message ids are not checked: unknown ids are passed on for the caller to
    log and ignore.

    Parameters
    ----------
    dests, sources : iterable of int, optional
        Acceptable addresses; default any known APT address.
    """

    def __init__(self, dests=None, sources=None) -> None:
        self._dests = frozenset(dests) if dests is not None else ALL_ADDRESSES
        self._sources = frozenset(sources) if sources is not None else ALL_ADDRESSES
        self._buf = bytearray()
        self.discarded_bytes = 0

    @property
    def pending_bytes(self) -> int:
        """Bytes held back waiting for the rest of a frame."""
        return len(self._buf)

    def _header_ok(self) -> bool:
        msg_id, length, dest, source = struct.unpack_from("<HHBB", self._buf)
        if (dest & 0x7F) not in self._dests or source not in self._sources:
            return False
        return not (dest & 0x80 and length > MAX_DATA_LENGTH) and msg_id != 0

    def feed(self, chunk: bytes) -> list[Frame]:
        """Add ``chunk`` to the stream and return every complete frame now available."""
        self._buf.extend(chunk)
        frames: list[Frame] = []
        while len(self._buf) >= HEADER_SIZE:
            if not self._header_ok():
                del self._buf[0]
                self.discarded_bytes += 1
                continue
            msg_id, length, dest, source = struct.unpack_from("<HHBB", self._buf)
            if dest & 0x80:
                if len(self._buf) < HEADER_SIZE + length:
                    break
                data = bytes(self._buf[HEADER_SIZE : HEADER_SIZE + length])
                del self._buf[: HEADER_SIZE + length]
                frames.append(Frame(msg_id, dest & 0x7F, source, data=data))
            else:
                p1, p2 = self._buf[2], self._buf[3]
                del self._buf[:HEADER_SIZE]
                frames.append(Frame(msg_id, dest, source, param1=p1, param2=p2))
        if self.discarded_bytes:
            log.debug("APT decoder: %d bytes discarded so far", self.discarded_bytes)
        return frames
