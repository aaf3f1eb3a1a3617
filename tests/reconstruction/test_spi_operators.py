"""Adjoint dot-tests of every matrix-free operator."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconstruction.spi import FourierBasis, HadamardBasis, RandomBasis, dottest
from reconstruction.spi.operators import Gradient, divergence
from reconstruction.spi.wavelets import WAVELETS, Wavelet

TOL = 1e-13


@pytest.mark.parametrize(
    "basis",
    [
        HadamardBasis(32, "zigzag", 0.2),
        HadamardBasis(16, "random", 1.0, seed=3),
        RandomBasis(32, 0.3, seed=2),
        FourierBasis(32, "circular", 0.2),
        FourierBasis(10, "diamond", 1.0),
        FourierBasis(16, "random", 0.5, seed=9),
    ],
    ids=repr,
)
def test_measurement_operators_dot_test_and_orthonormal_rows(basis):
    op = basis.operator
    assert dottest(op) < TOL
    y = np.random.default_rng(0).standard_normal(basis.m)
    np.testing.assert_allclose(op.forward(op.adjoint(y)), y, atol=1e-12)  # A A^T = I


@settings(max_examples=20, deadline=None)
@given(
    k=st.integers(1, 5),
    ratio=st.floats(0.01, 1.0),
    kind=st.sampled_from(["hadamard", "fourier", "random"]),
)
def test_dot_test_any_size(k, ratio, kind):
    n = 2**k
    basis = {
        "hadamard": lambda: HadamardBasis(n, "sequency", ratio),
        "fourier": lambda: FourierBasis(n, "circular", ratio),
        "random": lambda: RandomBasis(n, ratio, seed=k),
    }[kind]()
    assert dottest(basis.operator, rng=k) < TOL


@pytest.mark.parametrize("shape", [(2, 2), (7, 5), (32, 32)])
def test_gradient_dot_test_and_divergence(shape):
    g = Gradient(shape)
    assert dottest(g) < TOL
    p = np.random.default_rng(1).standard_normal((2, *shape))
    np.testing.assert_allclose(divergence(p), -g.adjoint(p))
    x = np.random.default_rng(2).standard_normal(shape)
    assert np.linalg.norm(g.forward(x)) <= g.norm * np.linalg.norm(x)


@pytest.mark.parametrize("wavelet", sorted(WAVELETS))
@pytest.mark.parametrize("levels", [1, 3, None])
def test_wavelet_is_orthonormal(wavelet, levels):
    w = Wavelet((32, 32), wavelet, levels)
    assert dottest(w) < TOL
    x = np.random.default_rng(3).standard_normal((32, 32))
    np.testing.assert_allclose(w.adjoint(w.forward(x)), x, atol=1e-12)
    assert w.approximation_mask().sum() == (32 >> w.levels) ** 2


def test_wavelet_sparsifies_a_constant():
    w = Wavelet((16, 16), "db2", 2)
    c = w.forward(np.ones((16, 16)))
    assert np.abs(c[~w.approximation_mask()]).max() < 1e-12


def test_wavelet_bad_levels():
    with pytest.raises(ValueError):
        Wavelet((12, 12), "haar", 3)
    with pytest.raises(ValueError):
        Wavelet((16, 16), "sym8")
