"""The fused TV iteration (issue 13): same result as the generic primal-dual loop, converged
on bar charts, and the allocation-free FWHT it relies on. Timing is in benchmarks/tv_speed.py."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import hadamard

from reconstruction import psnr
from reconstruction.spi import FourierBasis, HadamardBasis, RandomBasis, noise_radius
from reconstruction.spi.phantoms import bar_chart, shepp_logan
from reconstruction.spi.solvers import TotalVariation, tv_kernel
from reconstruction.spi.solvers.common import ball_projection, quadratic_prox
from reconstruction.spi.transforms import fwht

SIGMA = 0.01


def _problem(basis, image, seed=1):
    y = basis.forward(image) + SIGMA * np.random.default_rng(seed).standard_normal(basis.m)
    return y, noise_radius(SIGMA, basis.m)


@pytest.mark.parametrize("ratio", [0.05, 0.10])
def test_tv_on_a_bar_chart_ends_within_0p1_db_of_a_1000_iteration_run(ratio):
    image = bar_chart(64)
    basis = HadamardBasis(64, "zigzag", ratio)
    y, eps = _problem(basis, image)
    shipped = TotalVariation(basis.operator, eps=eps)
    x = shipped.solve(y)
    long = TotalVariation(basis.operator, eps=eps, tol=0.0, maxiter=1000, reference=True)
    x_long = long.solve(y)
    assert shipped.info.converged and long.info.iterations == 1000
    assert abs(psnr(x, image, 1.0) - psnr(x_long, image, 1.0)) <= 0.1
    # and not by running to the limit: the rule stopped well before
    assert shipped.info.iterations < 1000


@pytest.mark.parametrize(
    "basis",
    [HadamardBasis(64, "zigzag", 0.25), HadamardBasis(64, "zigzag", 0.10),
     RandomBasis(32, 0.3, seed=2), FourierBasis(32, "circular", 0.3)],
    ids=repr,
)
@pytest.mark.parametrize("discretization", ["symmetric", "forward"])
def test_fused_iteration_equals_the_generic_primal_dual_loop(basis, discretization):
    """Same iterates as the previous solver (the generic `PrimalDual` loop): same
    iteration count, images equal to rounding, so the PSNR on Shepp-Logan is unchanged."""
    image = shepp_logan(basis.size)
    y, eps = _problem(basis, image)
    for kwargs in ({"eps": eps}, {"lam": 0.02}):
        fused = TotalVariation(basis.operator, discretization=discretization, **kwargs)
        generic = TotalVariation(
            basis.operator, discretization=discretization, reference=True, **kwargs
        )
        x, x_ref = fused.solve(y), generic.solve(y)
        assert fused.info.iterations == generic.info.iterations
        np.testing.assert_allclose(x, x_ref, rtol=0, atol=1e-10)
        assert abs(psnr(x, image, 1.0) - psnr(x_ref, image, 1.0)) < 0.1
        np.testing.assert_allclose(fused.info.history, generic.info.history, rtol=1e-6)


def test_row_strips_give_the_same_image_as_one_strip(monkeypatch):
    """The dual sweep in strips (halo rows, lagging K^T p) equals the whole-image sweep."""
    basis = HadamardBasis(32, "zigzag", 0.25)
    image = shepp_logan(32)
    y, eps = _problem(basis, image)
    whole = TotalVariation(basis.operator, eps=eps, maxiter=60).solve(y)
    for pixels in (32, 96, 100, 5 * 32 + 7):  # 1, 3, 3 and 5 rows (short last strip)
        monkeypatch.setattr(tv_kernel, "_STRIP_ELEMENTS", pixels)
        stripped = TotalVariation(basis.operator, eps=eps, maxiter=60).solve(y)
        np.testing.assert_allclose(stripped, whole, rtol=0, atol=1e-12)


def test_min_iter_holds_off_convergence():
    basis = HadamardBasis(16, "zigzag", 0.5)
    y = basis.forward(np.ones((16, 16)))  # A^T y is the solution: converged at once
    for reference in (False, True):
        early = TotalVariation(basis.operator, eps=1e-3, min_iter=0, reference=reference)
        early.solve(y)
        held = TotalVariation(basis.operator, eps=1e-3, min_iter=20, reference=reference)
        held.solve(y)
        assert early.info.converged and early.info.iterations == 5
        assert held.info.converged and held.info.iterations == 20


@pytest.mark.parametrize("n", [1, 2, 8, 16, 128, 1024])
def test_fwht_into_given_arrays_matches_the_dense_hadamard_product(n):
    x = np.random.default_rng(n).standard_normal((3, n))
    expected = x @ hadamard(n) / np.sqrt(n)
    out, work = np.empty_like(x), np.empty_like(x)
    assert fwht(x, out=out, work=work) is out
    np.testing.assert_allclose(out, expected, atol=1e-12)
    inplace = x.copy()
    assert fwht(inplace, out=inplace) is inplace  # odd or even number of passes
    np.testing.assert_allclose(inplace, expected, atol=1e-12)
    # its own inverse (orthonormal: the scale is 1)
    np.testing.assert_allclose(fwht(fwht(x, out=out, work=work).copy()), x, atol=1e-12)
    with pytest.raises(ValueError, match="out must be"):
        fwht(x, out=np.empty((3, n), dtype=np.float32))


@pytest.mark.parametrize("basis", [HadamardBasis(16, "zigzag", 0.3), RandomBasis(16, 0.4)],
                         ids=repr)
def test_coefficient_prox_maps_equal_the_operator_formulas(basis):
    """The in-place maps on the transform coefficients equal the formulas with A, A^T."""
    op = basis.operator
    rng = np.random.default_rng(4)
    v, y = rng.standard_normal(op.shape_in), rng.standard_normal(op.shape_out)
    np.testing.assert_allclose(op.inverse_transform(op.transform(v)), v, atol=1e-12)
    r = op.forward(v) - y
    eps = 0.5 * np.linalg.norm(r)
    expected = v - op.adjoint(r * (1 - eps / np.linalg.norm(r)))
    out = np.empty_like(v)
    assert ball_projection(op, y, eps)(v, 1.0, out=out) is out
    np.testing.assert_allclose(out, expected, atol=1e-12)
    tau = 0.7
    expected = v + op.adjoint(tau * (y - op.forward(v)) / (1 + tau))
    np.testing.assert_allclose(quadratic_prox(op, y)(v, tau), expected, atol=1e-12)
