"""Per-move cost over the emulated wire (real thorlabs-apt-device, emulator on a pty).

Run with ``-s`` to see the table. Bounds are loose (shared CI machines); the
numbers measured while writing this are in the comments.
"""

import statistics
import time

import pytest

pytest.importorskip("thorlabs_apt_device")

from stages.apt import AptController  # noqa: E402
from stages.apt.emulator import AptEmulator  # noqa: E402
from stages.simulated import StageDynamics  # noqa: E402

# moves take ~0.2 ms of emulated motion: what remains is the cost of the wire and the library
INSTANT = StageDynamics(velocity_um_per_s=1e6, acceleration_um_per_s2=1e9, settle_s=0.0)


def measure(controller, stages, read_timeout_s=None, n=12, end_of_move_messages=True):
    with AptEmulator(controller, stages, dynamics=INSTANT, start_um=1000.0) as emu:
        emu.end_of_move_messages = end_of_move_messages
        ctl = AptController(emu.port, controller, serial_read_timeout_s=read_timeout_s)
        try:
            axis = ctl.axis("x", stages if isinstance(stages, str) else stages[0],
                            require_homed=False)
            move, cached, fresh = [], [], []
            for i in range(1, n + 1):
                t0 = time.perf_counter()
                axis.move_to(10.0 * i)  # 10 um steps
                axis.wait_settled(5.0)
                t1 = time.perf_counter()
                axis.position_um()
                t2 = time.perf_counter()
                axis.read_status(fresh=True)
                t3 = time.perf_counter()
                move.append(t1 - t0)
                cached.append(t2 - t1)
                fresh.append(t3 - t2)
        finally:
            ctl.close()
    med = statistics.median
    row = (f"{controller} read timeout {ctl.serial_read_timeout_s * 1e3:5.1f} ms, "
           f"MOVE_COMPLETED {'on ' if end_of_move_messages else 'off'}: "
           f"move+settle {med(move) * 1e3:6.1f} ms, fresh read {med(fresh) * 1e3:6.1f} ms, "
           f"cached read {med(cached) * 1e6:5.1f} us")
    print(row)
    return med(move), med(fresh), med(cached)


@pytest.mark.slow
def test_per_move_cost_over_the_emulated_wire():
    # library default 0.1 s read timeout: ~112 ms per move, ~112 ms per fresh read
    move, fresh, cached = measure("KDC101", "MTS25-Z8")
    assert 0.08 < move < 0.3 and 0.08 < fresh < 0.3 and cached < 1e-3
    # 5 ms read timeout: ~17 ms per move
    move_fast, fresh_fast, _ = measure("KDC101", "MTS25-Z8", read_timeout_s=0.005)
    assert move_fast < 0.06 and fresh_fast < 0.06 and move_fast < move / 2
    # MOVE_COMPLETED lost: status updates must show the axis parked for LOST_EOM_S (0.3 s)
    move_lost, _, _ = measure("KDC101", "MTS25-Z8", read_timeout_s=0.005, n=4,
                              end_of_move_messages=False)
    assert 0.3 < move_lost < 0.8
    # BBD20x streams status (driver default read timeout 10 ms): ~21 ms per move
    move_bbd, _, _ = measure("BBD202", ["MLS203-X", "MLS203-Y"])
    assert move_bbd < 0.08
