"""PSNR, SSIM and correlation: analytic properties and NaN handling."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reconstruction import compare, correlation, psnr, ssim
from reconstruction.metrics import ssim_map


def _img(shape=(32, 40), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.indices(shape, dtype=float)
    return np.sin(xx / 3.0) * np.cos(yy / 5.0) + 0.1 * rng.normal(size=shape)


# ------------------------------------------------------------------ PSNR


def test_psnr_identical_is_inf():
    a = _img()
    assert psnr(a, a) == math.inf


def test_psnr_known_mse():
    ref = np.zeros((10, 10))
    ref[0, 0] = 2.0  # data range 2
    img = ref + 0.1  # MSE = 0.01
    assert psnr(img, ref) == pytest.approx(10 * math.log10(4 / 0.01))
    assert psnr(img, ref, data_range=1.0) == pytest.approx(20.0)


def test_psnr_uses_reference_range_not_image_range():
    ref = np.linspace(0, 1, 100).reshape(10, 10)
    img = ref + 0.05
    assert psnr(img, ref) == pytest.approx(psnr(img * 1.0, ref, data_range=1.0))
    assert psnr(10 * ref, ref) < psnr(ref + 0.01, ref)  # scale mismatch is penalised


def test_psnr_ignores_nan_pixels():
    ref = np.linspace(0, 1, 100).reshape(10, 10)
    img = ref + 0.1
    img_nan = img.copy()
    img_nan[3, 4] = np.nan
    ref_nan = ref.copy()
    ref_nan[7, 7] = np.nan
    img_nan[7, 7] = 1000.0  # would dominate the MSE if not ignored
    assert psnr(img_nan, ref_nan) == pytest.approx(20.0)


def test_psnr_errors():
    with pytest.raises(ValueError, match="shape"):
        psnr(np.ones((3, 3)), np.ones((3, 4)))
    with pytest.raises(ValueError, match="finite"):
        psnr(np.full((3, 3), np.nan), np.ones((3, 3)))


# ------------------------------------------------------------------ SSIM


def test_ssim_identical_is_one():
    a = _img()
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-12)


def test_ssim_decreases_with_noise():
    a = _img()
    rng = np.random.default_rng(5)
    values = [ssim(a + s * rng.normal(size=a.shape), a) for s in (0.0, 0.05, 0.2, 0.8)]
    assert values[0] == pytest.approx(1.0)
    assert all(x > y for x, y in zip(values, values[1:], strict=False))
    assert values[-1] < 0.5


def test_ssim_constant_images_luminance_term():
    # Zero variance everywhere: SSIM reduces to (2 m1 m2 + C1) / (m1^2 + m2^2 + C1).
    x = np.full((16, 16), 0.5)
    y = np.full((16, 16), 0.6)
    c1 = (0.01 * 1.0) ** 2
    expected = (2 * 0.5 * 0.6 + c1) / (0.5**2 + 0.6**2 + c1)
    assert ssim(x, y, data_range=1.0) == pytest.approx(expected, rel=1e-12)


def test_ssim_symmetric_with_fixed_range_and_negative_for_inverted():
    a = _img()
    b = _img(seed=1)
    assert ssim(a, b, data_range=2.0) == pytest.approx(ssim(b, a, data_range=2.0))
    a01 = (a - a.min()) / (a.max() - a.min())
    assert ssim(1.0 - a01, a01) < 0  # contrast inverted about mid-grey


def test_ssim_map_matches_brute_force_gaussian_window():
    a = _img((24, 24), seed=2)
    b = a + 0.3 * _img((24, 24), seed=3)
    r = float(b.max() - b.min())
    y0, x0 = 12, 11
    offs = np.arange(-5, 6)
    g = np.exp(-(offs**2) / (2 * 1.5**2))
    w = np.outer(g, g)
    w /= w.sum()
    pa = a[y0 - 5 : y0 + 6, x0 - 5 : x0 + 6]
    pb = b[y0 - 5 : y0 + 6, x0 - 5 : x0 + 6]
    mx, my = (w * pa).sum(), (w * pb).sum()
    vx = (w * (pa - mx) ** 2).sum()
    vy = (w * (pb - my) ** 2).sum()
    cxy = (w * (pa - mx) * (pb - my)).sum()
    c1, c2 = (0.01 * r) ** 2, (0.03 * r) ** 2
    expected = (2 * mx * my + c1) * (2 * cxy + c2) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    assert ssim_map(a, b)[y0, x0] == pytest.approx(expected, rel=1e-10)


def test_ssim_ignores_nan_pixels():
    a = _img()
    b = a.copy()
    b[5:9, 10:20] = np.nan
    assert ssim(b, a) == pytest.approx(1.0, abs=1e-12)
    noisy = a + 0.1 * np.random.default_rng(0).normal(size=a.shape)
    noisy_nan = noisy.copy()
    noisy_nan[0:4, :] = np.nan
    value = ssim(noisy_nan, a)
    assert np.isfinite(value) and 0 < value < 1
    # A wild value under a NaN of the reference does not matter.
    ref = a.copy()
    ref[10, 10] = np.nan
    wild = a.copy()
    wild[10, 10] = 1e6
    assert ssim(wild, ref) == pytest.approx(1.0, abs=1e-12)


# ------------------------------------------------------------------ correlation


def test_correlation_invariant_to_affine_scaling():
    a = _img()
    b = a + 0.2 * _img(seed=4)
    c = correlation(b, a)
    assert correlation(3.7 * b - 1.2, a) == pytest.approx(c, rel=1e-12)
    assert correlation(-b, a) == pytest.approx(-c, rel=1e-12)
    assert correlation(a, a) == pytest.approx(1.0)


def test_correlation_ignores_nan_and_constant_is_nan():
    a = np.linspace(0, 1, 50)
    b = 2 * a + 1
    b[7] = np.nan
    a2 = a.copy()
    a2[30] = np.inf
    assert correlation(b, a2) == pytest.approx(1.0)
    assert math.isnan(correlation(np.ones(5), np.arange(5.0)))


def test_compare_keys_and_values():
    a = _img()
    result = compare(a, a)
    assert set(result) == {"psnr_dB", "ssim", "correlation"}
    assert result["psnr_dB"] == math.inf
    assert result["ssim"] == pytest.approx(1.0)
    assert result["correlation"] == pytest.approx(1.0)
