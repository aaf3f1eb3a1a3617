"""Noise estimates within 20 % of the true sigma."""

from __future__ import annotations

import numpy as np
import pytest

from reconstruction.spi import (
    FourierBasis,
    HadamardBasis,
    RandomBasis,
    estimate_noise,
    noise_radius,
    sigma_from_coefficients,
    sigma_from_pairs,
    sigma_from_repeats,
)
from reconstruction.spi.phantoms import shepp_logan


@pytest.mark.parametrize(
    "basis",
    [HadamardBasis(32, "zigzag", 0.25), RandomBasis(32, 0.3, 1), FourierBasis(32, "circular", 0.3)],
    ids=repr,
)
@pytest.mark.parametrize("sigma", [0.002, 0.05])
def test_sigma_from_pairs(basis, sigma):
    image = shepp_logan(32)
    rng = np.random.default_rng(4)
    beta = float(np.median(basis.amplitudes))
    bucket = sigma / (beta * np.sqrt(2))  # per-reading noise giving sigma on y
    raw = basis.raw(image) + bucket * rng.standard_normal(basis.n_patterns)
    # slow drift of the source: a ramp on the pair sums does not bias the estimate
    raw *= np.repeat(1.0 + 0.02 * np.linspace(0, 1, basis.m), 2)
    y = basis.combine(raw)
    est = estimate_noise(y, basis, raw=raw)
    assert est == pytest.approx(sigma, rel=0.2)
    assert sigma_from_pairs(raw, basis) == est


def test_sigma_from_repeats():
    rng = np.random.default_rng(5)
    ys = rng.standard_normal(200) + 0.03 * rng.standard_normal((4, 200))
    assert sigma_from_repeats(ys) == pytest.approx(0.03, rel=0.2)
    assert estimate_noise(repeats=ys) == sigma_from_repeats(ys)


def smooth_scene(n: int) -> np.ndarray:
    i = np.arange(n) / n
    return 0.5 + 0.3 * np.sin(2 * np.pi * i)[:, None] * np.cos(2 * np.pi * i)[None, :]


@pytest.mark.parametrize("sigma", [0.005, 0.05])
@pytest.mark.parametrize("basis", [HadamardBasis(64, "zigzag", 0.5), FourierBasis(64)], ids=repr)
def test_sigma_from_high_order_coefficients(sigma, basis):
    y = basis.forward(smooth_scene(64))
    y += sigma * np.random.default_rng(6).standard_normal(basis.m)
    assert sigma_from_coefficients(y) == pytest.approx(sigma, rel=0.2)
    assert estimate_noise(y, basis) == sigma_from_coefficients(y)


def test_sigma_from_coefficients_is_an_upper_bound_with_sharp_edges():
    basis = HadamardBasis(64, "zigzag", 1.0)
    y = basis.forward(shepp_logan(64)) + 0.01 * np.random.default_rng(7).standard_normal(basis.m)
    assert sigma_from_coefficients(y) > 0.01


def test_noise_radius_and_errors():
    assert noise_radius(0.1, 400) == pytest.approx(2.0)
    assert noise_radius(0.1, 400, 1.5) == pytest.approx(3.0)
    with pytest.raises(ValueError):
        noise_radius(-1, 4)
    with pytest.raises(ValueError):
        estimate_noise()
    with pytest.raises(ValueError):
        sigma_from_pairs(np.ones(5), HadamardBasis(4))
    with pytest.raises(ValueError):
        sigma_from_repeats(np.ones(5))
    with pytest.raises(ValueError, match="random basis"):
        estimate_noise(np.ones(20), RandomBasis(8, 0.3))
