"""reconstruct_raster: scan file -> corrected image and metrics."""

from __future__ import annotations

import numpy as np
import pytest

from reconstruction import RasterImage, load_raster, reconstruct_raster

SHAPE = (24, 40)
LAG = 0.8


@pytest.fixture
def snake_scan(tmp_path, scan_writer, scene):
    truth = 1e-3 * scene(SHAPE)
    lagged = 1e-3 * scene(SHAPE, row_shift=lambda iy: LAG if iy % 2 == 0 else -LAG)
    return load_raster(scan_writer(tmp_path / "snake.h5", lagged, order="snake", truth_V=truth))


def test_snake_scan_auto_correction_improves_metrics(snake_scan):
    result = reconstruct_raster(snake_scan)
    assert isinstance(result, RasterImage)
    assert result.lag_px == pytest.approx(LAG, abs=0.1)
    assert result.steps and result.steps[0].startswith("snake lag")
    m = result.metrics
    assert m is not None
    assert m["correlation"] > 0.99 > m["raw_correlation"]
    assert m["ssim"] > m["raw_ssim"]
    assert m["psnr_dB"] > m["raw_psnr_dB"] + 3
    assert m["n_pixels"] == SHAPE[0] * SHAPE[1]
    np.testing.assert_array_equal(result.x_um, snake_scan.x_um)
    assert result.measured.all()


def test_known_lag_and_disabled_correction(snake_scan):
    given = reconstruct_raster(snake_scan, lag_px=0.5)
    assert given.lag_px == 0.5
    off = reconstruct_raster(snake_scan, snake_correction=False)
    assert off.lag_px == 0.0 and off.steps == []
    np.testing.assert_array_equal(off.image, snake_scan.image_V)
    assert off.metrics is not None
    assert off.metrics["correlation"] == off.metrics["raw_correlation"]


def test_row_scan_not_lag_corrected(tmp_path, scan_writer, scene):
    image = scene(SHAPE)
    scan = load_raster(scan_writer(tmp_path / "row.h5", image, order="row"))
    result = reconstruct_raster(scan)
    assert result.lag_px == 0.0
    np.testing.assert_array_equal(result.image, image)
    assert result.metrics is None  # no truth in the file
    with pytest.raises(ValueError, match="row"):
        reconstruct_raster(scan, snake_correction=True)


def test_partial_scan_metrics_on_measured_pixels(tmp_path, scan_writer, scene):
    truth = scene(SHAPE)
    lagged = scene(SHAPE, row_shift=lambda iy: LAG if iy % 2 == 0 else -LAG)
    n_done = 10 * SHAPE[1] + 7
    path = scan_writer(tmp_path / "part.h5", lagged, truth_V=truth, n_done=n_done)
    scan = load_raster(path)
    result = reconstruct_raster(scan)
    assert result.lag_px == pytest.approx(LAG, abs=0.15)
    assert np.isnan(result.image[~scan.measured]).all()
    assert result.metrics is not None
    assert result.metrics["n_pixels"] <= n_done
    assert result.metrics["n_pixels"] >= n_done - 2  # a pixel may be lost at the NaN edge
    assert result.metrics["correlation"] > result.metrics["raw_correlation"]
    assert np.isfinite(result.metrics["ssim"])


def test_background_and_flat(tmp_path, scan_writer):
    yy, xx = np.indices(SHAPE, dtype=float)
    pattern = np.where((xx // 5) % 2 == 0, 1.0, 0.3)
    illum = np.exp(-((xx - 20) ** 2 + (yy - 12) ** 2) / (2 * 15.0**2))
    scan = load_raster(scan_writer(tmp_path / "c.h5", pattern * illum, order="row"))
    ref = load_raster(scan_writer(tmp_path / "ref.h5", 2.0 * illum, order="row"))
    flat = reconstruct_raster(scan, flat=ref)
    assert flat.steps == ["flat field"]
    ratio = flat.image / pattern
    assert ratio.std() / ratio.mean() < 1e-9
    flat_arr = reconstruct_raster(scan, flat=ref.image_V, background="median")
    assert flat_arr.steps == ["flat field", "background median"]
    assert np.median(flat_arr.image) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="shape"):
        reconstruct_raster(scan, flat=np.ones((3, 3)))


def test_metrics_score_the_image_after_flat_field_and_background(tmp_path, scan_writer):
    """The truth goes through the same flat field (the illumination is in the truth too);
    a background is scored as subtracted (the truth has none)."""
    from reconstruction import compare
    from reconstruction.corrections import flat_field

    rng = np.random.default_rng(0)
    yy, xx = np.indices(SHAPE, dtype=float)
    pattern = np.where((xx // 5) % 2 == 0, 1e-3, 0.0)
    illum = np.exp(-((xx - 20) ** 2 + (yy - 12) ** 2) / (2 * 15.0**2))
    truth = pattern * illum
    offset_V = 2e-4
    image = truth + offset_V + rng.normal(0, 2e-5, SHAPE)
    scan = load_raster(scan_writer(tmp_path / "m.h5", image, order="row", truth_V=truth))
    ref = 3.0 * illum + offset_V  # the reference scan has the same dark offset
    rec = reconstruct_raster(scan, flat=ref, dark=offset_V)
    expected = compare(rec.image, flat_field(truth, 3.0 * illum))
    assert rec.metrics["psnr_dB"] == pytest.approx(expected["psnr_dB"])
    assert rec.metrics["raw_psnr_dB"] < rec.metrics["psnr_dB"] - 10  # raw: offset included
    levelled = reconstruct_raster(scan, background="plane")
    assert levelled.metrics["psnr_dB"] > levelled.metrics["raw_psnr_dB"] + 10
    assert levelled.metrics["psnr_dB"] == pytest.approx(compare(levelled.image, truth)["psnr_dB"])
