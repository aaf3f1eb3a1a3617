"""The MIR power fluctuation as a correlated process (issue 13, 3a) and the reference
channel that takes it out (issue 13, item 2): twin, engine, file and reconstruction."""

from __future__ import annotations

import subprocess
import sys

import h5py
import numpy as np
import pytest

from imager.engine import StopRequest, run_raster, run_single_pixel
from imager.recipes import default_recipe
from imager.recipes.recipe import parse_recipe
from imager.sim import simulated_lab_for
from imager.sim.lab import SimConfig, SimulatedLab
from imager.sim.power_noise import FluctuationModel, PowerFluctuation
from reconstruction.reference import normalise_by_reference
from reconstruction.spifile import load_single_pixel, reconstruct_single_pixel


# ------------------------------------------------------------- the process
def test_fluctuation_has_its_rms_and_correlation_time():
    model = FluctuationModel(rel_rms=0.02, correlation_s=0.5)
    d = PowerFluctuation(model, seed=4, stream=0)
    t = np.arange(0.0, 4000.0, 0.05)
    v = np.array([d.value(x) for x in t])
    assert np.std(v) == pytest.approx(0.02, rel=0.2)

    def corr(lag_s: float) -> float:
        k = int(round(lag_s / 0.05))
        return float(np.corrcoef(v[:-k], v[k:])[0, 1])

    assert corr(0.05) > 0.85  # one tenth of the correlation time: nearly the same
    assert corr(0.5) == pytest.approx(np.exp(-1.0), abs=0.15)
    assert abs(corr(5.0)) < 0.15  # ten correlation times: unrelated


def test_fluctuation_is_a_function_of_lab_time_and_of_the_seed():
    model = FluctuationModel(0.01, 1.0)
    a, b = PowerFluctuation(model, 1, 0), PowerFluctuation(model, 1, 0)
    times = [0.0, 17.3, 3600.25]
    assert [a.value(t) for t in reversed(times)][::-1] == [b.value(t) for t in times]
    assert a.value(5.0) != PowerFluctuation(model, 2, 0).value(5.0)
    assert a.value(5.0) != PowerFluctuation(model, 1, 1).value(5.0)


def test_a_slow_filter_averages_the_fluctuation_away():
    d = PowerFluctuation(FluctuationModel(0.01, 0.01), seed=0, stream=0)
    assert d.filtered_rms(1e-4, 2) == pytest.approx(0.01, rel=0.05)
    assert d.filtered_rms(1.0, 2) < 0.002  # 100 correlation times of averaging


def test_bad_model_values_are_refused():
    with pytest.raises(ValueError, match="correlation_s"):
        FluctuationModel(0.01, 0.0)
    with pytest.raises(ValueError, match="rel_rms"):
        FluctuationModel(-0.01, 1.0)


# ------------------------------------------------------------------ the lab
def _bright_lab(**kw) -> SimulatedLab:
    lab = SimulatedLab(SimConfig(reference_channel=True, **kw))
    xs = np.linspace(12300.0, 12700.0, 41)
    img = lab.expected_image(xs, xs)
    iy, ix = np.unravel_index(int(np.argmax(img)), img.shape)
    lab.stage.move_to(float(xs[ix]), float(xs[iy]))
    lab.stage.wait_settled()
    return lab


def _series(lab: SimulatedLab, n: int, every_s: float) -> tuple[np.ndarray, np.ndarray]:
    sig, ref = [], []
    for _ in range(n):
        lab.clock.sleep(every_s)
        sig.append(lab.lockin.read_xy().x_V)
        ref.append(lab.reference.read_xy().x_V)
    return np.array(sig), np.array(ref)


def test_readings_close_in_time_share_the_mir_fluctuation():
    """The reference detector's own noise is ~3e-6 of its signal: its readings show the
    MIR fluctuation alone - correlated 50 ms apart, unrelated 20 s apart (before this
    model every reading drew its own)."""
    lab = _bright_lab()
    _, near = _series(lab, 400, 0.05)
    rel = near / near.mean() - 1.0
    assert np.corrcoef(rel[:-1], rel[1:])[0, 1] > 0.9
    _, far = _series(lab, 300, 20.0)
    rel = far / far.mean() - 1.0
    assert np.std(rel) == pytest.approx(0.01, rel=0.3)
    assert abs(np.corrcoef(rel[:-1], rel[1:])[0, 1]) < 0.25


def test_the_reference_takes_the_mir_fluctuation_out_of_the_signal():
    lab = _bright_lab()
    lab.lockin.time_constant_s = 0.3  # detector noise below the MIR fluctuation
    sig, ref = _series(lab, 400, 1.5)
    additive = lab.lockin.noise_rms_V() / sig.mean()

    def rel_scatter(v: np.ndarray) -> float:  # about the slow gain drift (not MIR power)
        k = np.arange(v.size)
        return float(np.std(v - np.polyval(np.polyfit(k, v, 2), k)) / v.mean())

    raw = rel_scatter(sig)
    normalised = rel_scatter(normalise_by_reference(sig, ref))
    assert raw > 1.3 * additive  # the 1 % MIR fluctuation adds to the detector noise
    assert normalised == pytest.approx(additive, rel=0.2)


def test_the_reference_follows_the_signal_lockins_filter():
    lab = _bright_lab()
    lab.lockin.time_constant_s = 0.1
    lab.lockin.filter_slope_dB_per_oct = 24
    lab.reference.read_xy()
    assert lab.reference.lockin.time_constant_s == 0.1
    assert lab.reference.lockin.filter_slope_dB_per_oct == 24
    assert lab.instruments()["reference"] is lab.reference
    assert lab.capabilities().reference is lab.reference
    assert SimulatedLab(SimConfig()).capabilities().reference is None


# ------------------------------------------------------ engine, file, reconstruction
def _spi_recipe(readout: str, reference: bool, dwell_tc: float = 2.0):
    return parse_recipe(
        'kind = "single_pixel"\nname = "s"\n[single_pixel]\nsize = 16\nblock_patterns = 128\n'
        f'dwell_tc = {dwell_tc}\nreadout = "{readout}"\n[lockin]\nsensitivity_V = 0.01\n'
        f'[pump]\npower_mW = 500.0\n[sim]\nseed = 3\nreference_channel = {str(reference).lower()}'
        '\n', "<test>")


@pytest.mark.parametrize("readout", ["reads", "stream"])
def test_single_pixel_scan_records_the_reference_and_reconstruction_uses_it(tmp_path, readout):
    recipe = _spi_recipe(readout, True)
    result = run_single_pixel(simulated_lab_for(recipe), recipe, tmp_path / "s.h5",
                              progress=False)
    assert result.exit_status == "success"
    with h5py.File(tmp_path / "s.h5", "r") as f:
        rows = f["entry/reference"][()]
        assert f["entry/lab"].attrs["reference_channel"]
        assert "reference" in f["entry/instrument"]
    assert sorted(rows["index"].tolist()) == list(range(512))
    assert np.all(rows["X_V"] > 0)
    assert np.std(rows["X_V"]) / np.mean(rows["X_V"]) < 0.05  # the source's power, +-1 %
    streamed = readout == "stream"  # normalised sample by sample before the fit
    assert np.all(rows["applied"] == int(streamed))
    scan = load_single_pixel(tmp_path / "s.h5")
    used = reconstruct_single_pixel(scan, "pinv")
    plain = reconstruct_single_pixel(scan, "pinv", reference=False)
    assert used.solver["reference_normalised"] == 1
    assert plain.solver["reference_normalised"] == int(streamed)
    assert np.allclose(used.image, plain.image) == streamed
    assert used.metrics["psnr_dB"] > plain.metrics["psnr_dB"] - 0.05  # never notably worse


def test_without_a_reference_channel_nothing_is_recorded(tmp_path):
    recipe = _spi_recipe("reads", False)
    run_single_pixel(simulated_lab_for(recipe), recipe, tmp_path / "s.h5", progress=False)
    with h5py.File(tmp_path / "s.h5", "r") as f:
        assert "reference" not in f["entry"]
    assert load_single_pixel(tmp_path / "s.h5").reference_V is None


def test_raster_scan_records_one_reference_reading_per_point(tmp_path):
    recipe = default_recipe(scan={"nx": 8, "ny": 6}, sim={"reference_channel": True})
    run_raster(simulated_lab_for(recipe), recipe, tmp_path / "r.h5", progress=False)
    with h5py.File(tmp_path / "r.h5", "r") as f:
        rows = f["entry/reference"][()]
        points = f["entry/scan/points"][()]
    assert rows["index"].tolist() == points["index"].tolist()
    np.testing.assert_allclose(rows["t_lab_s"], points["t_lab_s"])


def test_a_stopped_streamed_scan_with_reference_resumes_to_the_same_readings(tmp_path):
    recipe = _spi_recipe("stream", True, dwell_tc=1.5)
    run_single_pixel(simulated_lab_for(recipe), recipe, tmp_path / "f.h5", progress=False)
    lab = simulated_lab_for(recipe)
    stop, begin = StopRequest(), lab.begin_point

    def begin_point(index: int) -> None:
        if index == 300:
            stop.set("test stop")
        begin(index)

    lab.begin_point = begin_point
    run_single_pixel(lab, recipe, tmp_path / "r.h5", progress=False, stop=stop)
    run_single_pixel(simulated_lab_for(recipe), recipe, tmp_path / "r.h5", progress=False,
                     resume=True)
    full, resumed = load_single_pixel(tmp_path / "f.h5"), load_single_pixel(tmp_path / "r.h5")
    np.testing.assert_allclose(resumed.reference_V, full.reference_V, rtol=0, atol=1e-12)
    np.testing.assert_allclose(resumed.raw_V, full.raw_V, rtol=0, atol=1e-12)


def test_reconstruct_cli_says_it_normalised_and_can_be_told_not_to(tmp_path):
    recipe = _spi_recipe("reads", True)
    run_single_pixel(simulated_lab_for(recipe), recipe, tmp_path / "s.h5", progress=False)
    cmd = [sys.executable, "-m", "imager", "reconstruct", str(tmp_path / "s.h5"), "--no-store"]
    on = subprocess.run([*cmd, "-o", str(tmp_path / "a")], capture_output=True, text=True,
                        timeout=300)
    off = subprocess.run([*cmd, "-o", str(tmp_path / "b"), "--no-reference"],
                         capture_output=True, text=True, timeout=300)
    assert on.returncode == off.returncode == 0, on.stderr + off.stderr
    assert "MIR reference channel" in on.stdout and "MIR reference channel" not in off.stdout


# ------------------------------------------------------------- pump noise (3b)
def test_pump_fluctuation_reaches_the_signal_with_the_films_exponent():
    from imager.sim.lockin import LOCKIN_INPUT_NOISE_V_PER_RTHZ, NoiseModel

    def scatter(pump_rel_rms: float) -> tuple[float, float, float]:
        nm = NoiseModel(input_noise_V_per_rtHz=LOCKIN_INPUT_NOISE_V_PER_RTHZ,
                        power_rel_rms=0.0, drift_rel_rms=0.0, pump_rel_rms=pump_rel_rms)
        lab = _bright_lab(noise_model=nm)
        lab.lockin.time_constant_s = 1.0  # detector noise well below the pump's share
        sig, ref = _series(lab, 300, 5.0)
        held = lab.pump_fluctuation.filtered_rms(1.0, 2)  # what the 1 s filter passes
        return float(np.std(sig) / sig.mean()), float(np.std(ref) / ref.mean()), \
            lab.pump_exponent() * held

    quiet, _, _ = scatter(0.0)
    noisy, ref_scatter, expected = scatter(0.02)
    assert 0.4 * 0.01 < expected < 0.8 * 0.02  # focused spot: sub-linear in the pump
    assert np.sqrt(noisy**2 - quiet**2) == pytest.approx(expected, rel=0.3)
    assert ref_scatter < 1e-4  # the MIR reference does not see the pump


def test_a_patterned_pump_makes_the_signal_superlinear_in_the_pump():
    lab = SimulatedLab(SimConfig())
    focused = lab.pump_exponent()
    lab.pump.power_mW = 500.0
    lab.projector.enabled = True
    lab.projector.load(np.ones((1, 16, 16)))
    lab.projector.show(0)
    assert focused < 1.0 and lab.pump_exponent() > 1.5
