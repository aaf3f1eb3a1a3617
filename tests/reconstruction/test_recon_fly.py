"""Fly-scan reconstruction: the lock-in filter operator, deconvolution, binning, motion fit.

The bidirectional-edge test is the issue's acceptance criterion: a sharp edge
scanned forward and backward at one pixel per time constant, simulated on a
16x finer time grid (so the deconvolution does not see its own model), with
lock-in output noise. It prints how far apart the two directions are with and
without deconvolution (``pytest -s``) and records it (``record_property``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.signal import freqz

from reconstruction.fly import (
    FlyLine,
    LockInFilter,
    WienerDeconvolution,
    assemble_fly,
    assemble_line,
    bin_samples,
    deconvolve_line,
    estimate_noise_rms,
    fit_move_start,
    move_duration_s,
    trapezoid_position,
)

# The numbers: SR830 30 ms / 12 dB/oct, buffer at 512 Hz, 6.25 um pixels
# (400 um / 64), one pixel per time constant.
TAU_S, N_POLES, RATE_HZ, PIXEL_UM = 0.03, 2, 512.0, 6.25
DT_S = 1.0 / RATE_HZ
V_UM_PER_S = PIXEL_UM / TAU_S
A_UM_PER_S2 = 1500.0  # Z8 actuator default acceleration (stages/simulated.py)
ENCODER_UM = 1.0 / 34.55496  # Z8 encoder step (stages/simulated.py)
# Lock-in output noise per sample relative to the edge: the twin's step raster
# reaches PSNR 28.8 dB at 1 tc dwell (docs/lab_time.md), i.e. ~3.6 % rms.
NOISE_REL = 0.03
OVERSAMPLE = 16


def _closed_form_step(t_over_tau: np.ndarray, n: int) -> np.ndarray:
    """1 - exp(-t) sum_{m<n} t^m / m!: the n-pole RC cascade's step response."""
    t = np.asarray(t_over_tau, dtype=float)
    acc = sum(t**m / math.factorial(m) for m in range(n))
    return 1.0 - np.exp(-t) * acc


# ------------------------------------------------------------------ the operator


@pytest.mark.parametrize("n_poles", [1, 2, 3, 4])
@pytest.mark.parametrize("dt_over_tau", [1 / 15.36, 1 / 1000, 0.7])
def test_lockin_filter_dot_test(n_poles, dt_over_tau):
    f = LockInFilter(0.03, n_poles, 0.03 * dt_over_tau)
    rng = np.random.default_rng(n_poles)
    for n in (1, 7, 1000):
        x, y = rng.standard_normal(n), rng.standard_normal(n)
        ax, aty = f.forward(x), f.adjoint(y)
        scale = np.linalg.norm(ax) * np.linalg.norm(y) + np.linalg.norm(x) * np.linalg.norm(aty)
        assert abs(np.dot(ax, y) - np.dot(x, aty)) <= 1e-13 * scale


@pytest.mark.parametrize("n_poles", [1, 2, 3, 4])
def test_forward_of_a_step_is_the_closed_form_step_response(n_poles):
    f = LockInFilter(TAU_S, n_poles, DT_S)
    u = np.ones(600)
    u[0] = 0.0  # settled at 0, then a unit input from t_0 on
    k = np.arange(600)
    expected = _closed_form_step(k * DT_S / TAU_S, n_poles)
    np.testing.assert_allclose(f.forward(u), expected, atol=1e-13)
    np.testing.assert_allclose(f.step_response(k * DT_S), expected, atol=1e-13)
    # a settled start: the operator holds a constant input exactly
    np.testing.assert_allclose(f.forward(np.full(50, 0.7)), 0.7, rtol=1e-13)


@pytest.mark.parametrize("slope", [6, 12, 18, 24])
def test_forward_matches_the_simulated_lockin(slope):
    """Same outputs as the twin's SimulatedLockIn fed the same piecewise-constant input."""
    from imager.sim.clock import VirtualClock
    from imager.sim.lockin import SimulatedLockIn

    rng = np.random.default_rng(slope)
    u = rng.standard_normal(200)
    u[0] = 0.0  # the twin's filter starts settled at 0
    clock = VirtualClock(0.0)

    def signal(t_s: float) -> complex:  # u[k] on (t_{k-1}, t_k]
        return complex(u[min(max(math.ceil(t_s / DT_S - 1e-9), 0), u.size - 1)])

    lockin = SimulatedLockIn(clock, signal, noise=None, time_constant_s=TAU_S,
                             filter_slope_dB_per_oct=slope)
    twin = []
    for k in range(u.size):
        clock.advance_to(k * DT_S)
        twin.append(lockin.output_V().real)
    f = LockInFilter(TAU_S, slope // 6, DT_S)
    np.testing.assert_allclose(f.forward(u), twin, atol=1e-12)


@pytest.mark.parametrize("n_poles", [1, 2, 3, 4])
def test_frequency_response_is_the_rational_transfer_function(n_poles):
    f = LockInFilter(TAU_S, n_poles, DT_S)
    m = 512
    w = 2.0 * np.pi * np.arange(m // 2 + 1) / m
    _, h = freqz(f.numerator(), f.denominator(), worN=w)
    np.testing.assert_allclose(f.frequency_response(m), h, rtol=1e-9, atol=1e-12)
    assert f.frequency_response(m)[0] == pytest.approx(1.0, abs=1e-12)


def test_lockin_filter_rejects_bad_parameters():
    with pytest.raises(ValueError, match="n_poles"):
        LockInFilter(0.03, 5, DT_S)
    with pytest.raises(ValueError, match="tau_s"):
        LockInFilter(0.0, 2, DT_S)
    with pytest.raises(ValueError, match="dt_s"):
        LockInFilter(0.03, 2, -1.0)


# ------------------------------------------------------------------ deconvolution


def test_deconvolution_of_noise_free_data_returns_the_input():
    f = LockInFilter(TAU_S, N_POLES, DT_S)
    u = np.zeros(1500)
    u[300:700] = 1.0
    u[700:1000] = np.linspace(1.0, -0.5, 300)
    u[1000:] = -0.5
    est = deconvolve_line(f.forward(u), DT_S, TAU_S, N_POLES, noise_rms_V=0.0)
    near_jump = np.abs(np.arange(u.size) - 299.5) < 8  # smoothed over a few samples there
    assert np.abs(est - u)[~near_jump].max() < 0.01
    assert np.abs(est - u).max() < 0.1
    assert est[295:300].mean() < 0.05 and est[300:305].mean() > 0.95  # sharp, not shifted
    raw_error = np.abs(f.forward(u) - u).max()
    assert raw_error > 0.5  # the filtered line itself is far off


def _lockin_noise(n: int, rng: np.random.Generator, rms: float) -> np.ndarray:
    """Sampled output noise of the lock-in: white input noise through the cascade (fine grid)."""
    fine = LockInFilter(TAU_S, N_POLES, DT_S / OVERSAMPLE)
    g = fine.impulse_response(fine.response_length())
    w = rng.standard_normal(n * OVERSAMPLE) * rms / np.linalg.norm(g)
    w[0] = 0.0
    return fine.forward(w)[::OVERSAMPLE]


@pytest.mark.parametrize("noise", ["filtered", "white"])
def test_noise_level_is_estimated_from_the_line(noise):
    f = LockInFilter(TAU_S, N_POLES, DT_S)
    ratios = []
    for seed in range(6):
        rng = np.random.default_rng(seed)
        n = 4000
        if noise == "filtered":
            nz = _lockin_noise(n, rng, NOISE_REL)
        else:
            nz = rng.standard_normal(n) * NOISE_REL
        edge = np.where(np.arange(n) > 1700, 1.0, 0.0)
        y = f.forward(edge) + nz
        ratios.append(estimate_noise_rms(y, f, noise) / nz[500:].std())
    assert 0.85 < np.mean(ratios) < 1.15, ratios
    # the wrong model for white noise sees almost nothing of it where the filter passes
    # little; the right one does: the two models are not interchangeable
    white = np.random.default_rng(9).standard_normal(4000) * NOISE_REL
    assert estimate_noise_rms(white, f, "filtered") > 3 * NOISE_REL


# --------------------------------------------------------- the bidirectional edge


def _scan_line(direction: int, rng: np.random.Generator, edge_um: float, nx: int,
               noise_rel: float, noise: str = "filtered") -> FlyLine:
    """One fly line over a sharp edge (0 left, 1 right), run-up and run-out included.

    The stage rests 0.1 s + 50 ms latency, then moves on the trapezoidal profile;
    the filter input is the edge along the path, evaluated on a 16x finer grid.
    """
    margin_um = 80.0  # > run-up v^2/2a (14.5 um) + 5 n tau v (62 um)
    x0, x1 = (-margin_um, nx * PIXEL_UM + margin_um)[::direction]
    t_start = 0.15
    duration = t_start + move_duration_s(x0, x1, V_UM_PER_S, A_UM_PER_S2) + 0.1
    n = int(round(duration * RATE_HZ)) + 1
    dt_fine = DT_S / OVERSAMPLE
    t_fine = np.arange((n - 1) * OVERSAMPLE + 1) * dt_fine
    x_mid = trapezoid_position(t_fine - dt_fine / 2, x0, x1, V_UM_PER_S, A_UM_PER_S2, t_start)
    u = (x_mid > edge_um).astype(float)
    u[0] = float(x0 > edge_um)
    fine = LockInFilter(TAU_S, N_POLES, dt_fine)
    y = fine.forward(u)[::OVERSAMPLE]
    if noise == "filtered":
        y = y + _lockin_noise(n, rng, noise_rel)
    else:
        y = y + rng.standard_normal(n) * noise_rel
    t = np.arange(n) * DT_S
    return FlyLine(t, trapezoid_position(t, x0, x1, V_UM_PER_S, A_UM_PER_S2, t_start), y,
                   direction)


def _edge_px(row: np.ndarray) -> float:
    """Sub-pixel edge position: 50 % crossing, linear interpolation between pixel centres."""
    lo, hi = np.median(row[:4]), np.median(row[-4:])
    level = 0.5 * (lo + hi)
    above = row > level
    crossings = np.flatnonzero(above[:-1] != above[1:])
    i = crossings[np.argmax(np.abs(np.diff(row)[crossings]))]  # the steepest one
    return i + 0.5 + (level - row[i]) / (row[i + 1] - row[i])


@pytest.mark.parametrize("noise", ["filtered", "white"])
def test_bidirectional_edge_agrees_after_deconvolution(noise, record_property):
    nx = 16
    edges = np.arange(nx + 1) * PIXEL_UM
    edge_px = 7.3
    raw_gap, dec_gap, dec_bias = [], [], []
    for seed in range(5):
        rng = np.random.default_rng(seed)
        lines = [_scan_line(1 if k % 2 == 0 else -1, rng, edge_px * PIXEL_UM, nx, NOISE_REL,
                            noise) for k in range(8)]
        raw = assemble_fly(lines, edges)
        dec = assemble_fly(lines, edges, deconvolve=True, tau_s=TAU_S, n_poles=N_POLES,
                           noise=noise)
        e_raw = np.array([_edge_px(r) for r in raw])
        e_dec = np.array([_edge_px(r) for r in dec])
        raw_gap.append(e_raw[0::2].mean() - e_raw[1::2].mean())
        dec_gap.append(e_dec[0::2].mean() - e_dec[1::2].mean())
        dec_bias.append(e_dec.mean() - edge_px)
    print(f"\n[{noise} noise] forward - backward edge position, pixels: raw "
          f"{np.round(raw_gap, 2).tolist()}, deconvolved {np.round(dec_gap, 3).tolist()}; "
          f"deconvolved edge - truth {np.round(dec_bias, 3).tolist()}")
    record_property(f"edge_gap_raw_px_{noise}", float(np.mean(raw_gap)))
    record_property(f"edge_gap_deconvolved_px_max_{noise}", float(np.max(np.abs(dec_gap))))
    # the lag n tau v is 2 px each way: without deconvolution the directions part by several
    assert min(raw_gap) > 2.5
    assert max(np.abs(dec_gap)) < 0.2
    assert max(np.abs(dec_bias)) < 0.2  # and both sit on the true edge


@pytest.mark.parametrize(("noise", "bound"), [("filtered", 2.0), ("white", 4.0)])
def test_noise_amplification_per_pixel(noise, bound, record_property):
    """Per-pixel noise of the deconvolved image over the raw one, at the weight the data chose."""
    nx = 16
    edges = np.arange(nx + 1) * PIXEL_UM
    f = LockInFilter(TAU_S, N_POLES, DT_S)
    raw_px, dec_px = [], []
    for seed in range(12):
        d = 1 if seed % 2 == 0 else -1
        line = _scan_line(d, np.random.default_rng(seed), 7.3 * PIXEL_UM, nx, NOISE_REL, noise)
        clean = _scan_line(d, np.random.default_rng(seed), 7.3 * PIXEL_UM, nx, 0.0, noise)
        nz = line.values_V - clean.values_V
        solver = WienerDeconvolution(f, noise=noise)
        solver.solve(line.values_V)
        fixed = WienerDeconvolution(f, noise=noise, noise_rms_V=solver.info.noise_rms_V,
                                    reg_weight=solver.info.reg_weight)
        x_mid = np.interp(line.t_s - DT_S / 2, line.t_s, line.x_um)
        raw_px.append(bin_samples(line.x_um, nz, edges)[0])
        dec_px.append(bin_samples(x_mid, fixed.solve(nz), edges)[0])  # linear: noise alone
    gain = float(np.std(dec_px) / np.std(raw_px))
    print(f"\n[{noise} noise] per-pixel noise amplification of the deconvolution: x{gain:.2f}")
    record_property(f"noise_gain_per_pixel_{noise}", gain)
    assert 1.0 < gain < bound


def test_deconvolve_line_equals_the_solver_and_reports_its_choice():
    f = LockInFilter(TAU_S, N_POLES, DT_S)
    rng = np.random.default_rng(3)
    y = f.forward(np.r_[np.zeros(400), np.ones(800)]) + _lockin_noise(1200, rng, NOISE_REL)
    solver = WienerDeconvolution(f)
    np.testing.assert_array_equal(deconvolve_line(y, DT_S, TAU_S, N_POLES), solver.solve(y))
    info = solver.info
    assert info.noise_estimated and info.converged and 0 < info.iterations < 100
    assert info.noise_rms_V == pytest.approx(NOISE_REL, rel=0.25)
    smoother = WienerDeconvolution(f, reg_weight=100 * info.reg_weight).solve(y)
    assert np.std(np.diff(smoother)) < np.std(np.diff(solver.solve(y)))
    with pytest.raises(ValueError, match="noise must be one of"):
        WienerDeconvolution(f, noise="pink")
    with pytest.raises(ValueError, match="signal_V"):
        solver.solve(np.r_[1.0, np.nan, 1.0, 1.0, 1.0, 1.0, 1.0])


# ------------------------------------------------------------------------ binning


def test_bin_samples_means_counts_and_empty_bins():
    x = np.array([0.0, 0.5, 1.0, 1.99, 3.0, 3.0, -0.1, 4.5, 2.5])
    v = np.array([1.0, 3.0, 10.0, 20.0, 7.0, np.nan, 99.0, 99.0, 5.0])
    mean, count = bin_samples(x, v, [0.0, 1.0, 2.0, 2.4, 3.0])
    np.testing.assert_array_equal(count, [2, 2, 0, 2])  # 3.0 is the last edge: inside; NaN out
    np.testing.assert_allclose(mean[[0, 1, 3]], [2.0, 15.0, 6.0])
    assert np.isnan(mean[2])
    with pytest.raises(ValueError, match="edges_um"):
        bin_samples(x, v, [0.0, 2.0, 1.0])
    with pytest.raises(ValueError, match="same length"):
        bin_samples(x, v[:-1], [0.0, 1.0])


def test_assemble_fly_partial_scan_and_line_checks():
    edges = np.arange(5) * 10.0
    t = np.arange(50) * 0.01
    x = np.linspace(-5.0, 45.0, 50)
    fwd = FlyLine(t, x, np.ones(50), 1)
    bwd = (t, x[::-1], 2.0 * np.ones(50), -1)
    image = assemble_fly([fwd, None, bwd], edges, ny=5)
    assert image.shape == (5, 4)
    np.testing.assert_array_equal(image[0], 1.0)
    np.testing.assert_array_equal(image[2], 2.0)
    assert np.isnan(image[[1, 3, 4]]).all()
    row, count = assemble_line(t, x, np.ones(50), edges)
    np.testing.assert_array_equal(row, image[0])
    assert count.sum() == np.count_nonzero((x >= 0) & (x <= 40))
    with pytest.raises(ValueError, match=r"lines\[1\]: direction is -1"):
        assemble_fly([fwd, (t, x, np.ones(50), -1)], edges)
    with pytest.raises(ValueError, match="tau_s and n_poles"):
        assemble_fly([fwd], edges, deconvolve=True)
    with pytest.raises(ValueError, match="uniform"):
        assemble_line(t**2, x, np.ones(50), edges, deconvolve=True, tau_s=0.03, n_poles=2)


def test_offline_reassembly_with_other_bins_and_settings():
    """The same lines give images at any pixel size, raw or deconvolved."""
    rng = np.random.default_rng(0)
    lines = [_scan_line(d, rng, 7.3 * PIXEL_UM, 16, NOISE_REL) for d in (1, -1)]
    fine_edges = np.arange(33) * PIXEL_UM / 2
    fine = assemble_fly(lines, fine_edges, deconvolve=True, tau_s=TAU_S, n_poles=N_POLES)
    assert fine.shape == (2, 32) and np.isfinite(fine).all()
    gap = _edge_px(fine[0]) - _edge_px(fine[1])
    assert abs(gap) < 0.4  # half-size pixels: 0.2 of the original pixel
    fixed = assemble_fly(lines, fine_edges, deconvolve=True, tau_s=TAU_S, n_poles=N_POLES,
                         noise_rms_V=NOISE_REL, reg_weight=1e4)
    assert not np.allclose(fixed, fine)


# ------------------------------------------------------------------------- motion


@pytest.mark.parametrize(("x0", "x1", "v"), [(1000.0, 1400.0, 208.3), (1400.0, 1000.0, 2400.0),
                                              (500.0, 510.0, 2400.0)])
def test_trapezoid_is_the_simulated_stage_profile(x0, x1, v):
    from stages.simulated import SimulatedStage, StageDynamics

    clock_t = [0.0]

    class Clock:
        def now_s(self) -> float:
            return clock_t[0]

        def sleep(self, dt_s: float) -> None:
            clock_t[0] += dt_s

    dynamics = StageDynamics(velocity_um_per_s=v, acceleration_um_per_s2=1500.0)
    stage = SimulatedStage("x", Clock(), start_um=x0, dynamics=dynamics)
    clock_t[0] = 0.37
    stage.move_to(x1)
    t = np.linspace(0.0, 0.37 + move_duration_s(x0, x1, v, 1500.0) + 0.2, 997)
    expected = [stage.position_at(tk) for tk in t]
    np.testing.assert_allclose(trapezoid_position(t, x0, x1, v, 1500.0, 0.37), expected,
                               atol=1e-9)
    assert move_duration_s(x0, x1, v, 1500.0) == pytest.approx(stage.move_end_s - 0.37)


def test_fit_move_start_recovers_the_latency_from_quantised_readbacks():
    errors = []
    for seed in range(10):
        rng = np.random.default_rng(seed)
        t_command = 2.0
        latency = rng.uniform(0.02, 0.2)
        x0, x1 = 1000.0 - 80.0, 1000.0 + 480.0
        t_read = np.arange(rng.uniform(0.0, 0.1), 6.0, 0.1)  # 10 Hz status updates
        x_true = trapezoid_position(t_read, x0, x1, V_UM_PER_S, A_UM_PER_S2,
                                    t_command + latency)
        x_read = np.round(x_true / ENCODER_UM) * ENCODER_UM
        stamps = t_read + rng.normal(0.0, 0.5e-3, t_read.size)  # timestamp jitter
        t0 = fit_move_start(stamps, x_read, x0, x1, V_UM_PER_S, A_UM_PER_S2, t_command)
        errors.append(t0 - (t_command + latency))
    print(f"\nfit_move_start: worst start-time error {1e3 * np.max(np.abs(errors)):.3f} ms")
    assert np.max(np.abs(errors)) < 1e-3


def test_fit_move_start_needs_readbacks_during_the_move():
    t = np.array([0.0, 0.1, 0.2])
    with pytest.raises(ValueError, match="no readback falls inside the move"):
        fit_move_start(t, np.zeros(3), 0.0, 1.0, 100.0, 1000.0, t_guess_s=5.0, search_s=0.5)
    with pytest.raises(ValueError, match="same length"):
        fit_move_start(t, np.zeros(2), 0.0, 1.0, 100.0, 1000.0, 0.0)
