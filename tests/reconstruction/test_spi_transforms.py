"""Fast Walsh-Hadamard transform and Walsh sequency."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import hadamard

from reconstruction.spi.transforms import fwht, hadamard_rows, is_power_of_two, sequency, sylvester


@pytest.mark.parametrize("n", [1, 2, 4, 8, 16, 32, 128, 512])
def test_fwht_matches_dense_sylvester(n):
    x = np.random.default_rng(n).standard_normal((3, n))
    expected = x @ hadamard(n) / np.sqrt(n)
    np.testing.assert_allclose(fwht(x), expected, atol=1e-12)


def test_fwht_is_an_orthonormal_involution():
    x = np.random.default_rng(0).standard_normal(4096)
    y = fwht(x)
    assert np.linalg.norm(y) == pytest.approx(np.linalg.norm(x), rel=1e-13)
    np.testing.assert_allclose(fwht(y), x, atol=1e-12)
    assert fwht(np.arange(4)).dtype == np.float64


def test_fwht_of_flat_image_is_separable_2d_transform():
    n = 16
    x = np.random.default_rng(1).standard_normal((n, n))
    h = hadamard(n) / np.sqrt(n)
    np.testing.assert_allclose(fwht(x.ravel()).reshape(n, n), h @ x @ h, atol=1e-12)


def test_fwht_rejects_non_power_of_two():
    with pytest.raises(ValueError, match="power of two"):
        fwht(np.ones(12))


@pytest.mark.parametrize("n", [2, 8, 64, 256])
def test_sequency_counts_sign_changes(n):
    rows = hadamard(n)
    changes = np.count_nonzero(np.diff(rows, axis=1), axis=1)
    np.testing.assert_array_equal(sequency(n), changes)
    assert sorted(sequency(n)) == list(range(n))


def test_hadamard_rows_and_sylvester():
    n = 32
    np.testing.assert_array_equal(hadamard_rows(np.arange(n), n), hadamard(n))
    np.testing.assert_allclose(sylvester(n) * np.sqrt(n), hadamard(n))
    assert is_power_of_two(64) and not is_power_of_two(48) and not is_power_of_two(0)
