"""Adaptive Hadamard sampling: a basis of chosen coefficients with exact patterns and
adjoint, choices where the preview has structure, and no loss against zigzag."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from reconstruction import HadamardBasis, psnr, reconstruct
from reconstruction.spi import dottest
from reconstruction.spi.adaptive import (
    IndexedHadamardBasis,
    adaptive_hadamard,
    next_hadamard_patterns,
)
from reconstruction.spi.orderings import hadamard_order
from reconstruction.spi.phantoms import bar_chart, shepp_logan

SIGMA = 0.01


def test_indexed_basis_operator_passes_the_dot_test():
    basis = IndexedHadamardBasis(32, [0, 17, 300, 1023, 5, 64])
    assert dottest(basis.operator, 1) < 1e-12


def test_indexed_basis_patterns_are_its_operator_rows():
    """beta (P+ - P-) of each pair is the measurement function: combine(raw) == A x."""
    index = [0, 9, 63, 20, 33]
    basis = IndexedHadamardBasis(8, index)
    image = np.random.default_rng(2).random((8, 8))
    pats = basis.patterns().astype(float)
    raw = np.einsum("kij,ij->k", pats, image)
    np.testing.assert_allclose(basis.combine(raw), basis.forward(image), atol=1e-12)
    np.testing.assert_array_equal(basis.index, index)
    assert basis.m == 5 and basis.spec()["index"] == index


@pytest.mark.parametrize("index", [[], [0, 0], [64], [-1]])
def test_indexed_basis_rejects_bad_index(index):
    with pytest.raises(ValueError, match="index"):
        IndexedHadamardBasis(8, index)


def test_next_patterns_follow_the_preview_and_skip_measured():
    n = 16
    measured = hadamard_order(n, "zigzag")[:20]
    target = 7 * n + 11  # a high-order coefficient, not measured
    preview = HadamardBasis(n, "natural", 1.0).adjoint(np.eye(n * n)[target])
    picks = next_hadamard_patterns(preview, measured, 8, hedge=0.25)
    assert picks.size == 8 and np.unique(picks).size == 8
    assert not np.intersect1d(picks, measured).size
    # 2 continue the zigzag order, then the preview's largest coefficient
    np.testing.assert_array_equal(picks[:2], hadamard_order(n, "zigzag")[20:22])
    assert picks[2] == target
    with pytest.raises(ValueError, match="count"):
        next_hadamard_patterns(preview, measured, n * n)


def adaptive_vs_zigzag(image, ratio, seed=1):
    n = image.shape[0]
    zig = HadamardBasis(n, "zigzag", ratio)
    yz = zig.forward(image) + SIGMA * np.random.default_rng(seed).standard_normal(zig.m)
    x_zig = reconstruct(yz, zig, "tv", noise_sigma=SIGMA)
    rng = np.random.default_rng(seed)

    def measure(index):
        part = IndexedHadamardBasis(n, index)
        return part.forward(image) + SIGMA * rng.standard_normal(part.m)

    basis, y = adaptive_hadamard(measure, n, zig.m, SIGMA)
    assert basis.m == zig.m and np.unique(basis.index).size == zig.m
    x_ad = reconstruct(y, basis, "tv", noise_sigma=SIGMA)
    return psnr(x_ad, image, 1.0) - psnr(x_zig, image, 1.0)


@pytest.mark.parametrize(
    "image, ratio, margin_db",
    [(bar_chart(128), 0.10, 2.0), (shepp_logan(128), 0.25, 3.0)],
    ids=["bars-10", "shepp-25"],
)
def test_adaptive_beats_zigzag_at_equal_pattern_count(image, ratio, margin_db):
    assert adaptive_vs_zigzag(image, ratio) >= margin_db


@pytest.mark.skipif(importlib.util.find_spec("skimage") is None, reason="needs scikit-image")
def test_adaptive_matches_zigzag_on_a_natural_image():
    from skimage import color, data, transform

    image = transform.resize(color.rgb2gray(data.astronaut()), (128, 128), anti_aliasing=True)
    assert adaptive_vs_zigzag(image, 0.10) >= -0.2


@pytest.mark.parametrize(
    "kwargs, field",
    [({"count": 0}, "count"), ({"first": 0.0}, "first"), ({"rounds": 0}, "rounds")],
)
def test_adaptive_rejects_bad_settings_by_name(kwargs, field):
    args = {"count": 10, **kwargs}
    with pytest.raises(ValueError, match=field):
        adaptive_hadamard(lambda i: np.zeros(len(i)), 8, args.pop("count"), SIGMA, **args)


def test_complete_index_fills_the_rounds_not_chosen_in_zigzag_order():
    from reconstruction.spi.adaptive import complete_index
    from reconstruction.spi.orderings import hadamard_order

    zigzag = hadamard_order(8, "zigzag")
    got = complete_index(8, [zigzag[3], 63, -1, -1])
    assert got[:2].tolist() == [zigzag[3], 63]
    assert got[2:].tolist() == [zigzag[0], zigzag[1]]  # first zigzag not already chosen
    with pytest.raises(ValueError, match="index"):
        complete_index(8, [0, 64])
    with pytest.raises(ValueError, match="index"):
        complete_index(8, [0, -2])


def test_basis_from_spec_rebuilds_an_adaptive_basis_from_its_index():
    from reconstruction.spi import basis_from_spec

    spec = {"kind": "hadamard", "size": 8, "ordering": "adaptive", "ratio": 0.0625,
            "seed": 0, "index": [5, 40, -1, -1]}
    basis = basis_from_spec(spec)
    assert isinstance(basis, IndexedHadamardBasis) and basis.n_patterns == 8
    assert basis.index[:2].tolist() == [5, 40]
    with pytest.raises(ValueError, match="hadamard"):
        basis_from_spec({**spec, "kind": "random"})


def test_round_sizes_split_the_count():
    from reconstruction.spi.adaptive import round_sizes

    assert round_sizes(410) == [205, 68, 68, 69]
    assert sum(round_sizes(7, 0.5, 5)) == 7
    with pytest.raises(ValueError, match="first"):
        round_sizes(10, 0.0)
