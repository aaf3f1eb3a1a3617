"""Solvers and the `reconstruct` API."""

from __future__ import annotations

import numpy as np
import pytest

from reconstruction import HadamardBasis, RandomBasis, psnr, reconstruct
from reconstruction.spi import FourierBasis, noise_radius
from reconstruction.spi.phantoms import bar_chart, shepp_logan
from reconstruction.spi.solvers import PrimalDual, Tikhonov, TotalVariation, WaveletL1
from reconstruction.spi.solvers.tv import total_variation

SIGMA = 0.01


def noisy(basis, image, seed=0, sigma=SIGMA):
    rng = np.random.default_rng(seed)
    return basis.forward(image) + sigma * rng.standard_normal(basis.m)


@pytest.mark.parametrize(
    "basis, image",
    [
        (HadamardBasis(64, "zigzag", 0.25), shepp_logan(64)),
        (HadamardBasis(64, "cake", 0.3), bar_chart(64)),
        (RandomBasis(32, 0.3, seed=1), shepp_logan(32)),
        (FourierBasis(64, "circular", 0.3), shepp_logan(64)),
    ],
    ids=lambda v: repr(v) if not isinstance(v, np.ndarray) else "image",
)
def test_tv_beats_pinv_on_undersampled_noisy_data(basis, image):
    sigma = 0.03
    y = noisy(basis, image, sigma=sigma)
    x_pinv = reconstruct(y, basis, "pinv")
    x_tv, info = reconstruct(y, basis, "tv", noise_sigma=sigma, return_info=True)
    assert info["converged"]
    assert info["residual"] == pytest.approx(info["eps"], rel=1e-3)
    assert psnr(x_tv, image, 1.0) > psnr(x_pinv, image, 1.0) + 0.8


def test_pinv_exact_for_complete_basis():
    image = shepp_logan(32)
    basis = HadamardBasis(32, "sequency", 1.0)
    np.testing.assert_allclose(reconstruct(basis.forward(image), basis, "pinv"), image, atol=1e-13)


def test_tv_noise_free_complete_data_is_exact():
    image = bar_chart(32)
    basis = FourierBasis(32, "circular", 1.0)
    x = reconstruct(basis.forward(image), basis, "tv", noise_sigma=0.0)
    np.testing.assert_allclose(x, image, atol=1e-10)


def test_tv_penalised_matches_constrained_at_its_multiplier():
    """Penalised TV with a smaller weight fits closer; larger weight smooths more."""
    image = shepp_logan(32)
    basis = HadamardBasis(32, "zigzag", 0.3)
    y = noisy(basis, image)
    small = TotalVariation(basis.operator, lam=1e-3).solve(y)
    large = TotalVariation(basis.operator, lam=1e-1).solve(y)
    res = [np.linalg.norm(basis.forward(x) - y) for x in (small, large)]
    assert res[0] < res[1]
    assert total_variation(large) < total_variation(small)


def test_tv_stopping_rule_reports_residuals():
    image = shepp_logan(32)
    basis = HadamardBasis(32, "zigzag", 0.25)
    solver = TotalVariation(basis.operator, eps=noise_radius(SIGMA, basis.m), tol=1e-3)
    solver.solve(noisy(basis, image))
    info = solver.info
    assert info.converged and info.iterations < 1000
    assert info.primal_residual <= 1e-3 and info.dual_residual <= 1e-3
    limited = TotalVariation(basis.operator, eps=0.1, maxiter=7)
    limited.solve(noisy(basis, image))
    assert limited.info.iterations == 7 and not limited.info.converged


def test_wavelet_beats_pinv():
    image = shepp_logan(64)
    basis = HadamardBasis(64, "zigzag", 0.15)
    y = noisy(basis, image)
    x, info = reconstruct(y, basis, "wavelet", noise_sigma=SIGMA, return_info=True)
    assert info["converged"]
    assert psnr(x, image, 1.0) > psnr(reconstruct(y, basis, "pinv"), image, 1.0) + 1.0
    haar = WaveletL1(basis.operator, eps=info["eps"], wavelet="haar", shifts=4).solve(y)
    assert psnr(haar, image, 1.0) > psnr(reconstruct(y, basis, "pinv"), image, 1.0)


def test_tikhonov_meets_discrepancy():
    image = shepp_logan(32)
    basis = HadamardBasis(32, "zigzag", 0.3)
    y = noisy(basis, image)
    eps = noise_radius(SIGMA, basis.m)
    solver = Tikhonov(basis.operator, eps=eps)
    x = solver.solve(y)
    assert solver.info.converged
    assert np.linalg.norm(basis.forward(x) - y) == pytest.approx(eps, rel=0.03)
    fixed = Tikhonov(basis.operator, lam=solver.lam_used).solve(y)
    np.testing.assert_allclose(fixed, x, atol=1e-4)


def test_reconstruct_estimates_noise_when_not_given():
    image = shepp_logan(32)
    basis = HadamardBasis(32, "zigzag", 0.3)
    rng = np.random.default_rng(3)
    sigma = 0.02
    raw = basis.raw(image) + sigma / (np.sqrt(2) / 32) * rng.standard_normal(basis.n_patterns)
    y = basis.combine(raw)
    _, info = reconstruct(y, basis, "tv", raw=raw, return_info=True)
    assert info["sigma"] == pytest.approx(sigma, rel=0.2)
    _, info = reconstruct(y, basis, "tikhonov", return_info=True)  # from coefficients
    assert info["sigma"] > 0


def test_reconstruct_errors():
    basis = HadamardBasis(8, "zigzag", 0.5)
    y = np.zeros(basis.m)
    with pytest.raises(ValueError, match="method"):
        reconstruct(y, basis, "magic")
    with pytest.raises(ValueError, match="measurements"):
        reconstruct(y[:-1], basis)
    with pytest.raises(ValueError, match="NaN"):
        reconstruct(np.full(basis.m, np.nan), basis, "pinv")
    with pytest.raises(TypeError):
        reconstruct(y, basis.spec())
    with pytest.raises(ValueError, match="exactly one"):
        TotalVariation(basis.operator)
    with pytest.raises(ValueError, match="random basis"):
        rb = RandomBasis(8, 0.5)
        reconstruct(np.zeros(rb.m), rb, "tv")


def test_primal_dual_solves_a_small_problem():
    """min |x - 3|_1 + (x - 1)^2 / 2 over R: solution x = 2."""
    pd = PrimalDual(
        K=lambda x: x - 0.0,
        KT=lambda p: p - 0.0,
        norm=1.0,
        prox_g=lambda v, tau: (v + tau * 1.0) / (1 + tau),
        prox_fstar=lambda q, s: np.clip(q - s * 3.0, -1, 1),
        tol=1e-8,
        maxiter=5000,
    )
    x, _ = pd.solve(np.array([0.0]))
    assert x[0] == pytest.approx(2.0, abs=1e-5)
    with pytest.raises(ValueError):
        PrimalDual(None, None, 1.0, None, None, relax=2.5)


def test_symmetric_tv_is_invariant_to_a_half_turn():
    x = np.random.default_rng(8).random((16, 16))
    half_turn = np.rot90(x, 2)
    assert total_variation(half_turn) == pytest.approx(total_variation(x), rel=1e-12)
    assert total_variation(half_turn, "forward") != pytest.approx(
        total_variation(x, "forward"), rel=1e-6
    )
    ramp = np.add.outer(np.arange(8.0), np.zeros(8))
    assert total_variation(ramp, "forward") == pytest.approx(7 * 8)
    assert total_variation(ramp) == pytest.approx(7 * 8)
    with pytest.raises(ValueError):
        total_variation(x, "upwind")
    with pytest.raises(ValueError):
        TotalVariation(HadamardBasis(8).operator, eps=1.0, discretization="upwind")
