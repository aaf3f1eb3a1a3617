"""Payloads of the APT messages the motor controllers use (data packets after the header).

Layouts from the Thorlabs "APT Communications Protocol" (issue 20 and later);
all little-endian. Every ``unpack_*`` raises
:class:`~stages.apt.protocol.FrameError` on a packet that is too short.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from stages.apt.protocol import FrameError

_DCSTATUS = struct.Struct("<HihHI")  # chan, position, velocity, reserved, status bits
_STATUS = struct.Struct("<HiiI")  # chan, position, encoder count, status bits
_VELPARAMS = struct.Struct("<Hiii")  # chan, min velocity, acceleration, max velocity
_HWINFO = struct.Struct("<I8sH3BB48s12sHHH")
# K-Cube trigger messages: the documented packets end in 6 reserved words (Thorlabs' own
# KBD101 serial example: headers 23 05 16 00 and 26 05 2E 00, i.e. 22 and 46 bytes);
# clients send shorter ones (thorlabs-apt-device: 12 and 34 bytes, pylablib: 10 and 34).
_TRIGIO = struct.Struct("<5H12x")  # chan, trig1 mode, trig1 polarity, trig2 mode, polarity
_POSTRIG = struct.Struct("<H8i12x")  # chan, fwd start/interval/pulses, rev ..., width, cycles
TRIGIO_MIN_SIZE = 10
POSTRIG_MIN_SIZE = 34


def _check_size(what: str, data: bytes, size: int) -> None:
    if len(data) < size:
        raise FrameError(f"{what}: {len(data)} bytes, need {size}")


@dataclass(frozen=True)
class MotorStatus:
    """A channel's status, from either status-update message family.

    ``velocity`` is the DC-servo family's signed 16-bit velocity field
    (0 for stepper messages); ``encoder_count`` is the stepper family's encoder
    field (equal to ``position`` for DC servos).
    """

    chan_ident: int
    position_counts: int
    status_bits: int
    velocity: int = 0
    encoder_count: int = 0

    def has(self, bits: int) -> bool:
        """True if any of ``bits`` is set."""
        return bool(self.status_bits & bits)


def pack_dcstatus(status: MotorStatus) -> bytes:
    """14-byte payload of ``MOT_GET_DCSTATUSUPDATE`` / DC ``MOVE_COMPLETED``."""
    vel = max(-32768, min(32767, status.velocity))
    return _DCSTATUS.pack(
        status.chan_ident, status.position_counts, vel, 0, status.status_bits & 0xFFFFFFFF
    )


def unpack_dcstatus(data: bytes) -> MotorStatus:
    """Inverse of :func:`pack_dcstatus`."""
    _check_size("DC status", data, _DCSTATUS.size)
    chan, pos, vel, _, bits = _DCSTATUS.unpack_from(data)
    return MotorStatus(chan, pos, bits, velocity=vel, encoder_count=pos)


def pack_status(status: MotorStatus) -> bytes:
    """14-byte payload of ``MOT_GET_STATUSUPDATE`` (stepper / bay controllers)."""
    return _STATUS.pack(
        status.chan_ident, status.position_counts, status.encoder_count,
        status.status_bits & 0xFFFFFFFF,
    )


def unpack_status(data: bytes) -> MotorStatus:
    """Inverse of :func:`pack_status`."""
    _check_size("status", data, _STATUS.size)
    chan, pos, enc, bits = _STATUS.unpack_from(data)
    return MotorStatus(chan, pos, bits, encoder_count=enc)


@dataclass(frozen=True)
class VelParams:
    """Trapezoid parameters in APT units (see :mod:`stages.apt.models` for scaling)."""

    chan_ident: int
    min_velocity: int
    acceleration: int
    max_velocity: int


def pack_velparams(p: VelParams) -> bytes:
    """14-byte payload of ``MOT_SET_VELPARAMS`` / ``MOT_GET_VELPARAMS``."""
    return _VELPARAMS.pack(p.chan_ident, p.min_velocity, p.acceleration, p.max_velocity)


def unpack_velparams(data: bytes) -> VelParams:
    """Inverse of :func:`pack_velparams`."""
    _check_size("velocity parameters", data, _VELPARAMS.size)
    return VelParams(*_VELPARAMS.unpack_from(data))


def pack_chan_int32(chan_ident: int, value: int) -> bytes:
    """6-byte ``(channel, int32)`` payload: MOVE_ABSOLUTE/RELATIVE, GENMOVEPARAMS, ..."""
    return struct.pack("<Hi", chan_ident, value)


def unpack_chan_int32(data: bytes) -> tuple[int, int]:
    """Inverse of :func:`pack_chan_int32`."""
    _check_size("channel + int32", data, 6)
    chan, value = struct.unpack_from("<Hi", data)
    return chan, value


@dataclass(frozen=True)
class HardwareInfo:
    """Payload of ``HW_GET_INFO`` (84 bytes).

    ``stage_id`` is read from bytes 76-77 (the end of the reserved block after
    the notes), where KDC101/TDC001 report the connected Z8/MTS stage type
    (as read by pylablib); other controllers leave it 0.
    """

    serial_number: int
    model: str
    hw_type: int
    firmware: tuple[int, int, int]
    notes: str
    hw_version: int
    mod_state: int
    n_channels: int
    stage_id: int = 0


def pack_hwinfo(info: HardwareInfo) -> bytes:
    """84-byte payload of ``HW_GET_INFO``."""
    major, interim, minor = info.firmware
    reserved = bytes(10) + struct.pack("<H", info.stage_id)
    return _HWINFO.pack(
        info.serial_number, info.model.encode("ascii")[:8], info.hw_type, minor, interim,
        major, 0, info.notes.encode("ascii")[:48], reserved, info.hw_version,
        info.mod_state, info.n_channels,
    )


def unpack_hwinfo(data: bytes) -> HardwareInfo:
    """Inverse of :func:`pack_hwinfo`."""
    _check_size("hardware info", data, _HWINFO.size)
    (serial, model, hw_type, minor, interim, major, _, notes, reserved, hw_version,
     mod_state, n_channels) = _HWINFO.unpack_from(data)
    return HardwareInfo(
        serial_number=serial,
        model=model.rstrip(b"\x00 ").decode("ascii", "replace"),
        hw_type=hw_type,
        firmware=(major, interim, minor),
        notes=notes.rstrip(b"\x00 ").decode("ascii", "replace"),
        hw_version=hw_version,
        mod_state=mod_state,
        n_channels=n_channels,
        stage_id=struct.unpack_from("<H", reserved, 10)[0],
    )


@dataclass(frozen=True)
class TrigIOConfig:
    """``MOT_SET/GET_KCUBETRIGIOCONFIG``: mode and polarity of the two trigger ports.

    Modes: :class:`~stages.apt.protocol.TrigMode`; polarities:
    :class:`~stages.apt.protocol.TrigPolarity`.
    """

    chan_ident: int
    trig1_mode: int
    trig1_polarity: int
    trig2_mode: int
    trig2_polarity: int


def pack_trigioconfig(c: TrigIOConfig) -> bytes:
    """The documented 22-byte packet (reserved words zero)."""
    return _TRIGIO.pack(c.chan_ident, c.trig1_mode, c.trig1_polarity, c.trig2_mode,
                        c.trig2_polarity)


def unpack_trigioconfig(data: bytes) -> TrigIOConfig:
    """Inverse of :func:`pack_trigioconfig`; the reserved words may be missing."""
    _check_size("trigger I/O configuration", data, TRIGIO_MIN_SIZE)
    return TrigIOConfig(*struct.unpack_from("<5H", data))


@dataclass(frozen=True)
class PosTrigParams:
    """``MOT_SET/GET_KCUBEPOSTRIGPARAMS``: where a moving axis pulses its trigger output.

    Positions and intervals in encoder counts (the position counter's units),
    pulse width in microseconds (1 to 1 000 000), ``cycles`` forward/reverse
    cycles (protocol doc field names: StartPosFwd, IntervalFwd, NumPulsesFwd,
    StartPosRev, IntervalRev, NumPulsesRev, PulseWidth, NumCycles).
    """

    chan_ident: int
    start_fwd_counts: int
    interval_fwd_counts: int
    pulses_fwd: int
    start_rev_counts: int
    interval_rev_counts: int
    pulses_rev: int
    pulse_width_us: int
    cycles: int


def pack_postrigparams(p: PosTrigParams) -> bytes:
    """The documented 46-byte packet (reserved words zero)."""
    return _POSTRIG.pack(p.chan_ident, p.start_fwd_counts, p.interval_fwd_counts, p.pulses_fwd,
                         p.start_rev_counts, p.interval_rev_counts, p.pulses_rev,
                         p.pulse_width_us, p.cycles)


def unpack_postrigparams(data: bytes) -> PosTrigParams:
    """Inverse of :func:`pack_postrigparams`; the reserved words may be missing."""
    _check_size("position trigger parameters", data, POSTRIG_MIN_SIZE)
    return PosTrigParams(*struct.unpack_from("<H8i", data))
