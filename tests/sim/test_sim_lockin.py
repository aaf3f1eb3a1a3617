import math

import numpy as np
import pytest
from scipy.special import gammainc

from imager.devices.interfaces import LockIn, LockInStatus
from imager.instruments.srs import enbw_Hz
from imager.sim import VirtualClock
from imager.sim.instruments import SimulatedChopper
from imager.sim.lockin import NoiseModel, SimulatedLockIn


class Step:
    """A controllable constant input phasor (volts)."""

    def __init__(self, value=0j):
        self.value = value

    def __call__(self, t_s):
        return self.value


def make(noise=None, **kw):
    clock = VirtualClock()
    sig = Step()
    li = SimulatedLockIn(clock, sig, noise=noise, **kw)
    return clock, sig, li


def step_then_read(li, clock, sig, amplitude, after_s):
    li.sync()
    sig.value = amplitude
    clock.sleep(after_s)
    return li.read_xy()


def test_satisfies_lockin_protocol_and_defaults():
    _, _, li = make()
    assert isinstance(li, LockIn)
    assert li.time_constant_s == 0.03
    assert li.sensitivity_V == 1e-3
    assert li.filter_slope_dB_per_oct == 12
    assert li.reference_phase_deg == 0.0
    s = li.settings()
    assert s["enbw_Hz"] == pytest.approx(1 / (8 * 0.03))


@pytest.mark.parametrize("slope", [6, 12, 18, 24])
def test_step_response_is_exact_gamma_cdf(slope):
    clock, sig, li = make(filter_slope_dB_per_oct=slope)
    n = slope // 6
    r = step_then_read(li, clock, sig, 1e-4, 2.5 * li.time_constant_s)
    assert r.x_V == pytest.approx(1e-4 * gammainc(n, 2.5), rel=1e-12)
    # Many small syncs compose to the same exact answer.
    clock2, sig2, li2 = make(filter_slope_dB_per_oct=slope)
    li2.sync()
    sig2.value = 1e-4
    for _ in range(25):
        clock2.sleep(0.1 * li2.time_constant_s)
        li2.sync()
    assert li2.read_xy().x_V == pytest.approx(r.x_V, rel=1e-10)


def test_settling_error_at_few_and_ten_time_constants():
    tau = 0.03
    clock, sig, li = make(time_constant_s=tau, filter_slope_dB_per_oct=12)
    early = step_then_read(li, clock, sig, 1e-4, 2.5 * tau)
    assert abs(early.x_V - 1e-4) / 1e-4 > 0.05
    clock.sleep(7.5 * tau)  # 10 tau after the step in total
    late = li.read_xy()
    assert abs(late.x_V - 1e-4) / 1e-4 < 1e-3


@pytest.mark.parametrize("slope,expected_tc", [(6, 4.61), (12, 6.64), (18, 8.41), (24, 10.05)])
def test_settle_time_values_and_consistency(slope, expected_tc):
    clock, sig, li = make(filter_slope_dB_per_oct=slope, time_constant_s=0.1)
    t99 = li.settle_time_s(0.99)
    assert t99 / 0.1 == pytest.approx(expected_tc, abs=0.01)
    r = step_then_read(li, clock, sig, 1e-4, t99)
    assert r.x_V == pytest.approx(0.99e-4, rel=1e-9)
    assert li.settle_time_s(0.5) < t99
    with pytest.raises(ValueError):
        li.settle_time_s(1.0)


def _noise_std(tau, slope=12, n=3000):
    clock, _, li = make(noise=NoiseModel(), time_constant_s=tau, filter_slope_dB_per_oct=slope)
    xs, ys = [], []
    for i in range(n):
        li.begin_point(i)
        clock.sleep(0.3)
        r = li.read_xy()
        xs.append(r.x_V)
        ys.append(r.y_V)
    return float(np.std(xs)), float(np.std(ys))


def test_noise_follows_enbw_and_scales_as_inverse_sqrt_tau():
    e_n = NoiseModel().input_noise_V_per_rtHz
    sx_fast, sy_fast = _noise_std(0.01)
    sx_slow, _ = _noise_std(0.1)
    assert sx_fast == pytest.approx(e_n * math.sqrt(1 / (8 * 0.01)), rel=0.05)
    assert sy_fast == pytest.approx(sx_fast, rel=0.08)
    assert sx_fast / sx_slow == pytest.approx(math.sqrt(10.0), rel=0.08)


@pytest.mark.parametrize("slope,factor", [(6, 1 / 4), (18, 3 / 32), (24, 5 / 64)])
def test_enbw_per_slope(slope, factor):
    assert enbw_Hz(0.1, slope) == pytest.approx(factor / 0.1)
    sx, _ = _noise_std(0.1, slope, n=2000)
    assert sx == pytest.approx(
        NoiseModel().input_noise_V_per_rtHz * math.sqrt(factor / 0.1), rel=0.06
    )


def test_noise_is_reproducible_per_point():
    def read(index, seed=0, extra_reads=0):
        clock, sig, li = make(noise=NoiseModel(), seed=seed)
        sig.value = 5e-5
        for k in range(extra_reads):  # other points before (a scan that was not resumed)
            li.begin_point(100 + k)
            li.read_xy()
        li.begin_point(index)
        clock.sleep(1.0)
        return li.read_xy()

    a = read(7)
    assert read(7, extra_reads=3) == a  # same index -> same noise, whatever came before
    assert read(8).x_V != a.x_V
    assert read(7, seed=1).x_V != a.x_V


def test_point_noise_is_the_philox_stream_keyed_by_seed_and_index():
    # documented scheme: point i's readings draw, in order, from Philox(key=[seed, i])
    clock, sig, li = make(noise=NoiseModel(), seed=5)
    sig.value = 5e-5 + 2e-5j
    clock.sleep(1.0)
    li.begin_point(3)
    li.read_xy()  # an earlier point
    li.begin_point(42)
    readings = [li.read_xy() for _ in range(2)]  # a re-measured point draws on
    z, gain0, sigma = li.output_V(), li.drift_factor(), li.noise_rms_V()
    key = np.array([5, 42], dtype=np.uint64)
    g = np.random.Generator(np.random.Philox(key=key)).standard_normal(6).reshape(2, 3)
    for r, (g0, g1, g2) in zip(readings, g, strict=True):
        gain = gain0 + li.noise.power_rel_rms * g2
        assert r.x_V == pytest.approx(z.real * gain + sigma * g0, rel=1e-12, abs=0)
        assert r.y_V == pytest.approx(z.imag * gain + sigma * g1, rel=1e-12, abs=0)


def test_seed_must_fit_the_philox_key():
    make(seed=2**64 - 1)
    with pytest.raises(ValueError, match="seed must be in 0"):
        make(seed=2**64)


def test_reads_outside_points_use_their_own_counter_stream():
    clock, _, li = make(noise=NoiseModel())
    clock.sleep(1.0)
    first = [li.read_xy().x_V for _ in range(3)]
    assert len(set(first)) == 3
    clock2, _, li2 = make(noise=NoiseModel())
    clock2.sleep(1.0)
    assert [li2.read_xy().x_V for _ in range(3)] == first
    li2.begin_point(0)
    in_point = li2.read_xy().x_V
    assert in_point not in first


def test_output_overload_clips_and_sets_bit():
    clock, sig, li = make()
    r = step_then_read(li, clock, sig, 5e-3 - 2e-3j, 1.0)
    assert r.status & LockInStatus.OUTPUT_OVERLOAD
    assert r.x_V == 1e-3 and r.y_V == -1e-3
    li.sensitivity_V = 1e-2
    r = li.read_xy()
    assert r.status == LockInStatus.OK
    assert r.x_V == pytest.approx(5e-3) and r.y_V == pytest.approx(-2e-3)


def test_input_overload_bit():
    clock, sig, li = make(sensitivity_V=1.0)
    r = step_then_read(li, clock, sig, 2.0, 1.0)
    assert r.status & LockInStatus.INPUT_OVERLOAD


def test_sensitivity_and_slope_validation():
    _, _, li = make()
    ladder = li.sensitivities_V
    assert 2e-9 in ladder and 1.0 in ladder and len(ladder) == 27
    li.sensitivity_V = 5e-6
    assert li.sensitivity_V == 5e-6
    for bad in (3e-3, 2.0, 0.0):
        with pytest.raises(ValueError, match="sensitivity_V"):
            li.sensitivity_V = bad
    with pytest.raises(ValueError, match="filter_slope"):
        li.filter_slope_dB_per_oct = 9
    with pytest.raises(ValueError, match="time_constant_s"):
        li.time_constant_s = 0.0


def test_unlocked_when_chopper_disabled():
    clock = VirtualClock()
    chopper = SimulatedChopper()
    li = SimulatedLockIn(clock, lambda t: 1e-4 + 0j, chopper=chopper, noise=None)
    clock.sleep(1.0)
    r = li.read_xy()
    assert r.status == LockInStatus.OK and r.x_V == pytest.approx(1e-4)
    chopper.enabled = False
    clock.sleep(1.0)
    r = li.read_xy()
    assert r.status & LockInStatus.REFERENCE_UNLOCK
    assert abs(r.x_V) < 1e-9  # no reference -> the input counts as zero


def test_reference_phase_rotates_outputs():
    clock, sig, li = make(reference_phase_deg=90.0)
    r = step_then_read(li, clock, sig, 1e-4, 1.0)
    assert r.x_V == pytest.approx(0.0, abs=1e-15)
    assert r.y_V == pytest.approx(-1e-4)


def test_time_constant_change_resyncs_first():
    clock, sig, li = make(filter_slope_dB_per_oct=6, time_constant_s=0.1)
    li.sync()
    sig.value = 1.0e-4
    clock.sleep(0.1)  # one old time constant, not yet integrated
    li.time_constant_s = 0.01
    clock.sleep(0.02)
    e1 = 1.0 - math.exp(-1.0)
    expected = 1e-4 * (1.0 - (1.0 - e1) * math.exp(-2.0))
    assert li.read_xy().x_V == pytest.approx(expected, rel=1e-12)


def test_slope_change_keeps_state():
    clock, sig, li = make(filter_slope_dB_per_oct=12)
    step_then_read(li, clock, sig, 1e-4, 1.0)
    li.filter_slope_dB_per_oct = 24
    assert li.read_xy().x_V == pytest.approx(1e-4)
    assert li.settle_time_s() == pytest.approx(10.045 * 0.03, rel=1e-3)
