"""The emulated lab's x controller pulses the lock-in's TRIG IN at its position triggers:
configured and moved through the real APT driver (thorlabs-apt-device on the pty), the
SR830 buffer at ``SRAT 14`` stores one point per crossing."""

import pytest

pytest.importorskip("thorlabs_apt_device")

from imager.emulators.bench import start_emulated_bench, wire_position_triggers  # noqa: E402
from imager.sim.lab import SimConfig  # noqa: E402
from stages.apt import AptStage  # noqa: E402
from stages.simulated import StageDynamics  # noqa: E402

FAST = StageDynamics(velocity_um_per_s=48000.0, acceleration_um_per_s2=600000.0, settle_s=0.005)
PATIENCE_S = 60.0


def test_x_position_triggers_store_lockin_buffer_points():
    with start_emulated_bench(SimConfig(), lockin_model="SR830", dynamics=FAST) as bench:
        li = bench.lockin
        for command in ("REST", "SRAT 14", "SEND 0", "STRT"):
            li.execute(command)
        x = AptStage.connect("stage_x", bench.apt_x.port, bench.controller, bench.stage,
                             connect_timeout_s=PATIENCE_S)
        try:
            x0 = x.position_um()
            x.velocity_um_per_s = 1000.0
            x.configure_position_triggers(x0 + 50.0, 10.0, 12, 1e-5, direction="forward")
            x.move_to(x0 + 300.0)
            x.wait_settled(PATIENCE_S)
            assert li.execute("SPTS?") == ["12"]
            x.move_to(x0)  # reverse: no trigger in forward-only mode
            x.wait_settled(PATIENCE_S)
            assert li.execute("SPTS?") == ["12"]
            assert len(li.execute("TRCA? 1,0,12")[0].split(",")) >= 12
        finally:
            x.close()


def test_a_lockin_without_trig_in_is_left_unwired():
    with start_emulated_bench(SimConfig(), lockin_model="SR830", dynamics=FAST) as bench:
        outputs = bench.apt_x.axes[0].trigger_outputs
        assert len(outputs) == 1  # the bench cabled the lock-in
        assert wire_position_triggers(bench.apt_x, object()) is False
        assert len(outputs) == 1
