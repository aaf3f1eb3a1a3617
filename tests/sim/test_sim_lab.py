import dataclasses

import numpy as np
import pytest

from imager.devices.interfaces import Chopper, LockIn, LockInStatus, PowerMeter, Pump, Source
from imager.devices.probes import BandPhotometer, DecayRecorder, TemperatureController
from imager.sim import SimConfig, SimulatedLab, VirtualClock
from stages import Stage, XYStage


@pytest.fixture(scope="module")
def quiet_config():
    return SimConfig(noise=False)


def brightest_and_darkest(lab, half_um=150.0, n=121):
    xs = np.linspace(12500 - half_um, 12500 + half_um, n)
    img = lab.expected_image(xs, xs)
    iy, ix = np.unravel_index(np.argmax(img), img.shape)
    jy, jx = np.unravel_index(np.argmin(img), img.shape)
    return (xs[ix], xs[iy], img[iy, ix]), (xs[jx], xs[jy], img[jy, jx])


def settle_at(lab, x, y, dwell_s=0.3):
    lab.stage.move_to(x, y)
    lab.stage.wait_settled()
    lab.clock.sleep(dwell_s)
    return lab.lockin.read_xy()


def test_lab_exposes_the_devices(quiet_config):
    lab = SimulatedLab(quiet_config)
    assert isinstance(lab.clock, VirtualClock) and isinstance(lab.stage, XYStage)
    assert lab.stage.x is lab.stage_x and lab.stage_x.name == "stage_x"
    assert isinstance(lab.stage_y, Stage) and isinstance(lab.lockin, LockIn)
    assert isinstance(lab.chopper, Chopper) and isinstance(lab.source, Source)
    assert isinstance(lab.pump, Pump) and isinstance(lab.temperature, TemperatureController)
    assert isinstance(lab.photometer, BandPhotometer)
    assert isinstance(lab.decay_recorder, DecayRecorder)
    assert isinstance(lab.power_meter, PowerMeter)
    assert set(lab.instruments()) == {"stage_x", "stage_y", "lockin", "chopper", "source", "pump",
                                      "temperature", "power_meter"}
    assert lab.stage.position_um() == pytest.approx((12500.0, 12500.0), abs=0.02)
    assert lab.chart.centre_um == pytest.approx((12500.0, 12500.0))
    s = lab.settings()
    assert s["kind"] == "simulated" and s["seed"] == 0 and s["usaf_groups"] == "5,6,7"
    assert all(isinstance(v, (int, float, str, bool)) for v in s.values())
    for dev in lab.instruments().values():
        assert all(isinstance(v, (int, float, str, bool)) for v in dev.settings().values())


def test_settled_reading_matches_expected_image(quiet_config):
    lab = SimulatedLab(quiet_config)
    (bx, by, bv), (dx, dy, dv) = brightest_and_darkest(lab)
    assert bv > 20 * max(abs(dv), 1e-9)
    r = settle_at(lab, bx, by)
    assert r.x_V == pytest.approx(bv, rel=1e-3)
    # Move to a dark spot: with a 1 s time constant the filter still remembers the
    # bright spot 1 time constant after arriving; after 12 it has forgotten it.
    lab.lockin.time_constant_s = 1.0
    lab.clock.sleep(20.0)
    lab.stage.move_to(dx, dy)
    lab.stage.wait_settled()
    lab.clock.sleep(lab.lockin.time_constant_s)
    assert lab.lockin.read_xy().x_V > dv + 0.05 * (bv - dv)
    lab.clock.sleep(12 * lab.lockin.time_constant_s)
    assert lab.lockin.read_xy().x_V == pytest.approx(dv, abs=1e-3 * bv)


def test_expected_image_is_linear_in_source_power(quiet_config):
    lab = SimulatedLab(quiet_config)
    xs = np.linspace(12350, 12650, 40)
    a = lab.expected_image(xs, xs)
    lab.source.power_mW = 100.0
    b = lab.expected_image(xs, xs)
    np.testing.assert_allclose(b, 2 * a, rtol=1e-12)
    assert a.shape == (40, 40) and a.max() > 0
    lab.source.on = False
    assert not lab.expected_image(xs, xs).any()


def test_expected_image_is_not_clipped_at_the_starting_sensitivity(quiet_config):
    """The truth is the signal, not what the starting range shows (a scan re-ranges)."""
    lab = SimulatedLab(quiet_config)
    (bx, by, bv), _ = brightest_and_darkest(lab)
    s = lab.lockin.sensitivity_V
    lab.source.power_mW *= 2.0 * s / bv  # the brightest pixel now reads 2x full scale
    truth = lab.expected_image(np.array([bx]), np.array([by]))[0, 0]
    assert truth == pytest.approx(2.0 * s, rel=1e-9)
    lab.lockin.sensitivity_V = 5.0 * s  # re-ranged, as the engine does on an overload
    r = settle_at(lab, bx, by, dwell_s=1.0)
    assert not r.status & LockInStatus.OUTPUT_OVERLOAD
    assert r.x_V == pytest.approx(truth, rel=1e-3)


def test_setting_changes_take_effect_from_now(quiet_config):
    lab = SimulatedLab(quiet_config)
    (bx, by, bv), _ = brightest_and_darkest(lab)
    settle_at(lab, bx, by)
    lab.clock.sleep(1.0)  # time passes, nobody reads the lock-in
    lab.source.power_mW = 100.0
    assert lab.lockin.read_xy().x_V == pytest.approx(bv, rel=1e-3)  # not retroactive
    lab.clock.sleep(0.5)
    assert lab.lockin.read_xy().x_V == pytest.approx(2 * bv, rel=1e-3)
    lab.pump.power_mW = 1.0
    lab.clock.sleep(0.5)
    # The slope grows with pump power; the rate-equation film is already
    # saturating at 0.5 mW in a 1 um spot (tens of kW/cm^2), so by less than 2x.
    assert lab.lockin.read_xy().x_V > 2 * bv * 1.2


def test_source_off_and_chopper_off(quiet_config):
    lab = SimulatedLab(quiet_config)
    (bx, by, _), _ = brightest_and_darkest(lab)
    settle_at(lab, bx, by)
    lab.source.on = False
    assert lab.signal_phasor(lab.clock.now_s()) == 0
    lab.clock.sleep(1.0)
    assert lab.lockin.read_xy().x_V == pytest.approx(0.0, abs=1e-12)
    lab.source.on = True
    lab.chopper.enabled = False
    lab.clock.sleep(1.0)
    r = lab.lockin.read_xy()
    assert r.status & LockInStatus.REFERENCE_UNLOCK and abs(r.x_V) < 1e-12


def test_detector_and_reference_phase():
    lab = SimulatedLab(SimConfig(noise=False, detector_phase_deg=30.0))
    (bx, by, bv), _ = brightest_and_darkest(lab)
    r = settle_at(lab, bx, by, dwell_s=1.0)
    assert r.x_V == pytest.approx(bv, rel=1e-3)
    assert r.y_V == pytest.approx(bv * np.tan(np.radians(30.0)), rel=1e-3)
    lab.lockin.reference_phase_deg = 30.0  # in phase with the detector: all signal in X
    truth = lab.expected_image(np.array([bx]), np.array([by]))[0, 0]
    assert truth == pytest.approx(bv / np.cos(np.radians(30.0)))
    lab.clock.sleep(1.0)
    r = lab.lockin.read_xy()
    assert r.x_V == pytest.approx(truth, rel=1e-3) and abs(r.y_V) < 1e-3 * truth


def test_noise_equivalent_intensity_is_the_papers_detection_limit():
    """SNR = 1 intensity from the model's own noise and slope: ~4 nW/um^2 at 7.4 um."""
    lab = SimulatedLab(SimConfig(seed=3))
    lab.source.on = False  # signal-free readings: noise only
    xs = []
    for i in range(3000):
        lab.begin_point(i)
        lab.clock.sleep(0.3)
        xs.append(lab.lockin.read_xy().x_V)
    sigma_V = float(np.std(xs))
    pump_mW, wavelength_um = lab.pump.power_mW, lab.source.wavelength_um
    d_intensity = 1e-9
    slope = (
        lab.film.dV_V(d_intensity, pump_mW, wavelength_um)
        - lab.film.dV_V(0.0, pump_mW, wavelength_um)
    ) / d_intensity
    nei_W_per_um2 = sigma_V / slope
    assert nei_W_per_um2 == pytest.approx(4e-9, rel=0.25)


def test_same_point_same_noise_even_when_resumed():
    config = SimConfig(seed=5)
    xs = np.linspace(12400, 12600, 10)
    full = SimulatedLab(config)
    readings, starts = [], []
    for i, x in enumerate(xs):
        starts.append(full.clock.now_s())
        full.begin_point(i)
        readings.append(settle_at(full, float(x), 12500.0))
    resumed = SimulatedLab(config)
    resumed.stage.move_to(float(xs[5]), 12500.0)  # where the scan left the stage
    resumed.stage.wait_settled()
    resumed.clock.advance_to(starts[6])  # the engine restores the lab time on resume
    for i in range(6, 10):
        resumed.begin_point(i)
        r = settle_at(resumed, float(xs[i]), 12500.0)
        assert r.x_V == pytest.approx(readings[i].x_V, abs=5e-9)
    other = SimulatedLab(dataclasses.replace(config, seed=6))
    other.stage.move_to(float(xs[5]), 12500.0)
    other.stage.wait_settled()
    other.clock.advance_to(starts[6])
    other.begin_point(6)
    assert abs(settle_at(other, float(xs[6]), 12500.0).x_V - readings[6].x_V) > 5e-9


def _raster_correlation(n, half_um, dwell_s=0.3, seed=0):
    lab = SimulatedLab(SimConfig(seed=seed))
    xs = np.linspace(12500 - half_um, 12500 + half_um, n)
    img = np.empty((n, n))
    index = 0
    for iy, y in enumerate(xs):
        for ix, x in enumerate(xs):
            lab.begin_point(index)
            lab.stage.move_to(float(x), float(y))
            lab.stage.wait_settled()
            lab.clock.sleep(dwell_s)
            img[iy, ix] = lab.lockin.read_xy().x_V
            lab.stage.position_um()
            index += 1
    truth = lab.expected_image(xs, xs)
    return float(np.corrcoef(img.ravel(), truth.ravel())[0, 1])


def test_small_raster_correlates_with_truth():
    assert _raster_correlation(48, 120.0) >= 0.95


@pytest.mark.slow
def test_demo_raster_correlates_with_truth():
    assert _raster_correlation(128, 200.0) >= 0.95
