"""Bases: spec round trip, exact inverse, differential pairs, Fourier four-step, dithering."""

from __future__ import annotations

import json

import numpy as np
import pytest

from reconstruction import FourierBasis, HadamardBasis, RandomBasis, basis_from_spec
from reconstruction.spi import HADAMARD_ORDERINGS, four_step
from reconstruction.spi.dither import bayer, floyd_steinberg

COMPLETE = [
    *(HadamardBasis(16, o, 1.0, seed=2) for o in HADAMARD_ORDERINGS),
    FourierBasis(16, "circular", 1.0),
    FourierBasis(12, "diamond", 1.0),
    FourierBasis(16, "random", 1.0, seed=4),
    RandomBasis(16, 1.0, seed=5),
]
PARTIAL = [
    HadamardBasis(32, "zigzag", 0.1),
    HadamardBasis(16, "cake", 0.3),
    FourierBasis(16, "circular", 0.3),
    RandomBasis(16, 0.3, seed=1),
]


@pytest.fixture
def image():
    rng = np.random.default_rng(11)
    return rng.random((16, 16))


@pytest.mark.parametrize("basis", COMPLETE + PARTIAL, ids=repr)
def test_spec_round_trip_through_json(basis):
    spec = basis.spec()
    again = basis_from_spec(json.loads(json.dumps(spec)))
    assert again == basis and again.spec() == spec
    x = np.random.default_rng(0).random(basis.shape)
    np.testing.assert_array_equal(again.forward(x), basis.forward(x))


@pytest.mark.parametrize("basis", COMPLETE, ids=repr)
def test_complete_basis_inverts_exactly(basis):
    x = np.random.default_rng(1).random(basis.shape)
    assert basis.m == basis.size**2
    np.testing.assert_allclose(basis.adjoint(basis.forward(x)), x, atol=1e-13)
    # orthonormal: Parseval
    assert np.linalg.norm(basis.forward(x)) == pytest.approx(np.linalg.norm(x), rel=1e-13)


@pytest.mark.parametrize("basis", COMPLETE[:1] + PARTIAL, ids=repr)
def test_differential_pairs_combine_to_the_ideal_measurement(basis):
    x = np.random.default_rng(2).random(basis.shape)
    binary = basis.kind != "fourier"
    pats = basis.patterns(binary=binary)
    assert pats.shape == (basis.n_patterns, *basis.shape)
    np.testing.assert_allclose(pats[0::2] + pats[1::2], 1.0)  # complementary
    raw = np.einsum("kij,ij->k", pats, x)
    np.testing.assert_allclose(basis.combine(raw), basis.forward(x), atol=1e-12)
    np.testing.assert_allclose(raw, basis.raw(x), atol=1e-12)
    # pair sums are the total flux
    np.testing.assert_allclose(raw[0::2] + raw[1::2], x.sum())


@pytest.mark.parametrize("basis", [PARTIAL[0], PARTIAL[3]], ids=repr)
def test_binary_patterns_are_zero_one(basis):
    pats = basis.patterns(3, 11)
    assert pats.dtype == np.uint8 and set(np.unique(pats)) <= {0, 1}
    full = basis.patterns()
    np.testing.assert_array_equal(pats, full[3:11])
    np.testing.assert_array_equal(
        basis.combine(basis.raw(np.ones(basis.shape))[4:10], start=2),
        basis.forward(np.ones(basis.shape))[2:5],
    )


def test_hadamard_patterns_are_the_halves_of_h():
    basis = HadamardBasis(8, "natural", 1.0)
    pats = basis.patterns()
    signed = (pats[0::2].astype(int) - pats[1::2]).reshape(64, 64)
    from scipy.linalg import hadamard

    np.testing.assert_array_equal(signed, hadamard(64))


def test_fourier_four_step_recovers_complex_coefficient(image):
    n = 16
    i = np.arange(n)
    for ku, kv in [(0, 1), (3, 5), (15, 2), (8, 3)]:
        theta = 2 * np.pi * (np.outer(ku * i, np.ones(n)) + np.outer(np.ones(n), kv * i)) / n
        d = [np.sum(image * (0.5 + 0.5 * np.cos(theta + phi))) for phi in np.arange(4) * np.pi / 2]
        assert four_step(*d) == pytest.approx(np.fft.fft2(image)[ku, kv], abs=1e-10)


def test_fourier_basis_coefficients_and_conjugate_symmetry(image):
    basis = FourierBasis(16, "circular", 1.0)
    ku, kv, coeff = basis.coefficients(basis.forward(image))
    np.testing.assert_allclose(coeff, np.fft.fft2(image)[ku, kv], atol=1e-10)
    # half the spectrum (plus the self-conjugate frequencies) determines the image
    assert coeff.size == (16 * 16 - 4) // 2 + 4


def test_fourier_basis_keeps_cosine_and_sine_together():
    basis = FourierBasis(16, "circular", 0.1)
    _, _, sine = basis.frequencies
    assert not sine[0] and (basis.m == 26 or basis.m == 27)
    assert not (not sine[-1] and basis.amplitudes[-1] > 1.5 / 16)


def test_dithered_fourier_patterns_approximate_grey_levels():
    basis = FourierBasis(32, "circular", 0.05)
    grey = basis.patterns(0, 8, binary=False)
    fs = basis.patterns(0, 8)
    assert fs.dtype == np.uint8
    # local means agree (blur over 4x4 blocks)
    blur = lambda p: p.reshape(8, 8, 4, 8, 4).mean(axis=(2, 4))  # noqa: E731
    assert np.abs(blur(fs.astype(float)) - blur(grey)).mean() < 0.06
    by = FourierBasis(32, "circular", 0.05, dither="bayer").patterns(0, 8)
    assert np.abs(blur(by.astype(float)) - blur(grey)).mean() < 0.06


def test_dither_functions_preserve_mean():
    g = np.full((2, 16, 16), 0.3)
    assert floyd_steinberg(g).mean() == pytest.approx(0.3, abs=0.02)
    assert bayer(g).mean() == pytest.approx(0.3, abs=0.02)


@pytest.mark.parametrize(
    "spec, match",
    [
        ({"kind": "hadamard", "size": 12}, "power of two"),
        ({"kind": "hadamard", "size": 16, "ordering": "spiral"}, "ordering"),
        ({"kind": "hadamard", "size": 16, "ratio": 0.0}, "ratio"),
        ({"kind": "fourier", "size": 15}, "even"),
        ({"kind": "fourier", "size": 16, "dither": "atkinson"}, "dither"),
        ({"kind": "random", "size": 16, "ordering": "zigzag"}, "random"),
        ({"kind": "walsh", "size": 16}, "kind"),
        ({"kind": "hadamard", "size": 16, "matrix": []}, "keys"),
    ],
)
def test_bad_specs(spec, match):
    with pytest.raises(ValueError, match=match):
        basis_from_spec(spec)


def test_bad_ranges():
    basis = HadamardBasis(8, "zigzag", 0.5)
    with pytest.raises(ValueError):
        basis.patterns(0, basis.n_patterns + 1)
    with pytest.raises(ValueError):
        basis.combine(np.ones(3))
    with pytest.raises(ValueError):
        basis.adjoint(np.ones(3))
    assert basis.patterns(4, 4).shape == (0, 8, 8)
