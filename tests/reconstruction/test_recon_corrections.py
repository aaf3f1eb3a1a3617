"""Snake-lag estimation/correction, background removal and flat field."""

from __future__ import annotations

import numpy as np
import pytest

from reconstruction.corrections import (
    correct_snake_lag,
    estimate_snake_lag,
    estimate_snake_lag_px,
    fit_background_plane,
    flat_field,
    shift_rows,
    subtract_background,
)
from reconstruction.metrics import correlation

SHAPE = (32, 48)


def _lagged(scene, lag: float, shape=SHAPE) -> np.ndarray:
    """Even rows displaced by +lag, odd rows by -lag (the documented convention)."""
    return scene(shape, row_shift=lambda iy: lag if iy % 2 == 0 else -lag)


# ------------------------------------------------------------------ snake lag


@pytest.mark.parametrize("lag", [0.0, 0.35, -0.6, 1.27, 2.8])
def test_estimate_snake_lag_subpixel(scene, lag):
    image = _lagged(scene, lag)
    assert estimate_snake_lag_px(image) == pytest.approx(lag, abs=0.1)


def test_estimate_snake_lag_with_noise_and_partial_rows(scene):
    rng = np.random.default_rng(3)
    image = _lagged(scene, 0.9) + rng.normal(0, 0.01, SHAPE)
    measured = np.ones(SHAPE, dtype=bool)
    measured[20, 30:] = False  # a row being measured: excluded
    measured[21:] = False
    image[~measured] = np.nan
    assert estimate_snake_lag_px(image, measured) == pytest.approx(0.9, abs=0.1)


def test_only_odd_rows_shifted_gives_half_the_offset(scene):
    # Relative offset s between the two row families -> one-way lag s / 2.
    image = scene(SHAPE, row_shift=lambda iy: 0.0 if iy % 2 == 0 else -1.2)
    assert estimate_snake_lag_px(image) == pytest.approx(0.6, abs=0.1)


def test_correct_snake_lag_restores_image(scene):
    truth = scene(SHAPE)
    image = _lagged(scene, 1.3)
    before = correlation(image, truth)
    corrected = correct_snake_lag(image)  # estimates the lag itself
    after = correlation(corrected, truth)
    assert before < 0.95
    assert after > 0.99
    # away from the row ends (edge values extrapolated) the match is close
    err = np.abs(corrected[:, 4:-4] - truth[:, 4:-4])
    assert np.median(err) < 0.02


def test_correct_snake_lag_with_known_lag_is_inverse(scene):
    truth = scene(SHAPE)
    image = _lagged(scene, 0.5)
    corrected = correct_snake_lag(image, lag_px=0.5)
    # cubic interpolation of the sharp-edged scene: small residual error
    err = np.abs(corrected - truth)[:, 3:-3]
    assert err.max() < 0.05 and err.mean() < 0.015
    assert np.abs(image - truth)[:, 3:-3].mean() > 3 * err.mean()


def test_correct_snake_lag_does_not_modify_input(scene):
    image = _lagged(scene, 0.7)
    copy = image.copy()
    correct_snake_lag(image, 0.7)
    np.testing.assert_array_equal(image, copy)


def test_nothing_to_estimate_returns_zero():
    assert estimate_snake_lag_px(np.full((6, 20), np.nan)) == 0.0
    assert estimate_snake_lag_px(np.ones((6, 20))) == 0.0  # no structure
    assert estimate_snake_lag_px(np.arange(20.0)[None, :]) == 0.0  # a single row
    image = np.random.default_rng(0).normal(size=(6, 20))
    image[::2] = np.nan  # no adjacent pair of full rows
    assert estimate_snake_lag_px(image) == 0.0


def test_correct_snake_lag_nan_aware():
    image = np.tile(np.sin(np.arange(20) / 3.0), (4, 1))
    image[3, :12] = np.nan  # snake row 3 measured from the right only
    out = correct_snake_lag(image, lag_px=0.4)
    assert np.isnan(out[3, :12]).all()
    assert np.isfinite(out[3, 13:]).all()
    assert np.isfinite(out[:3]).all()  # full rows stay full
    # With a NaN gap in the middle, values next to it whose source is missing are NaN.
    row = np.arange(10.0)
    row[5] = np.nan
    shifted = shift_rows(row[None, :], [0.5], order=1)[0]
    assert np.isnan(shifted[5]) and np.isnan(shifted[6])
    np.testing.assert_allclose(shifted[1:5], [0.5, 1.5, 2.5, 3.5])


def test_shift_rows_sign_convention():
    row = np.zeros(11)
    row[5] = 1.0
    out = shift_rows(row[None, :], [2.0])[0]
    assert int(np.argmax(out)) == 7


def test_lag_estimate_has_an_uncertainty_and_a_lag_free_image_is_left_alone(scene):
    rng = np.random.default_rng(5)
    noise = rng.normal(0, 0.01, SHAPE)
    lagged = estimate_snake_lag(_lagged(scene, 0.6) + noise)
    assert lagged.lag_px == pytest.approx(0.6, abs=0.05)
    assert lagged.n_blocks == SHAPE[0] // 3 and 0 < lagged.uncertainty_px < 0.05
    assert lagged.significant()
    still = scene(SHAPE) + noise
    estimate = estimate_snake_lag(still)
    assert not estimate.significant()  # a lag of noise is not corrected...
    np.testing.assert_array_equal(correct_snake_lag(still), still)  # ...the image is as measured


def test_lag_estimate_ignores_rows_with_false_minima(scene):
    """Rows of a pattern at the sampling limit (a Siemens star's centre) match at any
    even shift; a few such rows must not move the estimate."""
    image = _lagged(scene, 0.4)
    x = np.arange(SHAPE[1])
    for iy in range(12, 18):  # a period-2 pattern shifted by a whole pixel between rows
        image[iy] = np.where((x + iy // 2) % 2 == 0, 1.0, -1.0)
    assert estimate_snake_lag(image).lag_px == pytest.approx(0.4, abs=0.05)


# ------------------------------------------------------------------ background


def test_plane_background_removed():
    rng = np.random.default_rng(1)
    yy, xx = np.indices((20, 30), dtype=float)
    noise = rng.normal(0, 0.01, (20, 30))
    image = 2.0 + 0.3 * xx - 0.1 * yy + noise
    out = subtract_background(image, "plane")
    assert abs(out.mean()) < 1e-9
    assert out.std() == pytest.approx(noise.std(), rel=0.05)


def test_plane_fit_uses_only_measured_pixels():
    yy, xx = np.indices((10, 10), dtype=float)
    image = 1.0 + 0.5 * xx + 0.2 * yy
    measured = np.ones((10, 10), dtype=bool)
    measured[:, 7:] = False
    image_bad = image.copy()
    image_bad[:, 7:] = 100.0  # garbage outside the mask does not bias the fit
    image_bad[0, 0] = np.nan
    out = subtract_background(image_bad, "plane", measured=measured)
    np.testing.assert_allclose(out[:, :7][np.isfinite(out[:, :7])], 0.0, atol=1e-9)
    assert np.isnan(out[0, 0])


def test_plane_background_is_fitted_to_the_background_not_the_features():
    """Bars (a third of the field, 10x the noise) on a tilted background."""
    rng = np.random.default_rng(4)
    yy, xx = np.indices((60, 80), dtype=float)
    background = 0.2 + 0.01 * xx - 0.006 * yy
    bars = np.where((xx // 6) % 3 == 0, 1.0, 0.0) * np.where(yy > 10, 1.0, 0.5)
    image = background + bars + rng.normal(0, 0.02, xx.shape)
    fit = fit_background_plane(image)
    assert fit.slope_x_per_px == pytest.approx(0.01, abs=3e-4)
    assert fit.slope_y_per_px == pytest.approx(-0.006, abs=3e-4)
    assert fit.offset == pytest.approx(0.2, abs=0.01)
    assert not fit.mask[bars > 0].any()  # no bar pixel in the fit
    assert fit.noise == pytest.approx(0.02, rel=0.25)  # edges inflate it a little
    out = subtract_background(image, "plane")
    np.testing.assert_allclose(np.median(out[fit.mask]), 0.0, atol=0.005)
    # a mostly-dark chart with the sign reversed: the background is still the dominant level
    flipped = fit_background_plane(-image)
    assert flipped.slope_x_per_px == pytest.approx(-0.01, abs=3e-4)


def test_median_percentile_and_row_median():
    rng = np.random.default_rng(2)
    image = rng.normal(5.0, 1.0, (16, 16))
    image[2, 3] = np.nan
    assert np.nanmedian(subtract_background(image, "median")) == pytest.approx(0.0, abs=1e-12)
    out = subtract_background(image, "percentile", percentile=5.0)
    assert np.nanpercentile(out, 5.0) == pytest.approx(0.0, abs=1e-12)
    assert np.isnan(out[2, 3])
    drift = image + np.arange(16)[:, None] * 3.0
    levelled = subtract_background(drift, "row_median")
    np.testing.assert_allclose(np.nanmedian(levelled, axis=1), 0.0, atol=1e-12)


def test_background_errors():
    with pytest.raises(ValueError, match="unknown background"):
        subtract_background(np.ones((4, 4)), "mean")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        subtract_background(np.full((4, 4), np.nan), "plane")
    with pytest.raises(ValueError, match="percentile"):
        subtract_background(np.ones((4, 4)), "percentile", percentile=120)


# ------------------------------------------------------------------ flat field


def _gaussian_illumination(shape, sigma_frac=0.4):
    ny, nx = shape
    yy, xx = np.indices(shape, dtype=float)
    return np.exp(
        -((xx - nx / 2) ** 2 + (yy - ny / 2) ** 2) / (2 * (sigma_frac * max(nx, ny)) ** 2)
    )


def test_flat_field_recovers_pattern():
    shape = (24, 32)
    yy, xx = np.indices(shape)
    pattern = np.where((xx // 4 + yy // 4) % 2 == 0, 1.0, 0.25)
    illum = _gaussian_illumination(shape)
    image = 0.8 * pattern * illum
    reference = 3.0 * illum  # different overall scale: only the shape matters
    out = flat_field(image, reference)
    assert correlation(image, pattern) < 0.95
    assert correlation(out, pattern) > 0.9999
    ratio = out / pattern
    assert ratio.std() / ratio.mean() < 1e-9
    # the overall level of the image is kept: mean(out) ~ mean(image) / mean(norm) scale
    assert ratio.mean() == pytest.approx(0.8 * illum.mean(), rel=1e-9)


def test_flat_field_dark_and_small_reference():
    shape = (8, 8)
    illum = _gaussian_illumination(shape)
    pattern = np.linspace(0.5, 1.0, 64).reshape(shape)
    dark = 0.1
    image = pattern * illum + dark
    reference = illum + dark
    reference[0, 0] = dark  # no illumination there
    reference[1, 1] = np.nan
    out = flat_field(image, reference, dark=dark)
    assert np.isnan(out[0, 0]) and np.isnan(out[1, 1])
    ok = np.isfinite(out)
    assert correlation(out[ok], pattern[ok]) > 0.9999


def test_flat_field_errors():
    with pytest.raises(ValueError, match="shape"):
        flat_field(np.ones((4, 4)), np.ones((4, 5)))
    with pytest.raises(ValueError, match="positive"):
        flat_field(np.ones((4, 4)), -np.ones((4, 4)))
