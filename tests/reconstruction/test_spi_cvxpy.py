"""Our TV against the cvxpy (Clarabel) optimum of the same problem."""

from __future__ import annotations

import numpy as np
import pytest

from reconstruction import HadamardBasis, RandomBasis, psnr, reconstruct
from reconstruction.spi import FourierBasis
from reconstruction.spi.phantoms import bar_chart, shepp_logan
from reconstruction.spi.solvers.tv import total_variation

cp = pytest.importorskip("cvxpy")

SIGMA = 0.01


@pytest.mark.parametrize(
    "basis, image",
    [
        (HadamardBasis(16, "zigzag", 0.3), shepp_logan(16)),
        (RandomBasis(16, 0.4, seed=3), bar_chart(16)),
        (FourierBasis(16, "circular", 0.3), shepp_logan(16)),
    ],
    ids=lambda v: repr(v) if not isinstance(v, np.ndarray) else "image",
)
def test_tv_agrees_with_cvxpy(basis, image):
    rng = np.random.default_rng(0)
    y = basis.forward(image) + SIGMA * rng.standard_normal(basis.m)
    ours = reconstruct(y, basis, "tv", noise_sigma=SIGMA)
    ref, info = reconstruct(y, basis, "cvxpy-tv", noise_sigma=SIGMA, return_info=True)
    assert abs(psnr(ours, image, 1.0) - psnr(ref, image, 1.0)) < 0.3
    assert psnr(ours, ref, 1.0) > 40.0
    assert info["residual"] <= info["eps"] * (1 + 1e-4)
    assert total_variation(ours) == pytest.approx(total_variation(ref), rel=2e-3)


def test_forward_discretisation_agrees_with_cvxpy():
    basis = HadamardBasis(16, "sequency", 0.35)
    image = bar_chart(16)
    y = basis.forward(image) + SIGMA * np.random.default_rng(2).standard_normal(basis.m)
    opts = {"noise_sigma": SIGMA, "discretization": "forward"}
    ours = reconstruct(y, basis, "tv", **opts)
    ref = reconstruct(y, basis, "cvxpy-tv", **opts)
    assert psnr(ours, ref, 1.0) > 40.0
    assert total_variation(ours, "forward") == pytest.approx(
        total_variation(ref, "forward"), rel=2e-3
    )


def test_penalised_tv_agrees_with_cvxpy():
    basis = HadamardBasis(16, "zigzag", 0.4)
    image = shepp_logan(16)
    y = basis.forward(image) + SIGMA * np.random.default_rng(1).standard_normal(basis.m)
    ours = reconstruct(y, basis, "tv", lam=0.02, tol=1e-5)
    ref = reconstruct(y, basis, "cvxpy-tv", lam=0.02)
    assert psnr(ours, ref, 1.0) > 45.0
