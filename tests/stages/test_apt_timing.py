"""Per-move cost over the emulated wire (real thorlabs-apt-device, emulator on a pty).

Run with ``-s`` to see the table (figures measured on an idle machine are in the
comments). Wall-clock speed is printed, never asserted: a loaded machine may be
slower by any amount. What is asserted holds however slow the machine is: a
ceiling on the number of status polls the library can make per second (each of
its read cycles blocks at least one serial read timeout), the number of frames
each kind of read costs, and floors that only grow with load.
"""

import statistics
import time

import pytest

pytest.importorskip("thorlabs_apt_device")

from stages.apt import AptController  # noqa: E402
from stages.apt.controller import LIBRARY_READ_TIMEOUT_S  # noqa: E402
from stages.apt.emulator import AptEmulator  # noqa: E402
from stages.apt.protocol import MsgId  # noqa: E402
from stages.apt.settle import LOST_EOM_S  # noqa: E402
from stages.simulated import StageDynamics  # noqa: E402

# moves take ~0.2 ms of emulated motion: what remains is the cost of the wire and the library
INSTANT = StageDynamics(velocity_um_per_s=1e6, acceleration_um_per_s2=1e9, settle_s=0.0)
PATIENCE_S = 60.0
POLLS = (MsgId.MOT_REQ_STATUSUPDATE, MsgId.MOT_REQ_DCSTATUSUPDATE)


def measure(controller, stages, read_timeout_s=None, n=12, end_of_move_messages=True):
    """Move ``n`` times by 10 um; time each move, cached read and fresh read.

    Returns medians and the counts the emulator saw over the whole run: status polls,
    position-counter requests and the run's wall time, bracketed by fresh status round
    trips (every poll counted was written inside the bracket).
    """
    with AptEmulator(controller, stages, dynamics=INSTANT, start_um=1000.0) as emu:
        emu.end_of_move_messages = end_of_move_messages
        ctl = AptController(emu.port, controller, serial_read_timeout_s=read_timeout_s,
                            connect_timeout_s=PATIENCE_S)
        try:
            axis = ctl.axis("x", stages if isinstance(stages, str) else stages[0],
                            require_homed=False)
            t_start = time.monotonic()
            axis.read_status(fresh=True, timeout_s=PATIENCE_S)
            polls0 = sum(emu.count(i) for i in POLLS)
            counters0 = emu.count(MsgId.MOT_REQ_POSCOUNTER)
            move, cached, fresh = [], [], []
            for i in range(1, n + 1):
                t0 = time.perf_counter()
                axis.move_to(10.0 * i)  # 10 um steps
                axis.wait_settled(PATIENCE_S)
                t1 = time.perf_counter()
                axis.position_um()
                t2 = time.perf_counter()
                axis.read_status(fresh=True, timeout_s=PATIENCE_S)
                t3 = time.perf_counter()
                move.append(t1 - t0)
                cached.append(t2 - t1)
                fresh.append(t3 - t2)
            counts = {"polls": sum(emu.count(i) for i in POLLS) - polls0,
                      "counter_requests": emu.count(MsgId.MOT_REQ_POSCOUNTER) - counters0,
                      "span_s": time.monotonic() - t_start,
                      "completed_sent": emu.sent_counts[MsgId.MOT_MOVE_COMPLETED],
                      "port_timeout_s": ctl.device._port.timeout}
        finally:
            ctl.close()
    med = statistics.median
    row = (f"{controller} read timeout {ctl.serial_read_timeout_s * 1e3:5.1f} ms, "
           f"MOVE_COMPLETED {'on ' if end_of_move_messages else 'off'}: "
           f"move+settle {med(move) * 1e3:6.1f} ms, fresh read {med(fresh) * 1e3:6.1f} ms, "
           f"cached read {med(cached) * 1e6:5.1f} us, "
           f"{counts['polls'] / counts['span_s']:5.1f} status polls/s")
    print(row)
    return move, counts


@pytest.mark.slow
def test_per_move_cost_over_the_emulated_wire():
    n = 12
    # library default 0.1 s read timeout: ~112 ms per move, ~112 ms per fresh read, 8.4 polls/s
    _, counts = measure("KDC101", "MTS25-Z8", n=n)
    # every read cycle of the library blocks one full read timeout and writes one poll at
    # most: the ~10 Hz ceiling of its position feedback (a slow machine only polls less)
    assert counts["polls"] <= counts["span_s"] / LIBRARY_READ_TIMEOUT_S + 2
    # a fresh read costs exactly one position-counter request; a cached read costs nothing
    assert counts["counter_requests"] == n
    # 5 ms read timeout: ~17 ms per move, ~60 polls/s; the library's port really uses it
    _, fast = measure("KDC101", "MTS25-Z8", read_timeout_s=0.005, n=n)
    assert fast["port_timeout_s"] == 0.005 and fast["counter_requests"] == n
    assert fast["polls"] <= fast["span_s"] / 0.005 + 2
    # MOVE_COMPLETED lost: status updates must show the axis parked for LOST_EOM_S (0.3 s)
    lost, lost_counts = measure("KDC101", "MTS25-Z8", read_timeout_s=0.005, n=4,
                                end_of_move_messages=False)
    assert lost_counts["completed_sent"] == 0
    assert min(lost) >= LOST_EOM_S
    # BBD20x streams status (driver default read timeout 10 ms): ~21 ms per move
    _, bbd = measure("BBD202", ["MLS203-X", "MLS203-Y"], n=n)
    assert bbd["port_timeout_s"] == 0.01 and bbd["polls"] == 0  # streamed, never polled
