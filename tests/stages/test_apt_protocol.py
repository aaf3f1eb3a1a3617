import struct

import pytest

from stages.apt import payloads as D
from stages.apt import protocol as P

M = P.MsgId


def decode_all(raw: bytes, **kw) -> list[P.Frame]:
    return P.FrameDecoder(**kw).feed(raw)


@pytest.mark.parametrize(
    "frame",
    [
        P.short(M.HW_REQ_INFO, P.USB, P.HOST),
        P.short(M.MOD_SET_CHANENABLESTATE, P.BAY0 + 1, P.HOST, 1, 2),
        P.short(M.MOT_MOVE_HOME, P.USB, P.HOST, 1),
        P.short(M.MOT_MOVE_STOP, P.BAY0, P.HOST, 1, 2),
        P.short(M.MOT_MOVE_HOMED, P.HOST, P.USB, 1),
        P.short(M.MOT_REQ_DCSTATUSUPDATE, P.USB, P.HOST, 1),
        P.short(M.RACK_GET_BAYUSED, P.HOST, P.RACK, 1, 1),
        P.long(M.MOT_MOVE_ABSOLUTE, P.USB, P.HOST, D.pack_chan_int32(1, -123456)),
        P.long(M.MOT_MOVE_RELATIVE, P.BAY0, P.HOST, D.pack_chan_int32(1, 789)),
        P.long(M.MOT_SET_VELPARAMS, P.USB, P.HOST, D.pack_velparams(D.VelParams(1, 0, 9, 99))),
        P.long(M.MOT_GET_DCSTATUSUPDATE, P.HOST, P.USB,
               D.pack_dcstatus(D.MotorStatus(1, -5, 0x80000400, velocity=-7))),
        P.long(M.MOT_GET_STATUSUPDATE, P.HOST, P.BAY0 + 2,
               D.pack_status(D.MotorStatus(1, 409600, 0x20, encoder_count=12))),
        P.long(M.MOT_MOVE_COMPLETED, P.HOST, P.USB, D.pack_dcstatus(D.MotorStatus(1, 7, 0))),
        P.long(M.MOT_MOVE_STOPPED, P.HOST, P.BAY0, D.pack_status(D.MotorStatus(1, 7, 0x4000))),
    ],
    ids=lambda f: f.name,
)
def test_frame_round_trip(frame):
    raw = P.encode(frame)
    assert len(raw) == 6 + (len(frame.data) if frame.is_long else 0)
    assert decode_all(raw) == [frame]


def test_header_layout_matches_protocol_doc():
    raw = P.encode(P.long(M.MOT_MOVE_ABSOLUTE, P.USB, P.HOST, D.pack_chan_int32(1, 34555)))
    assert raw[:6] == bytes([0x53, 0x04, 0x06, 0x00, 0xD0, 0x01])  # 0x50 | 0x80 = 0xD0
    assert struct.unpack("<Hi", raw[6:]) == (1, 34555)
    assert P.encode(P.short(M.MOD_IDENTIFY, P.USB, P.HOST)) == bytes([0x23, 0x02, 0, 0, 0x50, 1])


def test_payload_round_trips():
    st = D.MotorStatus(1, -2_000_000, 0x80002400, velocity=123, encoder_count=-2_000_000)
    assert D.unpack_dcstatus(D.pack_dcstatus(st)) == st
    st2 = D.MotorStatus(2, 409600, 0x10, encoder_count=4096)
    assert D.unpack_status(D.pack_status(st2)) == st2
    vp = D.VelParams(1, 0, 4506, 21987328)
    assert D.unpack_velparams(D.pack_velparams(vp)) == vp
    info = D.HardwareInfo(27000001, "KDC101", 16, (3, 0, 10), "notes", 1, 0, 1, stage_id=7)
    data = D.pack_hwinfo(info)
    assert len(data) == 84
    assert D.unpack_hwinfo(data) == info
    assert struct.unpack_from("<H", data, 76)[0] == 7  # where KDC101 reports the stage id
    assert D.unpack_chan_int32(D.pack_chan_int32(1, -1)) == (1, -1)


def test_velocity_field_saturates_to_int16():
    data = D.pack_dcstatus(D.MotorStatus(1, 0, 0, velocity=10**6))
    assert D.unpack_dcstatus(data).velocity == 32767


def test_short_payloads_raise_frame_error():
    for fn in (D.unpack_dcstatus, D.unpack_status, D.unpack_velparams, D.unpack_hwinfo,
               D.unpack_chan_int32):
        with pytest.raises(P.FrameError):
            fn(b"\x01\x00")
    with pytest.raises(P.FrameError):
        _ = P.long(M.MOT_MOVE_ABSOLUTE, P.USB, P.HOST, b"\x01").chan_ident
    with pytest.raises(P.FrameError):
        P.encode(P.long(M.MOT_SET_VELPARAMS, P.USB, P.HOST, bytes(256)))


def test_split_stream_waits_for_the_rest_of_a_frame():
    raw = P.encode(P.long(M.MOT_MOVE_ABSOLUTE, P.USB, P.HOST, D.pack_chan_int32(1, 5)))
    dec = P.FrameDecoder()
    assert dec.feed(raw[:4]) == [] and dec.feed(raw[4:9]) == []
    assert dec.pending_bytes == 9
    (frame,) = dec.feed(raw[9:])
    assert D.unpack_chan_int32(frame.data) == (1, 5) and dec.pending_bytes == 0


def test_garbage_is_skipped_and_decoding_resynchronises():
    good = [P.short(M.MOT_MOVE_HOME, P.USB, P.HOST, 1),
            P.long(M.MOT_MOVE_ABSOLUTE, P.USB, P.HOST, D.pack_chan_int32(1, 42))]
    garbled = bytearray(P.encode(P.short(M.MOT_MOVE_STOP, P.USB, P.HOST, 1, 2)))
    garbled[4] ^= 0x5A  # destination no longer valid
    raw = b"\xff\x13\x37" + P.encode(good[0]) + bytes(garbled) + P.encode(good[1])
    dec = P.FrameDecoder(dests={P.USB}, sources={P.HOST})
    assert dec.feed(raw) == good
    assert dec.discarded_bytes == 3 + 6


def test_oversized_long_header_is_rejected():
    bogus = struct.pack("<HHBB", 0x0453, 4000, P.USB | 0x80, P.HOST)
    good = P.short(M.HW_REQ_INFO, P.USB, P.HOST)
    assert decode_all(bogus + P.encode(good), dests={P.USB}, sources={P.HOST}) == [good]


def test_unknown_message_id_is_decoded_for_the_caller_to_ignore():
    unknown = P.short(0x7777, P.USB, P.HOST, 1)
    frames = decode_all(P.encode(unknown) + P.encode(P.short(M.HW_REQ_INFO, P.USB, P.HOST)))
    assert [f.msg_id for f in frames] == [0x7777, M.HW_REQ_INFO]
    assert frames[0].name == "0x7777" and frames[1].name == "HW_REQ_INFO"


def test_bay_address_range():
    assert P.bay_address(0) == 0x21 and P.bay_address(9) == 0x2A
    with pytest.raises(ValueError):
        P.bay_address(10)


# --- cross-check against thorlabs-apt-device's own encoder and parser -------------------
@pytest.fixture
def tad_protocol():
    return pytest.importorskip("thorlabs_apt_device.protocol")


def test_library_requests_decode_with_our_decoder(tad_protocol):
    raw = (tad_protocol.mot_move_absolute(dest=P.USB, source=P.HOST, chan_ident=1, position=-9)
           + tad_protocol.mot_req_dcstatusupdate(dest=P.BAY0, source=P.HOST, chan_ident=1)
           + tad_protocol.mot_set_velparams(dest=P.USB, source=P.HOST, chan_ident=1,
                                            min_velocity=0, acceleration=5, max_velocity=6)
           + tad_protocol.mod_set_chanenablestate(dest=P.USB, source=P.HOST, chan_ident=1,
                                                  enable_state=1))
    frames = decode_all(raw)
    assert [f.msg_id for f in frames] == [M.MOT_MOVE_ABSOLUTE, M.MOT_REQ_DCSTATUSUPDATE,
                                          M.MOT_SET_VELPARAMS, M.MOD_SET_CHANENABLESTATE]
    assert D.unpack_chan_int32(frames[0].data) == (1, -9)
    assert frames[1].dest == P.BAY0 and frames[1].chan_ident == 1
    assert D.unpack_velparams(frames[2].data) == D.VelParams(1, 0, 5, 6)
    assert (frames[3].param1, frames[3].param2) == (1, 1)


def test_our_replies_parse_in_the_library(tad_protocol):
    parse = tad_protocol.parsing.id_to_func
    st = D.MotorStatus(1, 1234, int(P.StatusBits.HOMED | P.StatusBits.MOVING_FORWARD),
                       velocity=-3)
    dc = parse[M.MOT_GET_DCSTATUSUPDATE](
        P.encode(P.long(M.MOT_GET_DCSTATUSUPDATE, P.HOST, P.USB, D.pack_dcstatus(st))))
    assert (dc["position"], dc["velocity"], dc["homed"], dc["moving_reverse"]) == (1234, -3,
                                                                                   True, True)
    stp = parse[M.MOT_GET_STATUSUPDATE](P.encode(P.long(
        M.MOT_GET_STATUSUPDATE, P.HOST, P.BAY0, D.pack_status(D.MotorStatus(1, 77, 0x4000)))))
    assert (stp["position"], stp["motion_error"], stp["source"]) == (77, True, P.BAY0)
    info = D.HardwareInfo(70000001, "BSC202", 45, (3, 0, 10), "", 1, 0, 2)
    hw = parse[M.HW_GET_INFO](P.encode(P.long(M.HW_GET_INFO, P.HOST, P.RACK, D.pack_hwinfo(info))))
    assert (hw["serial_number"], hw["model_number"].rstrip(b"\0"), hw["nchs"]) == (
        70000001, b"BSC202", 2)
    assert list(hw["firmware_version"]) == [3, 0, 10]
    homed = parse[M.MOT_MOVE_HOMED](P.encode(P.short(M.MOT_MOVE_HOMED, P.HOST, P.USB, 1)))
    assert homed["chan_ident"] == 1
