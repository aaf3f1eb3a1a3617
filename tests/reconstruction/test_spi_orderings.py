"""Orderings are permutations with their documented property (checked on the real patterns)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from reconstruction.spi import HadamardBasis
from reconstruction.spi.orderings import (
    FOURIER_ORDERINGS,
    HADAMARD_ORDERINGS,
    fourier_frequencies,
    hadamard_order,
)

N = 16


def signed_patterns(ordering: str, n: int = N) -> np.ndarray:
    basis = HadamardBasis(n, ordering, 1.0, seed=3)
    return basis.patterns(0, basis.n_patterns)[0::2].astype(int) * 2 - 1


def sign_changes(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sequency along axis 0 and axis 1 of each pattern (separable, so any line)."""
    su = np.count_nonzero(np.diff(p[:, :, 0], axis=1), axis=1)
    sv = np.count_nonzero(np.diff(p[:, 0, :], axis=1), axis=1)
    return su, sv


@pytest.mark.parametrize("ordering", HADAMARD_ORDERINGS)
def test_hadamard_orderings_are_permutations(ordering):
    order = hadamard_order(N, ordering, seed=5)
    np.testing.assert_array_equal(np.sort(order), np.arange(N * N))


def test_natural_is_identity():
    np.testing.assert_array_equal(hadamard_order(N, "natural"), np.arange(N * N))


def test_sequency_ordering_increases_lexicographically():
    su, sv = sign_changes(signed_patterns("sequency"))
    key = su * N + sv
    np.testing.assert_array_equal(key, np.arange(N * N))


@pytest.mark.parametrize("ordering", ["zigzag", "tv"])
def test_zigzag_total_sequency_non_decreasing(ordering):
    su, sv = sign_changes(signed_patterns(ordering))
    assert np.all(np.diff(su + sv) >= 0)
    assert su[0] == sv[0] == 0


def count_blocks(p: np.ndarray) -> int:
    return sum(ndimage.label(p == s)[1] for s in (-1, 1))


def test_cake_cutting_block_count_non_decreasing():
    pats = signed_patterns("cake")
    blocks = np.array([count_blocks(p) for p in pats])
    assert np.all(np.diff(blocks) >= 0)
    su, sv = sign_changes(pats)
    np.testing.assert_array_equal(blocks, (su + 1) * (sv + 1))


def test_russian_doll_nested_low_resolution_first():
    pats = signed_patterns("russian-doll")
    for k in range(int(np.log2(N)) + 1):
        count, block = 4**k, N >> k
        head = pats[:count]
        # constant on (block x block) tiles: the 2**k x 2**k Hadamard basis, upsampled
        tiles = head.reshape(count, 1 << k, block, 1 << k, block)
        assert np.all(tiles == tiles[:, :, :1, :, :1])
        if k < int(np.log2(N)):
            rest = pats[count:].reshape(-1, 1 << k, block, 1 << k, block)
            assert not np.any(np.all(rest == rest[:, :, :1, :, :1], axis=(1, 2, 3, 4)))


def test_random_ordering_is_seeded_and_starts_with_dc():
    a = hadamard_order(N, "random", seed=1)
    np.testing.assert_array_equal(a, hadamard_order(N, "random", seed=1))
    assert not np.array_equal(a, hadamard_order(N, "random", seed=2))
    assert a[0] == 0


def test_prefix_of_ordering_is_the_sampled_set():
    basis = HadamardBasis(N, "zigzag", 0.25)
    np.testing.assert_array_equal(basis.index, hadamard_order(N, "zigzag")[: basis.m])
    assert basis.m == N * N // 4


@pytest.mark.parametrize("ordering", FOURIER_ORDERINGS)
def test_fourier_frequencies_cover_half_spectrum_once(ordering):
    n = 8
    ku, kv = fourier_frequencies(n, ordering, seed=0)
    assert (ku[0], kv[0]) == (0, 0)
    pairs = set(zip(ku.tolist(), kv.tolist(), strict=True))
    assert len(pairs) == ku.size
    # every frequency of the full spectrum is one of these or the conjugate of one
    full = {(u, v) for u in range(n) for v in range(n)}
    covered = pairs | {((-u) % n, (-v) % n) for u, v in pairs}
    assert covered == full


def test_circular_ordering_radius_non_decreasing():
    n = 16
    ku, kv = fourier_frequencies(n, "circular")
    fu = np.where(ku > n // 2, ku - n, ku)
    assert np.all(np.diff(fu**2 + kv**2) >= 0)


def test_unknown_ordering():
    with pytest.raises(ValueError, match="unknown"):
        hadamard_order(N, "spiral")
    with pytest.raises(ValueError, match="unknown"):
        fourier_frequencies(8, "zigzag")
